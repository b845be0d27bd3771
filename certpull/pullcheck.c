#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "log.h"
#include "pullcheck.h"
#include "sig.h"

/* Only the example key: this node can install nothing; beside others: a warning. */
static int
check_trusted(const struct pullconf *c)
{
	char text[SIG_PUBTEXT_MAX];
	size_t i, example = 0;

	for (i = 0; i < c->ntrusted; i++) {
		sig_pubkey_format(&c->trusted[i], text);
		example += strcmp(text, CFGCHECK_EXAMPLE_KEY) == 0;
	}
	if (example == 0)
		return 0;
	if (example == c->ntrusted) {
		log_warnx("trusted_keys: only %s, the example key of the documentation: "
		    "replace it with the line \"certpush keygen\" printed on the front",
		    CFGCHECK_EXAMPLE_KEY);
		return 1;
	}
	log_warnx("warning: trusted_keys: %s is the example key of the documentation: "
	    "remove it", CFGCHECK_EXAMPLE_KEY);
	return 0;
}

/* The directory a file is installed into exists. */
static int
check_dir(const struct service *s, const struct svc_file *f)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", f->path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &st) == -1)
		log_warnx("service %s: %s: directory %s: %s", s->name, f->path, dir,
		    errno == ENOENT ? "missing" : strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		log_warnx("service %s: %s: %s is not a directory", s->name, f->path, dir);
	else
		return 0;
	return 1;
}

/* A check or reload program exists and may be run. */
static int
check_program(const struct service *s, const char *what, char **argv)
{
	if (argv == NULL || access(argv[0], X_OK) == 0)
		return 0;
	log_warnx("service %s: %s program %s: %s", s->name, what, argv[0],
	    strerror(errno));
	return 1;
}

static int
check_fetch(const struct fetch *f)
{
	struct err e;
	int n = 0;

	if (f->host == NULL)
		return 0;
	if (cfgcheck_file("fetch: identity", f->identity, 1, &e) == -1) {
		log_warnx("%s", e.msg);
		n++;
	}
	if (cfgcheck_file("fetch: known_hosts", f->known_hosts, 0, &e) == -1 ||
	    cfgcheck_known_host(f->known_hosts, f->host, (unsigned)f->port, &e) == -1) {
		log_warnx("%s", e.msg);
		n++;
	}
	return n;
}

int
pullcheck(const struct pullconf *c)
{
	size_t i, j;
	int n = check_trusted(c);

	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];

		for (j = 0; j < s->nfiles; j++)
			n += check_dir(s, &s->files[j]);
		n += check_program(s, "check", s->check) +
		    check_program(s, "reload", s->reload);
	}
	return n + check_fetch(&c->fetch);
}
