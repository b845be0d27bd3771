#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "pushconf.h"
#include "serial.h"
#include "yconf.h"

static const char *const top_keys[] = { "signing_key", "state_dir", "outbox",
    "outbox_group", "quiet_period", "inconsistent_after", "concurrency",
    "bundle_days", "front_id", "freshness", "certificates", "dkim", "targets",
    "ca_file", "dns", "s3", NULL };
static const char *const top_required[] = { "signing_key", "targets", NULL };
static const char *const cert_keys[] = { "name", "lineage", "cert", "key",
    "chain", "names", "owner", "follow_symlinks", "dane", "next_key", NULL };
static const char *const cert_required[] = { "name", NULL };
static const char *const dane_keys[] = { "host", "port", "usages", NULL };
static const char *const dane_required[] = { "host", "port", NULL };
static const char *const dns_keys[] = { "resolver", "trust_anchor", "timeout", NULL };
static const char *const dkim_keys[] = { "name", "key", "selector", "domain",
    "owner", "follow_symlinks", NULL };
static const char *const dkim_required[] = { "name", "key", "selector", "domain", NULL };
static const char *const target_keys[] = { "name", "type", "host", "port", "user",
    "identity", "known_hosts", "certpull_config", "certpull", "timeout", "items",
    "endpoints", "fetch_group", "recipient", NULL };
static const char *const target_required[] = { "name", "items", NULL };
static const char *const ep_keys[] = { "address", "port", "sni", "starttls",
    "item", NULL };
static const char *const ep_required[] = { "address", "port", NULL };

/* Checks an item or node name against the bundle's character set. */
static int
check_name(struct yconf *y, yaml_node_t *map, const char *where, const char *name)
{
	if (bundle_name_ok(name) == -1)
		return yconf_error(y, yconf_get(y, map, "name"), where,
		    "name \"%s\" may use only letters, digits, '.', '_', '-' "
		    "(at most 58, not starting with '.' or '-', no \"..\")", name);
	return 0;
}

/* owner and follow_symlinks, common to certificate and DKIM sources. */
static int
load_source_opts(struct yconf *y, yaml_node_t *n, const char *where,
    struct source_opts *o)
{
	if (yconf_user(y, n, where, "owner", &o->owner) == -1 ||
	    yconf_bool(y, n, where, "follow_symlinks", &o->follow_symlinks) == -1)
		return -1;
	o->has_owner = yconf_get(y, n, "owner") != NULL;
	return 0;
}

/* A host name for _PORT._tcp.HOST: letters, digits, '-', '_', '.'. */
static int
dane_host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '.' || strstr(h, "..") != NULL)
		return 0;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n;
}

/*
 * usages: ["3 1 1", "2 1 1"] (default: 3 1 1).  Usage 2 or 3 (DANE-TA,
 * DANE-EE), selector 0 or 1, matching type 1 or 2: the forms a record
 * published ahead of a key change can take.
 */
static int
load_usages(struct yconf *y, yaml_node_t *n, const char *where, struct dane_name *d)
{
	char **v = NULL;
	size_t nv = 0, i;
	unsigned u, s, m;
	char c;
	int rc = 0;

	if (yconf_strv(y, n, where, "usages", DANE_MAX_USAGES, &v, &nv) == -1)
		return -1;
	if (v == NULL) {
		memcpy(d->usages[0], (unsigned char[3]){ 3, 1, 1 }, 3);
		d->nusages = 1;
		return 0;
	}
	for (i = 0; rc == 0 && i < nv; i++) {
		if (sscanf(v[i], "%u %u %u%c", &u, &s, &m, &c) != 3 || u < 2 || u > 3 ||
		    s > 1 || m < 1 || m > 2)
			rc = yconf_error(y, yconf_get(y, n, "usages"), where, "\"%s\" is "
			    "not \"USAGE SELECTOR TYPE\" with usage 2 or 3, selector 0 "
			    "or 1, type 1 or 2 (such as \"3 1 1\")", v[i]);
		d->usages[i][0] = (unsigned char)u;
		d->usages[i][1] = (unsigned char)s;
		d->usages[i][2] = (unsigned char)m;
	}
	d->nusages = nv;
	if (rc == 0 && nv == 0)
		rc = yconf_error(y, yconf_get(y, n, "usages"), where, "needs 1 to %d "
		    "entries", DANE_MAX_USAGES);
	yconf_strv_free(v);
	return rc;
}

