/*
 * certpush: the front node's agent.  Collects renewed certificates and
 * DKIM keys, validates them, and builds each target a signed bundle.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#include "addnode.h"
#include "audit_push.h"
#include "build.h"
#include "checkconf.h"
#include "collect.h"
#include "daemon.h"
#include "danehold.h"
#include "dnscheck.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "push.h"
#include "pushconf.h"
#include "serial.h"
#include "sig.h"

static const char usage_text[] =
"usage: certpush [-v] [-c FILE] --now [--dry-run] [--json] [--target NAME]\n"
"                [--lineage DIR]\n"
"       certpush [-v] [-c FILE] COMMAND [ARGS]\n"
"\n"
"  --now            build every target's bundle under a new serial, write it to\n"
"                   the outbox, deliver it to all targets in parallel (SSH, or\n"
"                   local certpull), upload it to the s3: bucket if configured,\n"
"                   print one line per target; exit 0 only if every target\n"
"                   installed it or already had it (and every upload worked)\n"
"                   and no item is held (the summary counts held targets)\n"
"  --dry-run        with --now: build the bundles and send each to its target\n"
"                   for a verify-only pass; print each node's verdict;\n"
"                   install, record and use up nothing\n"
"  --json           with --now or status: JSON output\n"
"  --target NAME    with --now: only this target\n"
"  --lineage DIR    with --now: only targets that receive this certbot lineage\n"
"                   (the deploy hook passes $RENEWED_LINEAGE)\n"
"\n"
"Commands:\n"
"  run [--syslog]                 the watch daemon: push by itself after each\n"
"                                 renewal or new DKIM key, retry failed targets;\n"
"                                 a source not whole holds back its own targets only;\n"
"                                 logs to stderr, or to syslog with --syslog;\n"
"                                 SIGHUP reloads the configuration\n"
"  status [--json]                per target: serial delivered vs current, last\n"
"                                 success, last error, next retry\n"
"  check-config                   validate the configuration and what it names: the\n"
"                                 signing key, identities and known_hosts entries,\n"
"                                 sources (present; links, owners, modes), a local\n"
"                                 target trusting the key; exit 0 if valid, 1 if not\n"
"  keygen [-o FILE]               create a signing key (default: signing_key of the\n"
"                                 configuration), mode 0600, never overwriting;\n"
"                                 print the public key for certpull.yaml's trusted_keys\n"
"  bundle --target NAME -o FILE   validate the target's items and write its signed bundle\n"
"                                 (an item a DANE or DKIM hold keeps: its previous content)\n"
"  add-node [--fingerprint SHA256:...] NAME\n"
"                                 set up the SSH target NAME: fetch its host key, show\n"
"                                 its fingerprint and add it to known_hosts once\n"
"                                 confirmed; create the identity if missing; print\n"
"                                 the node's authorized_keys lines and a certpull.yaml\n"
"  tlsa                           print the TLSA and DKIM TXT records to publish\n"
"                                 and what DNS serves; exit 1 if one is missing\n"
"  audit [--warn DAYS] [--crit DAYS] [--json | --prometheus | --nagios] [-o FILE]\n"
"        [--ca-file FILE] [--timeout SECONDS] [FILE | DIR ...]\n"
"                                 expiry audit of the sources, of what each target\n"
"                                 installed and of what its endpoints serve; or of\n"
"                                 certificate files; exit 0 OK, 1 WARNING,\n"
"                                 2 CRITICAL, 3 UNKNOWN (see AUDIT in certpush(8))\n"
"\n"
"Options:\n"
"  -c FILE   configuration file (default " PUSHCONF_DEFAULT ")\n"
"  -v        verbose\n"
"  -h, --help  this text\n"
"  -V, --version  print \"certpush VERSION\" and exit\n"
"\n"
"Exit status: 0 success, 1 failure, 64 usage error.  See certpush(8).\n";

static int
usage(int status)
{
	fputs(usage_text, status == 0 ? stdout : stderr);
	return status;
}

static int
load_config(const char *path, struct pushconf *c)
{
	struct err e;

	if (pushconf_load(path, c, &e) == -1) {
		log_warnx("%s", e.msg);
		return -1;
	}
	return 0;
}

static int
cmd_check_config(const char *config)
{
	struct pushconf c;
	struct cfgreport r = { 0, 0 };
	struct err e;

	if (load_config(config, &c) == -1)
		return 1;
	if (collect_check_sources(&c, &e) == -1) {
		log_warnx("%s: %s", config, e.msg);
		pushconf_free(&c);
		return 1;
	}
	checkconf_push(&c, &r);
	if (cfg_verdict(&r, config) != 0) {
		pushconf_free(&c);
		return 1;
	}
	printf("%s: OK (%zu certificates, %zu dkim keys, %zu targets)\n", config,
	    c.ncerts, c.ndkims, c.ntargets);
	pushconf_free(&c);
	return 0;
}

static int
write_keygen(const char *path)
{
	struct buf pem = { .secret = 1 };
	struct pubkey pk;
	char text[SIG_PUBTEXT_MAX], id[2 * SIG_KEYID_LEN + 1];
	EVP_PKEY *sk;
	struct err e;
	int rc = 1;

	if ((sk = sig_keygen(&e)) == NULL || sig_pubkey_of(sk, &pk, &e) == -1 ||
	    sig_secret_pem(sk, &pem, &e) == -1 ||
	    file_create_new(path, pem.data, pem.len, 0600, &e) == -1) {
		log_warnx("keygen: %s", e.msg);
		goto out;
	}
	sig_pubkey_format(&pk, text);
	sig_keyid_hex(pk.id, id);
	printf("# certpush signing key %s, key id %s\n", path, id);
	printf("# add this line under trusted_keys: in each node's certpull.yaml\n");
	printf("- %s\n", text);
	rc = 0;
out:
	buf_free(&pem);
	EVP_PKEY_free(sk);
	return rc;
}

static int
cmd_keygen(const char *config, int argc, char **argv)
{
	struct pushconf c;
	const char *out = NULL;
	int ch, rc;

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
	if (load_config(config, &c) == -1)
		return 1;
	rc = write_keygen(c.signing_key);
	pushconf_free(&c);
	return rc;
}

/*
 * Writes t's bundle to out, with the same hold decision as a push: an item
 * whose new key DNS does not pin yet goes with its previous entries (the
 * holds are logged, not saved: no push happened).
 */
