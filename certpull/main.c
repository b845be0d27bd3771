/*
 * certpull: the agent on each node.  Verifies signed bundles from
 * certpush before anything of them is used.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <libssh2.h>
#include <openssl/crypto.h>

#include "audit_pull.h"
#include "bundle.h"
#include "fetch.h"
#include "fsutil.h"
#include "http.h"
#include "install.h"
#include "json.h"
#include "log.h"
#include "nodeverify.h"
#include "precheck.h"
#include "pullcheck.h"
#include "pullconf.h"
#include "ssh.h"
#include "ssh2_dl.h"
#include "stamp.h"
#include "state.h"
#include "status.h"

static const char usage_text[] =
"usage: certpull [-v] [-c FILE] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  check-config   validate the configuration and what it names (a real trusted\n"
"                 key, directories, check and reload programs, secret_key,\n"
"                 fetch identity and known_hosts entry); exit 0 if valid, 1 if not\n"
"  keygen [-o FILE]  create this node's key pair for sealed bundles (default:\n"
"                 secret_key of the configuration), mode 0600, never\n"
"                 overwriting; print the public key for certpush.yaml's recipient\n"
"  verify FILE    run every check on a bundle (or a freshness timestamp) and\n"
"                 print a one-line verdict naming the failed check; exit 0\n"
"                 valid, 1 rejected; changes nothing\n"
"  install FILE   verify and install a bundle: write the files, check and reload\n"
"                 the services whose files changed, check the live endpoints,\n"
"                 roll everything back on failure\n"
"  receive        the same, reading the bundle from standard input (at most\n"
"                 1 MiB) and printing one JSON line with the outcome\n"
"  receive --verify-only\n"
"                 every check of receive that changes nothing (signature, signer,\n"
"                 node, serial, content, files rendered, directories writable);\n"
"                 one JSON line with the verdict; exit 0 would install, 1 not\n"
"  install --allow-older FILE\n"
"                 install FILE even where it holds a certificate older (earlier\n"
"                 notBefore) than the one installed in its file, which install,\n"
"                 receive and fetch refuse (verify:older): going back on purpose\n"
"  serve          the forced command for certpush's SSH key: runs receive,\n"
"                 receive --verify-only (\"verify\") or status --json as\n"
"                 SSH_ORIGINAL_COMMAND asks, refuses anything else\n"
"  fetch          download this node's latest bundle from the HTTPS mirrors\n"
"                 in order, then from the front over SFTP (the fetch: section),\n"
"                 and install it if it is newer; a 304 from a mirror exits 2;\n"
"                 a mirror whose timestamp is stale, inconsistent, replayed or\n"
"                 invalid is reported and skipped\n"
"  status [--json]  installed serial and signer, each installed file's\n"
"                 certificate (subject, names, notAfter, SHA-256), last outcome,\n"
"                 the mirrors' freshness\n"
"  audit [--warn DAYS] [--crit DAYS] [--json | --prometheus | --nagios]\n"
"        [-o FILE] [--ca-file FILE] [--timeout SECONDS] [FILE | DIR ...]\n"
"                 expiry audit of the installed files and of what the endpoints\n"
"                 serve, or of certificate files; exit 0 OK, 1 WARNING,\n"
"                 2 CRITICAL, 3 UNKNOWN (see AUDIT in certpull(8))\n"
"\n"
"Options:\n"
"  -c FILE   configuration file (default " PULLCONF_DEFAULT ")\n"
"  -v        verbose\n"
"  -h, --help  this text\n"
"  -V, --version  print \"certpull VERSION\" and exit\n"
"\n"
"Exit status: 0 success (install: installed), 1 failure or rejection (install:\n"
"failed and rolled back), 2 unchanged (install: already installed, nothing\n"
"touched), 64 usage error.  See certpull(8).\n";

static int
usage(int status)
{
	fputs(usage_text, status == 0 ? stdout : stderr);
	return status;
}

/*
 * One JSON line for certpush when the command cannot run at all (the
 * configuration does not load): result "failed", the step and the
 * error, in the shape of an install outcome, so that the front shows
 * the node's own words instead of "no valid outcome line".
 */