static int
load_dane_name(struct yconf *y, yaml_node_t *n, const char *where, struct dane_name *d)
{
	if (yconf_map(y, n, where, dane_keys, dane_required) == -1 ||
	    yconf_str(y, n, where, "host", &d->host) == -1 ||
	    yconf_uint(y, n, where, "port", 1, 65535, &d->port) == -1 ||
	    load_usages(y, n, where, d) == -1)
		return -1;
	if (!dane_host_ok(d->host))
		return yconf_error(y, yconf_get(y, n, "host"), where, "host \"%s\" "
		    "is not a DNS name", d->host);
	return 0;
}

static int
load_dane(struct yconf *y, yaml_node_t *n, const char *where, struct cert_source *s)
{
	yaml_node_t *seq = yconf_get(y, n, "dane");
	char w[96], wi[112];
	size_t i;

	if (seq == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s.dane", where);
	if (yconf_seq(y, seq, w, &s->ndane) == -1)
		return -1;
	if (s->ndane == 0 || s->ndane > PUSH_MAX_DANE)
		return yconf_error(y, seq, w, "needs 1 to %d entries", PUSH_MAX_DANE);
	if ((s->dane = calloc(s->ndane, sizeof(*s->dane))) == NULL)
		return yconf_error(y, seq, w, "out of memory");
	for (i = 0; i < s->ndane; i++) {
		snprintf(wi, sizeof(wi), "%s[%zu]", w, i);
		if (load_dane_name(y, yconf_item(y, seq, i), wi, &s->dane[i]) == -1)
			return -1;
	}
	return 0;
}

static int
load_cert(struct yconf *y, yaml_node_t *n, const char *where, struct cert_source *s)
{
	if (yconf_map(y, n, where, cert_keys, cert_required) == -1 ||
	    yconf_str(y, n, where, "name", &s->name) == -1 ||
	    check_name(y, n, where, s->name) == -1 ||
	    yconf_str(y, n, where, "lineage", &s->lineage) == -1 ||
	    yconf_str(y, n, where, "cert", &s->cert) == -1 ||
	    yconf_str(y, n, where, "key", &s->key) == -1 ||
	    yconf_str(y, n, where, "chain", &s->chain) == -1 ||
	    yconf_strv(y, n, where, "names", 100, &s->names, &s->nnames) == -1 ||
	    load_source_opts(y, n, where, &s->opts) == -1 ||
	    load_dane(y, n, where, s) == -1 ||
	    yconf_str(y, n, where, "next_key", &s->next_key) == -1)
		return -1;
	if (s->lineage != NULL && (s->cert || s->key || s->chain))
		return yconf_error(y, n, where, "give either lineage or cert/key/chain, "
		    "not both");
	if (s->lineage == NULL && (s->cert == NULL || s->key == NULL))
		return yconf_error(y, n, where, "needs lineage, or both cert and key");
	return 0;
}

static int
load_dkim(struct yconf *y, yaml_node_t *n, const char *where, struct dkim_source *s)
{
	if (yconf_map(y, n, where, dkim_keys, dkim_required) == -1 ||
	    yconf_str(y, n, where, "name", &s->name) == -1 ||
	    check_name(y, n, where, s->name) == -1 ||
	    yconf_str(y, n, where, "key", &s->key) == -1 ||
	    yconf_str(y, n, where, "selector", &s->selector) == -1 ||
	    yconf_str(y, n, where, "domain", &s->domain) == -1 ||
	    load_source_opts(y, n, where, &s->opts) == -1)
		return -1;
	return 0;
}

static int
load_target_type(struct yconf *y, yaml_node_t *n, const char *where,
    struct target *t)
{
	char *type = NULL;
	int rc = 0;

	if (yconf_str(y, n, where, "type", &type) == -1)
		return -1;
	if (type == NULL || strcmp(type, "ssh") == 0)
		t->type = TARGET_SSH;
	else if (strcmp(type, "local") == 0)
		t->type = TARGET_LOCAL;
	else
		rc = yconf_error(y, yconf_get(y, n, "type"), where,
		    "type \"%s\" is not ssh or local", type);
	free(type);
	return rc;
}

/* starttls: none (default) or one of the protocols of starttls.h, as in certpull.yaml. */
static int
load_starttls(struct yconf *y, yaml_node_t *n, const char *where, enum starttls *out)
{
	char *s = NULL, list[256];
	int rc = 0;

	*out = TLS_NONE;
	if (yconf_str(y, n, where, "starttls", &s) == -1)
		return -1;
	if (s != NULL && starttls_parse(s, out) == -1) {
		starttls_names(list, sizeof(list));
		rc = yconf_error(y, yconf_get(y, n, "starttls"), where,
		    "starttls \"%s\" is not one of: %s", s, list);
	}
	free(s);
	return rc;
}

/* An endpoint's item must be one of the target's certificates. */
static int
load_endpoint(struct yconf *y, const struct pushconf *c, const struct target *t,
    yaml_node_t *n, const char *where, struct target_endpoint *ep)
{
	size_t i;

	if (yconf_map(y, n, where, ep_keys, ep_required) == -1 ||
	    yconf_str(y, n, where, "address", &ep->address) == -1 ||
	    yconf_uint(y, n, where, "port", 1, 65535, &ep->port) == -1 ||
	    yconf_str(y, n, where, "sni", &ep->sni) == -1 ||
	    load_starttls(y, n, where, &ep->starttls) == -1 ||
	    yconf_str(y, n, where, "item", &ep->item) == -1)
		return -1;
	for (i = 0; i < t->nitems; i++)
		if (pushconf_cert(c, t->items[i]) != NULL &&
		    (ep->item == NULL || strcmp(ep->item, t->items[i]) == 0))
			return 0;
	if (ep->item == NULL)
		return yconf_error(y, n, where, "the target has no certificate item "
		    "for this endpoint to serve");
	return yconf_error(y, yconf_get(y, n, "item"), where, "item \"%s\" is not "
	    "one of the target's certificate items", ep->item);
}

static int
load_endpoints(struct yconf *y, const struct pushconf *c, yaml_node_t *n,
    const char *where, struct target *t)
{
	yaml_node_t *seq = yconf_get(y, n, "endpoints");
	char w[96], wi[112];
	size_t i;

	if (seq == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s.endpoints", where);
	if (yconf_seq(y, seq, w, &t->nendpoints) == -1)
		return -1;
	if (t->nendpoints == 0 || t->nendpoints > PUSH_MAX_ENDPOINTS)
		return yconf_error(y, seq, w, "needs 1 to %d entries", PUSH_MAX_ENDPOINTS);
	if ((t->endpoints = calloc(t->nendpoints, sizeof(*t->endpoints))) == NULL)
		return yconf_error(y, seq, w, "out of memory");
	for (i = 0; i < t->nendpoints; i++) {
		snprintf(wi, sizeof(wi), "%s[%zu]", w, i);
		if (load_endpoint(y, c, t, yconf_item(y, seq, i), wi, &t->endpoints[i]) == -1)
			return -1;
	}
	return 0;
}

/* recipient: the node's "x25519:BASE64" key (certpull keygen), optional. */
static int
load_recipient(struct yconf *y, yaml_node_t *n, const char *where, struct target *t)
{
	char *s = NULL, path[96];
	struct err why;
	int rc = 0;

	if (yconf_str(y, n, where, "recipient", &s) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s.recipient", where);
	if (s != NULL && seal_pub_parse(s, &t->recipient, &why) == -1)
		rc = yconf_error(y, yconf_get(y, n, "recipient"), path, "%s", why.msg);
	t->sealed = s != NULL && rc == 0;
	free(s);
	return rc;
}

static int
load_target(struct yconf *y, const struct pushconf *c, yaml_node_t *n,
    const char *where, struct target *t)
{
	size_t i, j;

	t->port = 22;
	t->timeout = 60;
	if (yconf_map(y, n, where, target_keys, target_required) == -1 ||
	    yconf_str(y, n, where, "name", &t->name) == -1 ||
	    check_name(y, n, where, t->name) == -1 ||
	    load_target_type(y, n, where, t) == -1 ||
	    yconf_str(y, n, where, "host", &t->host) == -1 ||
	    yconf_uint(y, n, where, "port", 1, 65535, &t->port) == -1 ||
	    yconf_str(y, n, where, "user", &t->user) == -1 ||
	    yconf_str(y, n, where, "identity", &t->identity) == -1 ||
	    yconf_str(y, n, where, "known_hosts", &t->known_hosts) == -1 ||
	    yconf_str(y, n, where, "certpull_config", &t->certpull_config) == -1 ||
	    yconf_str(y, n, where, "certpull", &t->certpull) == -1 ||
	    yconf_uint(y, n, where, "timeout", 1, 3600, &t->timeout) == -1 ||
	    yconf_strv(y, n, where, "items", PUSH_MAX_ITEMS, &t->items, &t->nitems) == -1 ||
	    yconf_group(y, n, where, "fetch_group", &t->fetch_gid) == -1 ||
	    load_recipient(y, n, where, t) == -1)
		return -1;
	t->fetch_shared = yconf_get(y, n, "fetch_group") != NULL;
	if (t->type == TARGET_SSH && (t->host == NULL || t->identity == NULL ||
	    t->known_hosts == NULL))
		return yconf_error(y, n, where, "an ssh target needs host, identity "
		    "and known_hosts");
	if ((t->user == NULL && (t->user = strdup("root")) == NULL) ||
	    (t->certpull == NULL && (t->certpull = strdup("/usr/sbin/certpull")) == NULL) ||
	    (t->certpull_config == NULL &&
	    (t->certpull_config = strdup("/etc/certpull/certpull.yaml")) == NULL))
		return yconf_error(y, n, where, "out of memory");
	if (t->certpull[0] != '/')
		return yconf_error(y, yconf_get(y, n, "certpull"), where,
		    "certpull \"%s\" must be an absolute path", t->certpull);
	for (i = 0; i < t->nitems; i++) {
		if (pushconf_cert(c, t->items[i]) == NULL &&
		    pushconf_dkim(c, t->items[i]) == NULL)
			return yconf_error(y, yconf_get(y, n, "items"), where,
			    "item \"%s\" is not a certificate or dkim name", t->items[i]);
		/* Twice would give duplicate entries, which certpull refuses. */
		for (j = 0; j < i; j++)
			if (strcmp(t->items[i], t->items[j]) == 0)
				return yconf_error(y, yconf_get(y, n, "items"), where,
				    "item \"%s\" is listed twice", t->items[i]);
	}
	return load_endpoints(y, c, n, where, t);
}

/* Loads the list under key with fn into a calloc'd array of size elements. */
#define LOAD_LIST(y, root, key, arr, count, fn, ...) do {			\
	yaml_node_t *seq_ = yconf_get((y), (root), (key));			\
	size_t i_;								\
	char w_[64];								\
	if (seq_ == NULL)							\
		break;								\
	if (yconf_seq((y), seq_, (key), &(count)) == -1)			\
		goto fail;							\
	if ((count) > PUSH_MAX_TARGETS) {					\
		yconf_error((y), seq_, (key), "more than %d entries",		\
		    PUSH_MAX_TARGETS);						\
		goto fail;							\
	}									\
	if (((arr) = calloc((count) + 1, sizeof(*(arr)))) == NULL)		\
		goto fail;							\
	for (i_ = 0; i_ < (count); i_++) {					\
		snprintf(w_, sizeof(w_), "%s[%zu]", (key), i_);			\
		if (fn((y), ##__VA_ARGS__, yconf_item((y), seq_, i_), w_,	\
		    &(arr)[i_]) == -1)						\
			goto fail;						\
	}									\
} while (0)

static int
check_unique(struct yconf *y, const struct pushconf *c)
{
	size_t i, j;

	for (i = 0; i < c->ncerts; i++)
		for (j = 0; j < c->ndkims; j++)
			if (strcmp(c->certs[i].name, c->dkims[j].name) == 0)
				return err_set(y->e, "%s: item name \"%s\" is used twice",
				    y->file, c->certs[i].name);
	for (i = 0; i < c->ncerts; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->certs[i].name, c->certs[j].name) == 0)
				return err_set(y->e, "%s: certificates: name \"%s\" is "
				    "used twice", y->file, c->certs[i].name);
	for (i = 0; i < c->ndkims; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->dkims[i].name, c->dkims[j].name) == 0)
				return err_set(y->e, "%s: dkim: name \"%s\" is used twice",
				    y->file, c->dkims[i].name);
	for (i = 0; i < c->ntargets; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->targets[i].name, c->targets[j].name) == 0)
				return err_set(y->e, "%s: targets: name \"%s\" is used "
				    "twice", y->file, c->targets[i].name);
	return 0;
}