static int
bundle_to_file(const struct pushconf *c, const char *name, const char *out)
{
	const struct target *t = pushconf_target(c, name);
	struct buf b = { 0 };
	struct holds held;
	time_t now = time(NULL);
	EVP_PKEY *sk = NULL;
	uint64_t serial;
	struct err e;
	size_t i;
	int rc = 1;

	if (t == NULL) {
		log_warnx("bundle: no target named \"%s\" in %s", name, c->file);
		return 1;
	}
	if ((sk = sig_load_secret(c->signing_key, &e)) == NULL ||
	    serial_next(c->state_dir, now, c->front_id, &serial, &e) == -1 ||
	    danehold_bundle(c, sk, t, serial, now, &b, &held, &e) == -1 ||
	    file_write_atomic(out, b.data, b.len, geteuid(), getegid(), 0600, &e) == -1) {
		log_warnx("bundle for %s: %s", name, e.msg);
		goto out;
	}
	for (i = 0; i < held.n; i++)
		log_warnx("bundle for %s: %s held, its previous entries bundled: %s", name,
		    held.h[i].item, held.h[i].reason);
	printf("%s: bundle for %s, serial %llu, %zu bytes%s\n", out, name,
	    (unsigned long long)serial, b.len, held.n > 0 ?
	    ", with held items at their previous content" : "");
	rc = 0;
out:
	EVP_PKEY_free(sk);
	buf_free(&b);
	return rc;
}

