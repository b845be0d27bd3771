#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cfgcheck.h"
#include "checkconf.h"
#include "fsutil.h"
#include "log.h"
#include "sig.h"

#define CERTPULL_YAML_CAP	(256 * 1024)

static int
problem(int ok, const struct err *e)
{
	if (ok == 0)
		return 0;
	log_warnx("%s", e->msg);
	return 1;
}

/* The signing key is safe; its public half goes into pub ("" if unknown). */
static int
check_signing_key(const struct pushconf *c, char pub[SIG_PUBTEXT_MAX])
{
	struct pubkey pk;
	EVP_PKEY *sk;
	struct err e;

	pub[0] = '\0';
	if (cfgcheck_file("signing_key", c->signing_key, 1, &e) == -1) {
		if (strstr(e.msg, ": missing") != NULL)
			log_warnx("%s (certpush keygen creates it)", e.msg);
		else
			log_warnx("%s", e.msg);
		return 1;
	}
	if ((sk = sig_load_secret(c->signing_key, &e)) == NULL ||
	    sig_pubkey_of(sk, &pk, &e) == -1) {
		EVP_PKEY_free(sk);
		log_warnx("signing_key %s: %s", c->signing_key, e.msg);
		return 1;
	}
	EVP_PKEY_free(sk);
	sig_pubkey_format(&pk, pub);
	return 0;
}

/* A line of text, not a comment, holds key. */
static int
lists_key(const struct buf *b, const char *key)
{
	const char *p = (const char *)b->data, *end = p + b->len, *nl, *hit;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		if (p < nl && *p != '#' && (hit = memmem(p, (size_t)(nl - p), key,
		    strlen(key))) != NULL && memchr(p, '#', (size_t)(hit - p)) == NULL)
			return 1;
	}
	return 0;
}

/* A local target's certpull.yaml trusts the signing key (pub). */
static int
check_local(const struct target *t, const char *pub)
{
	struct buf b = { 0 };
	struct err e;
	int n = 0;

	if (file_read(t->certpull_config, CERTPULL_YAML_CAP, &b, &e) == -1) {
		log_warnx("target %s: certpull_config %s", t->name, e.msg);
		return 1;
	}
	if (pub[0] != '\0' && !lists_key(&b, pub)) {
		log_warnx("target %s: %s does not trust the signing key: add \"- %s\" under "
		    "trusted_keys", t->name, t->certpull_config, pub);
		n++;
	}
	if (lists_key(&b, CFGCHECK_EXAMPLE_KEY))
		log_warnx("warning: target %s: %s trusts the example key of the "
		    "documentation (%s): remove it", t->name, t->certpull_config,
		    CFGCHECK_EXAMPLE_KEY);
	buf_free(&b);
	return n;
}

static int
check_target(const struct target *t, const char *pub)
{
	struct err e;
	char what[200];
	int n = 0;

	if (t->type == TARGET_LOCAL)
		return check_local(t, pub);
	snprintf(what, sizeof(what), "target %s: identity", t->name);
	n += problem(cfgcheck_file(what, t->identity, 1, &e), &e);
	snprintf(what, sizeof(what), "target %s: known_hosts", t->name);
	if (cfgcheck_file(what, t->known_hosts, 0, &e) == -1)
		return n + problem(-1, &e);
	if (cfgcheck_known_host(t->known_hosts, t->host, (unsigned)t->port, &e) == -1) {
		log_warnx("target %s: %s", t->name, e.msg);
		n++;
	}
	return n;
}

/* A source that is not there: collect_check_sources judges those that are. */
static int
missing(const char *kind, const char *name, const char *path)
{
	struct stat st;

	if (path == NULL || stat(path, &st) == 0 || errno != ENOENT)
		return 0;
	log_warnx("%s %s: %s: missing", kind, name, path);
	return 1;
}

static int
check_present(const struct pushconf *c)
{
	size_t i;
	int n = 0;

	for (i = 0; i < c->ncerts; i++) {
		const struct cert_source *s = &c->certs[i];

		n += missing("certificate", s->name, s->lineage) +
		    missing("certificate", s->name, s->cert) +
		    missing("certificate", s->name, s->chain) +
		    missing("certificate", s->name, s->key);
	}
	for (i = 0; i < c->ndkims; i++)
		n += missing("dkim", c->dkims[i].name, c->dkims[i].key);
	return n;
}

int
checkconf_push(const struct pushconf *c)
{
	char pub[SIG_PUBTEXT_MAX];
	size_t i;
	int n;

	n = check_signing_key(c, pub);
	for (i = 0; i < c->ntargets; i++)
		n += check_target(&c->targets[i], pub);
	return n + check_present(c);
}