/* front_id: absent means a single front and plain clock serials (-1). */
static int
load_front_id(struct yconf *y, yaml_node_t *root, struct pushconf *c)
{
	unsigned long id;

	c->front_id = -1;
	if (yconf_get(y, root, "front_id") == NULL)
		return 0;
	if (yconf_uint(y, root, "", "front_id", 0, SERIAL_FRONT_MAX, &id) == -1)
		return -1;
	c->front_id = (int)id;
	return 0;
}

static int
load_top(struct yconf *y, yaml_node_t *root, struct pushconf *c)
{
	if (yconf_map(y, root, "", top_keys, top_required) == -1 ||
	    yconf_str(y, root, "", "signing_key", &c->signing_key) == -1 ||
	    yconf_str(y, root, "", "state_dir", &c->state_dir) == -1 ||
	    yconf_str(y, root, "", "outbox", &c->outbox) == -1 ||
	    yconf_uint(y, root, "", "quiet_period", 0, 3600, &c->quiet_period) == -1 ||
	    yconf_uint(y, root, "", "inconsistent_after", 1, 86400,
	    &c->inconsistent_after) == -1 ||
	    yconf_uint(y, root, "", "concurrency", 1, 256, &c->concurrency) == -1 ||
	    yconf_uint(y, root, "", "bundle_days", 1, 3650, &c->bundle_days) == -1 ||
	    yconf_str(y, root, "", "ca_file", &c->ca_file) == -1 ||
	    load_front_id(y, root, c) == -1 ||
	    yconf_uint(y, root, "", "freshness", 0, 7 * 86400, &c->freshness) == -1)
		return -1;
	if (c->state_dir == NULL && (c->state_dir = strdup("/var/lib/certpush")) == NULL)
		return err_set(y->e, "out of memory");
	/* Kept in top_keys only to be refused with a reason, not as unknown. */
	if (yconf_get(y, root, "outbox_group") != NULL)
		return yconf_error(y, yconf_get(y, root, "outbox_group"), "outbox_group",
		    "no longer supported: one group for the whole outbox let every "
		    "node read every other node's private keys; give each target "
		    "that fetches its own account and fetch_group instead "
		    "(certpush.yaml(5), fetch_group)");
	if (c->outbox == NULL && asprintf(&c->outbox, "%s/outbox", c->state_dir) == -1) {
		c->outbox = NULL;
		return err_set(y->e, "out of memory");
	}
	return 0;
}