static void
answer_failure(const char *step, const char *msg)
{
	struct outcome *o = calloc(1, sizeof(*o));
	struct buf json = { 0 };

	if (o == NULL)
		return;
	o->result = INSTALL_FAILED;
	o->files = FILES_UNTOUCHED;
	snprintf(o->step, sizeof(o->step), "%s", step);
	snprintf(o->error, sizeof(o->error), "%s", msg);
	if (outcome_json(o, &json) == 0 && buf_add_u8(&json, '\n') == 0)
		fwrite(json.data, 1, json.len, stdout);
	buf_free(&json);
	free(o);
}

enum answer { ANSWER_NONE, ANSWER_OUTCOME, ANSWER_STATUS };

/*
 * Loads the configuration; a failure is logged and, when certpush reads
 * our standard output (how), also answered there as one JSON line.
 */
static int
load_config(const char *path, struct pullconf *c, enum answer how)
{
	struct buf json = { 0 };
	struct err e;

	if (pullconf_load(path, c, &e) == 0)
		return 0;
	log_warnx("%s", e.msg);
	if (how == ANSWER_OUTCOME)
		answer_failure("config", e.msg);
	else if (how == ANSWER_STATUS) {
		/* No serial: nobody may take this for an installed state. */
		buf_add_u8(&json, '{');
		json_kv_str(&json, "node", NULL);
		buf_add_u8(&json, ',');
		json_kv_str(&json, "step", "config");
		buf_add_u8(&json, ',');
		json_kv_str(&json, "error", e.msg);
		buf_add_str(&json, "}\n");
		fwrite(json.data, 1, json.len, stdout);
		buf_free(&json);
	}
	return -1;
}

static int
cmd_check_config(const char *config)
{
	struct pullconf c;
	struct cfgreport r = { 0, 0 };

	if (load_config(config, &c, ANSWER_NONE) == -1)
		return 1;
	pullcheck(&c, &r);
	if (cfg_verdict(&r, config) != 0) {
		pullconf_free(&c);
		return 1;
	}
	printf("%s: OK (node %s, %zu trusted keys, %zu services)\n", config, c.node,
	    c.ntrusted, c.nservices);
	pullconf_free(&c);
	return 0;
}

static int
write_keygen(const char *path)
{
	struct buf pem = { .secret = 1 };
	struct seal_key k;
	char text[SIG_PUBTEXT_MAX], id[2 * SIG_KEYID_LEN + 1];
	struct err e;
	int rc = 1;

	if (seal_keygen(&k, &pem, &e) == -1 ||
	    file_create_new(path, pem.data, pem.len, 0600, &e) == -1) {
		log_warnx("keygen: %s", e.msg);
		goto out;
	}
	seal_pub_format(&k.pub, text);
	sig_keyid_hex(k.pub.id, id);
	printf("# certpull node key %s, key id %s\n", path, id);
	printf("# put this line under this node's target in certpush.yaml\n");
	printf("recipient: %s\n", text);
	rc = 0;
out:
	seal_key_wipe(&k);
	buf_free(&pem);
	return rc;
}

static int
cmd_keygen(const char *config, int argc, char **argv)
{
	struct pullconf c;
	const char *out = NULL;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt(argc, argv, "o:")) != -1) {
		if (ch != 'o')
			return usage(64);
		out = optarg;
	}
	if (optind != argc)
		return usage(64);
	if (out != NULL)
		return write_keygen(out);
	if (load_config(config, &c, ANSWER_NONE) == -1)
		return 1;
	if (c.secret_key == NULL)
		log_warnx("keygen: %s has no secret_key; set one, or give -o FILE", config);
	else
		rc = write_keygen(c.secret_key);
	pullconf_free(&c);
	return rc;
}