static int
cmd_bundle(const char *config, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *target = NULL, *out = NULL;
	struct pushconf c;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:o:", opts, NULL)) != -1) {
		if (ch == 't')
			target = optarg;
		else if (ch == 'o')
			out = optarg;
		else
			return usage(64);
	}
	if (target == NULL || out == NULL || optind != argc)
		return usage(64);
	if (load_config(config, &c) == -1)
		return 1;
	rc = bundle_to_file(&c, target, out);
	pushconf_free(&c);
	return rc;
}

static int
cmd_add_node(const char *config, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fingerprint", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *expected = NULL;
	struct pushconf c;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (ch != 'f')
			return usage(64);
		expected = optarg;
	}
	if (optind != argc - 1)
		return usage(64);
	if (load_config(config, &c) == -1)
		return 1;
	rc = add_node(&c, argv[optind], expected);
	pushconf_free(&c);
	return rc;
}

static int
cmd_push(const char *config, const struct push_opts *o)
{
	struct pushconf c;
	int rc;

	if (load_config(config, &c) == -1)
		return 1;
	rc = push_now(&c, o);
	pushconf_free(&c);
	return rc;
}

/* status [--json]; json: --json was given before the command. */
static int
cmd_status(const char *config, int argc, char **argv, int json)
{
	struct pushconf c;
	int after = argc == 2 && strcmp(argv[1], "--json") == 0, rc;

	if (argc > 2 || (argc == 2 && !after))
		return usage(64);
	json |= after;
	if (load_config(config, &c) == -1)
		return 1;
	rc = push_status(&c, json);
	pushconf_free(&c);
	return rc;
}

static int
cmd_tlsa(const char *config)
{
	struct pushconf c;
	int rc;

	if (load_config(config, &c) == -1)
		return 1;
	rc = dnscheck_tlsa_cmd(&c);
	pushconf_free(&c);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "now", no_argument, NULL, 'N' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'J' },
		{ "target", required_argument, NULL, 'T' },
		{ "lineage", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct push_opts po = { 0 };
	const char *config = PUSHCONF_DEFAULT, *cmd;
	int ch, verbose = 0, now = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "+c:hvV", opts, NULL)) != -1) {
		switch (ch) {
		case 'N':
			now = 1;
			break;
		case 'D':
			po.dry_run = 1;
			break;
		case 'J':
			po.json = 1;
			break;
		case 'T':
			po.only = optarg;
			break;
		case 'L':
			po.lineage = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			return usage(0);
		case 'V':
			printf("certpush %s\n", CP_VERSION);
			return 0;
		case 'v':
			verbose++;
			break;
		default:
			return usage(64);
		}
	}
	log_init("certpush", verbose);
	/*
	 * libsodium is loaded by the first seal (seal_init, thread safe): a
	 * front with no recipient never maps it.
	 */
	if (libssh2_init(0) != 0) {
		log_warnx("libssh2_init failed");
		return 1;
	}
	if (now && optind == argc)
		return cmd_push(config, &po);
	if (optind >= argc || now || po.dry_run || po.only || po.lineage ||
	    (po.json && strcmp(argv[optind], "status") != 0))
		return usage(64);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "check-config") == 0 && argc == 1)
		return cmd_check_config(config);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(config, argc, argv);
	if (strcmp(cmd, "bundle") == 0)
		return cmd_bundle(config, argc, argv);
	if (strcmp(cmd, "add-node") == 0)
		return cmd_add_node(config, argc, argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(config, argc, argv, po.json);
	if (strcmp(cmd, "tlsa") == 0 && argc == 1)
		return cmd_tlsa(config);
	if (strcmp(cmd, "audit") == 0)
		return push_audit(config, argc, argv);
	if (strcmp(cmd, "run") == 0 && (argc == 1 ||
	    (argc == 2 && strcmp(argv[1], "--syslog") == 0))) {
		if (argc == 2)
			log_to_syslog();
		return daemon_run(config);
	}
	log_warnx("unknown command \"%s\"", cmd);
	return usage(64);
}