/*
 * dns: { resolver: [ADDRESS...], trust_anchor: FILE, timeout: SECONDS }.
 * Its presence turns the DKIM checks on; a certificate's dane: turns the
 * DANE checks on, with the system's resolver if there is no dns:.
 */
static int
load_dns(struct yconf *y, yaml_node_t *root, struct pushconf *c)
{
	yaml_node_t *n = yconf_get(y, root, "dns");
	char **v = NULL;
	size_t nv = 0, i;

	c->dns.timeout = 10;
	if (n == NULL)
		return 0;
	c->dkim_checks = c->dns_checks = 1;
	if (yconf_map(y, n, "dns", dns_keys, NULL) == -1 ||
	    yconf_strv(y, n, "dns", "resolver", DNS_MAX_RESOLVERS, &v, &nv) == -1 ||
	    yconf_str(y, n, "dns", "trust_anchor", &c->dns.trust_anchor) == -1 ||
	    yconf_uint(y, n, "dns", "timeout", 1, 300, &c->dns.timeout) == -1) {
		yconf_strv_free(v);
		return -1;
	}
	for (i = 0; i < nv; i++) {
		c->dns.resolvers[i] = v[i];
		v[i] = NULL;
	}
	c->dns.nresolvers = nv;
	yconf_strv_free(v);
	return 0;
}

