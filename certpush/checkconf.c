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

/* The signing key is safe; its public half goes into pub ("" if unknown). */
static void
check_signing_key(struct cfgreport *r, const struct pushconf *c,
    char pub[SIG_PUBTEXT_MAX])
{
	struct pubkey pk;
	EVP_PKEY *sk;
	struct err e;

	pub[0] = '\0';
	if (cfgcheck_file_report(r, "signing_key", c->signing_key, 1,
	    " (certpush keygen creates it)") != 0)
		return;
	if ((sk = sig_load_secret(c->signing_key, &e)) == NULL ||
	    sig_pubkey_of(sk, &pk, &e) == -1)
		cfg_problem(r, "signing_key %s: %s", c->signing_key, e.msg);
	else
		sig_pubkey_format(&pk, pub);
	EVP_PKEY_free(sk);
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
static void
check_local(struct cfgreport *r, const struct target *t, const char *pub)
{
	struct buf b = { 0 };
	struct err e;

	if (file_read(t->certpull_config, CERTPULL_YAML_CAP, &b, &e) == -1) {
		cfg_warning(r, "target %s: certpull_config %s", t->name, e.msg);
		return;
	}
	if (pub[0] != '\0' && !lists_key(&b, pub))
		cfg_problem(r, "target %s: %s does not trust the signing key: add \"- %s\" "
		    "under trusted_keys", t->name, t->certpull_config, pub);
	if (lists_key(&b, CFGCHECK_EXAMPLE_KEY))
		cfg_warning(r, "target %s: %s trusts the example key of the documentation "
		    "(%s): remove it", t->name, t->certpull_config, CFGCHECK_EXAMPLE_KEY);
	buf_free(&b);
}

static void
check_target(struct cfgreport *r, const struct target *t, const char *pub)
{
	struct err e;
	char what[200];

	if (t->type == TARGET_LOCAL) {
		check_local(r, t, pub);
		return;
	}
	snprintf(what, sizeof(what), "target %s: identity", t->name);
	cfgcheck_file_report(r, what, t->identity, 1, " (certpush add-node creates it)");
	snprintf(what, sizeof(what), "target %s: known_hosts", t->name);
	if (cfgcheck_file_report(r, what, t->known_hosts, 0,
	    " (certpush add-node fills it)") != 0)
		return;
	if (cfgcheck_known_host(t->known_hosts, t->host, (unsigned)t->port, &e) == -1)
		cfg_warning(r, "target %s: %s; or: certpush add-node %s", t->name, e.msg,
		    t->name);
}

/* A source that is not there: collect_check_sources judges those that are. */
static void
missing(struct cfgreport *r, const char *kind, const char *name, const char *path)
{
	struct stat st;

	if (path != NULL && stat(path, &st) == -1 && errno == ENOENT)
		cfg_warning(r, "%s %s: %s: missing", kind, name, path);
}

int
checkconf_push(const struct pushconf *c, struct cfgreport *r)
{
	char pub[SIG_PUBTEXT_MAX];
	size_t i;

	check_signing_key(r, c, pub);
	for (i = 0; i < c->ntargets; i++)
		check_target(r, &c->targets[i], pub);
	for (i = 0; i < c->ncerts; i++) {
		const struct cert_source *s = &c->certs[i];

		missing(r, "certificate", s->name, s->lineage);
		missing(r, "certificate", s->name, s->cert);
		missing(r, "certificate", s->name, s->chain);
		missing(r, "certificate", s->name, s->key);
	}
	for (i = 0; i < c->ndkims; i++)
		missing(r, "dkim", c->dkims[i].name, c->dkims[i].key);
	if (c->s3.endpoint != NULL) {
		cfgcheck_file_report(r, "s3: credentials_file", c->s3.credentials_file, 1, NULL);
		if (c->s3.ca_file != NULL)
			cfgcheck_file_report(r, "s3: ca_file", c->s3.ca_file, 0, NULL);
	}
	return r->problems;
}