static void
print_valid(const char *file, const struct bundle *b, int unchanged)
{
	char id[2 * SIG_KEYID_LEN + 1], exp[32];
	time_t t = (time_t)b->expires;
	struct tm tm;

	sig_keyid_hex(b->keyid, id);
	/* A signed expiry may lie past the years gmtime can represent. */
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(exp, sizeof(exp), "%llu", (unsigned long long)b->expires);
	printf("%s: valid: serial %llu for node %s, %zu entries, signed by key %s, "
	    "expires %s%s%s\n", file, (unsigned long long)b->serial, b->audience,
	    b->nentries, id, exp, b->format == BUNDLE_FORMAT_SEALED ?
	    ", private keys sealed to this node" : "",
	    unchanged ? " (already installed)" : "");
}

/* A signed time as ISO 8601, or its number past what gmtime represents. */
static void
iso_time(uint64_t v, char out[32])
{
	time_t t = (time_t)v;
	struct tm tm;

	if (v > (uint64_t)INT64_MAX || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%llu", (unsigned long long)v);
}

/* certpull verify of a freshness timestamp (stamp.h) rather than a bundle. */
static int
verify_stamp(const struct pullconf *c, const char *file, const struct buf *data)
{
	char id[2 * SIG_KEYID_LEN + 1], made[32], exp[32];
	struct stamp s;
	struct err e;

	if (stamp_verify(data->data, data->len, c->trusted, c->ntrusted, c->node, &s,
	    &e) == -1) {
		printf("%s: rejected (timestamp): %s\n", file, e.msg);
		return 1;
	}
	sig_keyid_hex(s.keyid, id);
	iso_time(s.created, made);
	iso_time(s.expires, exp);
	if ((uint64_t)time(NULL) > s.expires) {
		printf("%s: rejected (expired): timestamp for serial %llu expired at %s\n",
		    file, (unsigned long long)s.serial, exp);
		return 1;
	}
	printf("%s: valid: timestamp for node %s, serial %llu, made %s, expires %s, "
	    "signed by key %s\n", file, s.node, (unsigned long long)s.serial, made, exp, id);
	return 0;
}

static int
cmd_verify(const char *config, const char *file)
{
	struct pullconf c;
	struct buf data = { 0 };
	struct bundle *b = NULL;
	char step[NODE_STEP_LEN];
	struct err e;
	int unchanged, rc = 1;

	if (load_config(config, &c, ANSWER_NONE) == -1)
		return 1;
	if (file_read(file, BUNDLE_MAX_SIZE, &data, &e) == -1) {
		int big = errno == EFBIG;

		printf("%s: rejected (%s): %s\n", file, big ? "size" : "input", e.msg);
		goto out;
	}
	if (data.len >= 8 && memcmp(data.data, STAMP_MAGIC, 8) == 0) {
		rc = verify_stamp(&c, file, &data);
		goto out;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto out;
	if (node_verify(&c, data.data, data.len, 0, b, NULL, &unchanged, step, &e) == -1)
		printf("%s: rejected (%s): %s\n", file, strncmp(step, "verify:", 7) == 0 ?
		    step + 7 : step, e.msg);
	else {
		print_valid(file, b, unchanged);
		rc = 0;
	}
out:
	if (b != NULL)
		bundle_release(b);
	free(b);
	buf_free(&data);
	pullconf_free(&c);
	return rc;
}

static void
print_outcome(const char *what, const struct outcome *o)
{
	static const char *const left[] = {
		[FILES_UNTOUCHED] = "nothing changed",
		[FILES_RESTORED] = "previous files restored",
		[FILES_RESTORE_PENDING] = "the next run restores the previous files",
	};
	size_t i;

	if (o->result == INSTALL_FAILED) {
		printf("%s: failed at %s: %s (%s)\n", what, o->step, o->error,
		    left[o->files]);
		return;
	}
	printf("%s: %s serial %llu\n", what, o->result == INSTALL_OK ? "installed" :
	    "unchanged,", (unsigned long long)o->serial);
	for (i = 0; i < o->nservices; i++)
		printf("  %s: %s%s%s%s\n", o->services[i].name, o->services[i].result,
		    o->services[i].detail[0] ? " (" : "", o->services[i].detail,
		    o->services[i].detail[0] ? ")" : "");
	for (i = 0; i < o->nserved; i++)
		printf("  %s serves %s\n", o->served[i].endpoint, o->served[i].fingerprint);
}

/*
 * install FILE, or receive (FILE == NULL: standard input, JSON outcome).
 * flags: node_verify's; only the operator's install gives any.
 */
static int
cmd_install(const char *config, const char *file, unsigned flags)
{
	struct pullconf c;
	struct outcome *o = calloc(1, sizeof(*o));
	struct buf data = { 0 }, json = { 0 };
	struct err e;
	int rc;

	if (o == NULL || load_config(config, &c, file ? ANSWER_NONE :
	    ANSWER_OUTCOME) == -1) {
		free(o);
		return 1;
	}
	if ((file ? file_read(file, BUNDLE_MAX_SIZE, &data, &e) :
	    fd_read_capped(0, BUNDLE_MAX_SIZE, &data, &e)) == -1) {
		int big = errno == EFBIG;

		o->node = c.node;
		o->result = INSTALL_FAILED;
		snprintf(o->step, sizeof(o->step), "%s", big ? "verify:size" : "input");
		snprintf(o->error, sizeof(o->error), "%s", e.msg);
		log_warnx("install failed at %s: %s", o->step, o->error);
	} else
		install_bundle(&c, data.data, data.len, flags, o);
	rc = (int)o->result;
	if (file != NULL)
		print_outcome(file, o);
	else if (outcome_json(o, &json) == 0 && buf_add_u8(&json, '\n') == 0)
		fwrite(json.data, 1, json.len, stdout);
	buf_free(&json);
	buf_free(&data);
	pullconf_free(&c);
	free(o);
	return rc;
}

/*
 * receive --verify-only (serve: "verify"): the bundle from standard
 * input through every check an install makes before it changes
 * anything; one JSON line with the verdict.  certpush --dry-run asks.
 */
static int
cmd_precheck(const char *config)
{
	struct pullconf c;
	struct precheck p = { 0 };
	struct buf data = { 0 }, json = { 0 };
	struct err e;

	if (load_config(config, &c, ANSWER_OUTCOME) == -1)
		return 1;
	if (fd_read_capped(0, BUNDLE_MAX_SIZE, &data, &e) == -1) {
		p.node = c.node;
		precheck_fail(&p, errno == EFBIG ? "verify:size" : "input", e.msg);
	} else
		precheck_bundle(&c, data.data, data.len, &p);
	if (!p.ok)
		log_warnx("verify-only: would fail at %s: %s", p.step, p.error);
	if (precheck_json(&p, &json) == 0 && buf_add_u8(&json, '\n') == 0)
		fwrite(json.data, 1, json.len, stdout);
	buf_free(&json);
	buf_free(&data);
	pullconf_free(&c);
	return p.ok ? 0 : 1;
}

/* Reads this node's bundle from the front over SFTP into data. */
static int
fetch_bundle(const struct fetch *f, struct buf *data, struct err *e)
{
	struct ssh_target t = { f->host, (unsigned)f->port, f->user, f->identity,
	    f->known_hosts, (unsigned)f->timeout };
	struct ssh_conn c;
	int rc = -1;

	if (ssh2_dl_load(e) == -1)
		return -1;
	if (libssh2_init(0) != 0)
		return err_set(e, "libssh2_init failed");
	if (ssh_open(&c, &t, e) == 0)
		rc = ssh_sftp_get(&c, f->path, BUNDLE_MAX_SIZE, data, e);
	ssh_close(&c);
	libssh2_exit();
	return rc;
}

/*
 * fetch: the mirrors in order, then SFTP on the front.  A 304 from a
 * mirror ends it (unchanged, nothing touched); so does any bundle that
 * verified, whatever its install gave.
 */
static int
cmd_fetch(const char *config)
{
	struct pullconf c;
	struct outcome *o = calloc(1, sizeof(*o));
	struct buf data = { 0 };
	const char *url = NULL;
	struct err e;
	int rc = 1;

	if (o == NULL || load_config(config, &c, ANSWER_NONE) == -1) {
		free(o);
		return 1;
	}
	if (c.fetch.host == NULL && c.fetch.nurls == 0)
		log_warnx("fetch: no fetch: section in %s", config);
	else if (c.fetch.nurls > 0 && http_global_init(&e) == -1)
		log_warnx("fetch: %s", e.msg);
	else {
		switch (c.fetch.nurls > 0 ? fetch_mirrors(&c, o, &url) : FETCH_NONE) {
		case FETCH_NOT_MODIFIED:
			printf("fetch: %s: not modified\n", url);
			rc = INSTALL_UNCHANGED;
			break;
		case FETCH_DONE:
			rc = (int)o->result;
			print_outcome(url, o);
			break;
		case FETCH_NONE:
			if (c.fetch.host == NULL)
				log_warnx("fetch: no mirror gave a bundle that verifies");
			else if (fetch_bundle(&c.fetch, &data, &e) == -1)
				log_warnx("fetch from %s: %s", c.fetch.host, e.msg);
			else {
				rc = (int)install_bundle(&c, data.data, data.len, 0, o);
				print_outcome("fetch", o);
			}
			break;
		}
		if (c.fetch.nurls > 0)
			http_global_cleanup();
	}
	buf_free(&data);
	pullconf_free(&c);
	free(o);
	return rc;
}

static int
cmd_status(const char *config, int json)
{
	struct pullconf c;
	int rc;

	struct err e;

	if (load_config(config, &c, json ? ANSWER_STATUS : ANSWER_NONE) == -1)
		return 1;
	/* An interrupted install is rolled back before anything is reported. */
	if (install_recover_locked(&c, &e) == -1)
		log_warnx("recovery: %s", e.msg);
	rc = print_status(&c, json);
	pullconf_free(&c);
	return rc;
}

/*
 * Why serve cannot do what it was asked, in an account set up for sudo:
 * sudo's env_reset drops SSH_ORIGINAL_COMMAND unless the sudoers rule
 * keeps it, and without sudo an unprivileged account cannot give files
 * their owners.  NULL when nothing is wrong.
 */
static const char *
serve_setup_problem(const char *req, char *msg, size_t len)
{
	const char *cmd = getenv("SUDO_COMMAND");

	if (req == NULL && getenv("SUDO_USER") != NULL) {
		/* SUDO_COMMAND is the program and its arguments: name the program. */
		if (cmd == NULL || cmd[0] != '/')
			cmd = "/usr/sbin/certpull";
		snprintf(msg, len, "the request did not reach certpull through sudo: "
		    "the sudoers rule must keep it, with 'Defaults!%.*s env_keep += "
		    "\"SSH_ORIGINAL_COMMAND SSH_CLIENT\"' (see certpull(8))",
		    (int)strcspn(cmd, " "), cmd);
		return msg;
	}
	if (req != NULL && geteuid() != 0) {
		snprintf(msg, len, "certpull serve runs as uid %u, not root: it cannot "
		    "give files their owners or reload services; run it through sudo "
		    "(see Receiving over SSH in certpull(8))", (unsigned)geteuid());
		return msg;
	}
	return NULL;
}

/*
 * The forced command of certpush's key in authorized_keys: the client's
 * requested command only reaches us as SSH_ORIGINAL_COMMAND, and only
 * the three requests certpush makes are allowed.
 */
static int
cmd_serve(const char *config)
{
	const char *req = getenv("SSH_ORIGINAL_COMMAND");
	const char *from = getenv("SSH_CLIENT");
	char msg[400];

	if (serve_setup_problem(req, msg, sizeof(msg)) != NULL) {
		log_warnx("serve: %s", msg);
		answer_failure("serve", msg);
		return 1;
	}
	if (req != NULL && strcmp(req, "receive") == 0)
		return cmd_install(config, NULL, 0);
	if (req != NULL && strcmp(req, "status") == 0)
		return cmd_status(config, 1);
	if (req != NULL && strcmp(req, "verify") == 0)
		return cmd_precheck(config);
	log_to_syslog();
	log_warnx("serve: refused command \"%.100s\" from %s", req ? req : "(none)",
	    from ? from : "unknown");
	fprintf(stderr, "certpull serve: only \"receive\", \"verify\" and \"status\" "
	    "are allowed\n");
	return 1;
}

/*
 * A peer that closes early (an endpoint right after its handshake,
 * HAProxy's socket, sshd's end of our output) must make a write fail
 * with EPIPE, never kill certpull in the middle of an install.  The
 * commands certpull runs get the default back (run.c).
 */
static void
ignore_sigpipe(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = PULLCONF_DEFAULT, *cmd;
	int ch, verbose = 0;

	/* No OPENSSL_cleanup at exit (about 0.9 million instructions per
	 * run): every key is freed and wiped by its owner before, and the
	 * rest of OpenSSL's memory goes with the process. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	ignore_sigpipe();
	while ((ch = getopt_long(argc, argv, "+c:hvV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			return usage(0);
		case 'V':
			printf("certpull %s\n", CP_VERSION);
			return 0;
		case 'v':
			verbose++;
			break;
		default:
			return usage(64);
		}
	}
	log_init("certpull", verbose);
	/* libsodium is loaded and initialised by the seal_* calls that need
	 * it (sealed bundles, keygen), not at every start (lib_dl.h). */
	if (optind >= argc)
		return usage(64);
	cmd = argv[optind];
	if (strcmp(cmd, "check-config") == 0 && argc - optind == 1)
		return cmd_check_config(config);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(config, argc - optind, argv + optind);
	if (strcmp(cmd, "verify") == 0 && argc - optind == 2)
		return cmd_verify(config, argv[optind + 1]);
	if (strcmp(cmd, "install") == 0 && argc - optind == 2 &&
	    strcmp(argv[optind + 1], "--allow-older") != 0)
		return cmd_install(config, argv[optind + 1], 0);
	/*
	 * Only here: a push (receive) or a fetch never forces an older
	 * certificate, whoever signed it; the operator at the node does.
	 */
	if (strcmp(cmd, "install") == 0 && argc - optind == 3 &&
	    strcmp(argv[optind + 1], "--allow-older") == 0)
		return cmd_install(config, argv[optind + 2], NODE_ALLOW_OLDER);
	if (strcmp(cmd, "receive") == 0 && argc - optind == 1)
		return cmd_install(config, NULL, 0);
	if (strcmp(cmd, "receive") == 0 && argc - optind == 2 &&
	    strcmp(argv[optind + 1], "--verify-only") == 0)
		return cmd_precheck(config);
	if (strcmp(cmd, "status") == 0 && argc - optind == 1)
		return cmd_status(config, 0);
	if (strcmp(cmd, "serve") == 0 && argc - optind == 1)
		return cmd_serve(config);
	if (strcmp(cmd, "fetch") == 0 && argc - optind == 1)
		return cmd_fetch(config);
	if (strcmp(cmd, "audit") == 0)
		return pull_audit(config, argc - optind, argv + optind);
	if (strcmp(cmd, "status") == 0 && argc - optind == 2 &&
	    strcmp(argv[optind + 1], "--json") == 0)
		return cmd_status(config, 1);
	log_warnx("unknown command or wrong arguments: \"%s\"", cmd);
	return usage(64);
}
