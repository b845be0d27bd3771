/*
 * certpull: the agent on each node.  Verifies signed bundles from
 * certpush before anything of them is used.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "fsutil.h"
#include "log.h"
#include "pullconf.h"
#include "state.h"

static const char usage_text[] =
"usage: certpull [-v] [-c FILE] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  check-config   validate the configuration; exit 0 if valid, 1 if not\n"
"  verify FILE    run every check on a bundle and print a one-line verdict\n"
"                 naming the failed check; exit 0 valid, 1 rejected; changes nothing\n"
"\n"
"Options:\n"
"  -c FILE   configuration file (default " PULLCONF_DEFAULT ")\n"
"  -v        verbose\n"
"  -h, --help  this text\n"
"\n"
"Exit status: 0 success, 1 failure or rejection, 64 usage error.  See certpull(8).\n";

static int
usage(int status)
{
	fputs(usage_text, status == 0 ? stdout : stderr);
	return status;
}

static int
load_config(const char *path, struct pullconf *c)
{
	struct err e;

	if (pullconf_load(path, c, &e) == -1) {
		log_warnx("%s", e.msg);
		return -1;
	}
	return 0;
}

static int
cmd_check_config(const char *config)
{
	struct pullconf c;

	if (load_config(config, &c) == -1)
		return 1;
	printf("%s: OK (node %s, %zu trusted keys, %zu services)\n", config, c.node,
	    c.ntrusted, c.nservices);
	pullconf_free(&c);
	return 0;
}

static void
print_valid(const char *file, const struct bundle *b, int unchanged)
{
	char id[2 * SIG_KEYID_LEN + 1], exp[32];
	time_t t = (time_t)b->expires;
	struct tm tm;

	sig_keyid_hex(b->keyid, id);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	printf("%s: valid: serial %llu for node %s, %zu entries, signed by key %s, "
	    "expires %s%s\n", file, (unsigned long long)b->serial, b->audience,
	    b->nentries, id, exp, unchanged ? " (already installed)" : "");
}

static int
cmd_verify(const char *config, const char *file)
{
	struct pullconf c;
	struct pullstate st;
	struct verify_policy pol = { 0 };
	struct buf data = { 0 };
	struct bundle *b = NULL;
	enum bundle_check r;
	struct err e;
	int unchanged, rc = 1;

	if (load_config(config, &c) == -1)
		return 1;
	if (pullstate_load(c.state_dir, &st, &e) == -1 ||
	    file_read(file, BUNDLE_MAX_SIZE + 1, &data, &e) == -1) {
		printf("%s: rejected (input): %s\n", file, e.msg);
		goto out;
	}
	if ((b = malloc(sizeof(*b))) == NULL)
		goto out;
	pol.trusted = c.trusted;
	pol.ntrusted = c.ntrusted;
	pol.audience = c.node;
	pol.now = time(NULL);
	pol.have_installed = st.have;
	pol.installed_serial = st.serial;
	memcpy(pol.installed_digest, st.digest, sizeof(st.digest));
	r = bundle_verify(data.data, data.len, &pol, b, &unchanged, &e);
	if (r != BC_OK)
		printf("%s: rejected (%s): %s\n", file, bundle_check_name(r), e.msg);
	else {
		print_valid(file, b, unchanged);
		rc = 0;
	}
out:
	free(b);
	buf_free(&data);
	pullconf_free(&c);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = PULLCONF_DEFAULT, *cmd;
	int ch, verbose = 0;

	while ((ch = getopt_long(argc, argv, "+c:hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			return usage(0);
		case 'v':
			verbose++;
			break;
		default:
			return usage(64);
		}
	}
	log_init("certpull", verbose);
	if (optind >= argc)
		return usage(64);
	cmd = argv[optind];
	if (strcmp(cmd, "check-config") == 0 && argc - optind == 1)
		return cmd_check_config(config);
	if (strcmp(cmd, "verify") == 0 && argc - optind == 2)
		return cmd_verify(config, argv[optind + 1]);
	log_warnx("unknown command or wrong arguments: \"%s\"", cmd);
	return usage(64);
}