/* Whether path is dir or lies inside it. */
static int
path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * A fetch_group opens that target's bundle to one account: each node
 * its own, or a node reads another's keys.  The outbox must then lie
 * outside state_dir, which is 0700 and which no fetch account may enter.
 */
static int
check_fetch_groups(struct yconf *y, yaml_node_t *root, struct pushconf *c)
{
	yaml_node_t *seq = yconf_get(y, root, "targets"), *n;
	const struct target *t, *u;
	char w[64];
	size_t i, j;

	for (i = 0; i < c->ntargets; i++) {
		if (!(t = &c->targets[i])->fetch_shared)
			continue;
		snprintf(w, sizeof(w), "targets[%zu].fetch_group", i);
		n = yconf_get(y, yconf_item(y, seq, i), "fetch_group");
		for (j = 0; j < i; j++)
			if ((u = &c->targets[j])->fetch_shared && u->fetch_gid == t->fetch_gid)
				return yconf_error(y, n, w, "group \"%s\" is already "
				    "target %s's: each node needs a fetch account of its "
				    "own, or it can read the other's keys",
				    (const char *)n->data.scalar.value, u->name);
		if (path_within(c->outbox, c->state_dir))
			return yconf_error(y, n, w, "needs an outbox outside "
			    "state_dir %s, which only root may enter (for example "
			    "outbox: /var/lib/certpush-outbox)", c->state_dir);
		c->outbox_shared = 1;
	}
	return 0;
}

