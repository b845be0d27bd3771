#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pullcheck.h"
#include "seal.h"
#include "sig.h"

/* Only the example key: this node can install nothing; beside others: a warning. */
static void
check_trusted(struct cfgreport *r, const struct pullconf *c)
{
	char text[SIG_PUBTEXT_MAX];
	size_t i, example = 0;

	for (i = 0; i < c->ntrusted; i++) {
		sig_pubkey_format(&c->trusted[i], text);
		example += strcmp(text, CFGCHECK_EXAMPLE_KEY) == 0;
	}
	if (example > 0 && example == c->ntrusted)
		cfg_problem(r, "trusted_keys: only %s, the example key of the "
		    "documentation: replace it with the line \"certpush keygen\" printed on "
		    "the front", CFGCHECK_EXAMPLE_KEY);
	else if (example > 0)
		cfg_warning(r, "trusted_keys: %s is the example key of the documentation: "
		    "remove it", CFGCHECK_EXAMPLE_KEY);
}

/* The node's secret_key: secret, and an X25519 key that opens sealed bundles. */
static void
check_secret_key(struct cfgreport *r, const struct pullconf *c)
{
	struct seal_key k;
	struct err e;

	if (c->secret_key == NULL || cfgcheck_file_report(r, "secret_key",
	    c->secret_key, 1, "create it with certpull keygen") != 0)
		return;
	if (seal_load_secret(c->secret_key, &k, &e) == -1)
		cfg_problem(r, "secret_key: %s", e.msg);
	seal_key_wipe(&k);
}

/* The directory a file is installed into exists. */
static void
check_dir(struct cfgreport *r, const struct service *s, const struct svc_file *f)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", f->path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (stat(dir, &st) == -1 && errno == ENOENT)
		cfg_warning(r, "service %s: %s: directory %s: missing", s->name, f->path,
		    dir);
	else if (stat(dir, &st) == -1)
		cfg_problem(r, "service %s: %s: directory %s: %s", s->name, f->path, dir,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		cfg_problem(r, "service %s: %s: %s is not a directory", s->name, f->path,
		    dir);
}

/* A check or reload program exists and may be run. */
static void
check_program(struct cfgreport *r, const struct service *s, const char *what,
    char **argv)
{
	if (argv == NULL || access(argv[0], X_OK) == 0)
		return;
	if (errno == ENOENT)
		cfg_warning(r, "service %s: %s program %s: missing", s->name, what, argv[0]);
	else
		cfg_problem(r, "service %s: %s program %s: %s", s->name, what, argv[0],
		    strerror(errno));
}

static void
check_fetch(struct cfgreport *r, const struct fetch *f)
{
	struct err e;

	if (f->ca_file != NULL)
		cfgcheck_file_report(r, "fetch: ca_file", f->ca_file, 0, NULL);
	if (f->host == NULL)
		return;
	cfgcheck_file_report(r, "fetch: identity", f->identity, 1, NULL);
	if (cfgcheck_file_report(r, "fetch: known_hosts", f->known_hosts, 0, NULL) == 0 &&
	    cfgcheck_known_host(f->known_hosts, f->host, (unsigned)f->port, &e) == -1)
		cfg_warning(r, "fetch: %s", e.msg);
}

int
pullcheck(const struct pullconf *c, struct cfgreport *r)
{
	size_t i, j;

	check_trusted(r, c);
	check_secret_key(r, c);
	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];

		for (j = 0; j < s->nfiles; j++)
			check_dir(r, s, &s->files[j]);
		check_program(r, s, "check", s->check);
		check_program(r, s, "reload", s->reload);
	}
	check_fetch(r, &c->fetch);
	return r->problems;
}