/* Loads from a file (path) or from text (text != NULL, for tests and fuzzing). */
static int
load(const char *path, const char *text, size_t len, struct pushconf *c,
    struct err *e)
{
	struct yconf y;
	yaml_node_t *root;

	memset(c, 0, sizeof(*c));
	e->msg[0] = '\0';
	c->quiet_period = 2;
	c->inconsistent_after = 600;
	c->concurrency = 16;
	c->bundle_days = 30;
	if ((c->file = strdup(path)) == NULL)
		return err_set(e, "out of memory");
	if ((text ? yconf_load_string(&y, path, text, len, e) :
	    yconf_load(&y, path, e)) == -1)
		goto fail;
	root = yconf_root(&y);
	if (load_top(&y, root, c) == -1)
		goto fail;
	LOAD_LIST(&y, root, "certificates", c->certs, c->ncerts, load_cert);
	LOAD_LIST(&y, root, "dkim", c->dkims, c->ndkims, load_dkim);
	LOAD_LIST(&y, root, "targets", c->targets, c->ntargets, load_target, c);
	if (c->ntargets == 0) {
		yconf_error(&y, yconf_get(&y, root, "targets"), "targets",
		    "at least one target is needed");
		goto fail;
	}
	if (check_unique(&y, c) == -1 || check_fetch_groups(&y, root, c) == -1 ||
	    load_dns(&y, root, c) == -1 || s3conf_load(&y, root, &c->s3) == -1)
		goto fail;
	for (size_t i = 0; i < c->ncerts; i++)
		c->dns_checks |= c->certs[i].ndane > 0;
	yconf_free(&y);
	return 0;
fail:
	if (e->msg[0] == '\0')
		err_set(e, "%s: out of memory", path);
	yconf_free(&y);
	pushconf_free(c);
	return -1;
}

int
pushconf_load(const char *path, struct pushconf *c, struct err *e)
{
	return load(path, NULL, 0, c, e);
}

int
pushconf_load_string(const char *name, const char *text, size_t len,
    struct pushconf *c, struct err *e)
{
	return load(name, text, len, c, e);
}

void
pushconf_free(struct pushconf *c)
{
	size_t i, j;

	for (i = 0; c->certs != NULL && i < c->ncerts; i++) {
		free(c->certs[i].name);
		free(c->certs[i].lineage);
		free(c->certs[i].cert);
		free(c->certs[i].key);
		free(c->certs[i].chain);
		yconf_strv_free(c->certs[i].names);
		for (j = 0; c->certs[i].dane != NULL && j < c->certs[i].ndane; j++)
			free(c->certs[i].dane[j].host);
		free(c->certs[i].dane);
		free(c->certs[i].next_key);
	}
	for (i = 0; c->dkims != NULL && i < c->ndkims; i++) {
		free(c->dkims[i].name);
		free(c->dkims[i].key);
		free(c->dkims[i].selector);
		free(c->dkims[i].domain);
	}
	for (i = 0; c->targets != NULL && i < c->ntargets; i++) {
		struct target *t = &c->targets[i];

		free(t->name);
		free(t->host);
		free(t->user);
		free(t->identity);
		free(t->known_hosts);
		free(t->certpull_config);
		free(t->certpull);
		yconf_strv_free(t->items);
		for (j = 0; t->endpoints != NULL && j < t->nendpoints; j++) {
			free(t->endpoints[j].address);
			free(t->endpoints[j].sni);
			free(t->endpoints[j].item);
		}
		free(t->endpoints);
	}
	free(c->certs);
	free(c->dkims);
	free(c->targets);
	free(c->file);
	free(c->signing_key);
	free(c->state_dir);
	free(c->outbox);
	free(c->ca_file);
	for (i = 0; i < c->dns.nresolvers; i++)
		free(c->dns.resolvers[i]);
	free(c->dns.trust_anchor);
	s3conf_free(&c->s3);
	memset(c, 0, sizeof(*c));
}

const struct target *
pushconf_target(const struct pushconf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ntargets; i++)
		if (strcmp(c->targets[i].name, name) == 0)
			return &c->targets[i];
	return NULL;
}

const struct cert_source *
pushconf_cert(const struct pushconf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ncerts; i++)
		if (strcmp(c->certs[i].name, name) == 0)
			return &c->certs[i];
	return NULL;
}

const struct dkim_source *
pushconf_dkim(const struct pushconf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ndkims; i++)
		if (strcmp(c->dkims[i].name, name) == 0)
			return &c->dkims[i];
	return NULL;
}
