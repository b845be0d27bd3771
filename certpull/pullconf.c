#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "http.h"
#include "pullconf.h"
#include "yconf.h"

static const char *const top_keys[] = { "node", "state_dir", "trusted_keys",
    "grace", "services", "fetch", "secret_key", NULL };
static const char *const fetch_keys[] = { "urls", "ca_file", "require_timestamp",
    "host", "port", "user", "identity", "known_hosts", "path", "timeout", NULL };
static const char *const sftp_required[] = { "host", "identity", "known_hosts",
    "path", NULL };
static const char *const top_required[] = { "node", "trusted_keys", "services", NULL };
static const char *const svc_keys[] = { "name", "files", "check", "reload",
    "timeout", "haproxy_socket", "endpoints", NULL };
static const char *const svc_required[] = { "name", "files", NULL };
static const char *const file_keys[] = { "path", "item", "format", "owner",
    "group", "mode", "password_file", NULL };
static const char *const file_required[] = { "path", "item", "format", "mode", NULL };
static const char *const ep_keys[] = { "address", "port", "sni", "starttls",
    "item", NULL };
static const char *const ep_required[] = { "address", "port", NULL };

static const char *const format_names[] = {
	[FMT_HAPROXY] = "haproxy",
	[FMT_KEY_CHAIN] = "key+chain",
	[FMT_FULLCHAIN] = "fullchain",
	[FMT_CERT] = "cert",
	[FMT_CHAIN] = "chain",
	[FMT_KEY] = "key",
	[FMT_DKIM] = "dkim",
	[FMT_PKCS12] = "pkcs12",
};

const char *
format_name(enum file_format f)
{
	return format_names[f];
}

int
format_is_secret(enum file_format f)
{
	return f == FMT_HAPROXY || f == FMT_KEY_CHAIN || f == FMT_KEY || f == FMT_DKIM ||
	    f == FMT_PKCS12;
}

/* Finds s in names[0..n); -1 if absent. */
static int
lookup(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static int
load_enum(struct yconf *y, yaml_node_t *n, const char *where, const char *key,
    const char *const *names, int count, int *out)
{
	char *s = NULL;
	int v, rc = 0;

	if (yconf_str(y, n, where, key, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	if ((v = lookup(s, names, count)) == -1) {
		char path[128], list[128] = "";
		int i;

		for (i = 0; i < count; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			    "%s%s", i ? ", " : "", names[i]);
		snprintf(path, sizeof(path), "%s.%s", where, key);
		rc = yconf_error(y, yconf_get(y, n, key), path,
		    "\"%s\" is not one of: %s", s, list);
	} else
		*out = v;
	free(s);
	return rc;
}

static int
load_file(struct yconf *y, yaml_node_t *n, const char *where, struct svc_file *f)
{
	int fmt = -1;

	f->uid = 0;
	f->gid = 0;
	if (yconf_map(y, n, where, file_keys, file_required) == -1 ||
	    yconf_str(y, n, where, "path", &f->path) == -1 ||
	    yconf_str(y, n, where, "item", &f->item) == -1 ||
	    load_enum(y, n, where, "format", format_names,
	    (int)(sizeof(format_names) / sizeof(format_names[0])), &fmt) == -1 ||
	    yconf_str(y, n, where, "password_file", &f->password_file) == -1 ||
	    yconf_user(y, n, where, "owner", &f->uid) == -1 ||
	    yconf_group(y, n, where, "group", &f->gid) == -1 ||
	    yconf_mode(y, n, where, "mode", &f->mode) == -1)
		return -1;
	f->format = (enum file_format)fmt;
	if (f->path[0] != '/')
		return yconf_error(y, yconf_get(y, n, "path"), where,
		    "path \"%s\" must be absolute", f->path);
	if (bundle_name_ok(f->item) == -1)
		return yconf_error(y, yconf_get(y, n, "item"), where,
		    "invalid item name \"%s\"", f->item);
	if (f->password_file != NULL && (f->format != FMT_PKCS12 ||
	    f->password_file[0] != '/'))
		return yconf_error(y, yconf_get(y, n, "password_file"), where,
		    f->format != FMT_PKCS12 ? "password_file is for the pkcs12 format "
		    "only" : "password_file \"%s\" must be absolute", f->password_file);
	if (format_is_secret(f->format) && (f->mode & 0137) != 0)
		return yconf_error(y, yconf_get(y, n, "mode"), where,
		    "mode %04o is too open for a private key: no execute bit, no "
		    "group write, nothing for others (use 0600, or 0640 for a "
		    "service group)", (unsigned)f->mode);
	if ((f->mode & 0022) != 0)
		return yconf_error(y, yconf_get(y, n, "mode"), where,
		    "mode %04o lets the group or others rewrite a certificate",
		    (unsigned)f->mode);
	return 0;
}

/* starttls: none (default) or one of the protocols of starttls.h. */
static int
load_starttls(struct yconf *y, yaml_node_t *n, const char *where, enum starttls *out)
{
	char *s = NULL, path[128], list[256];
	int rc = 0;

	*out = TLS_NONE;
	if (yconf_str(y, n, where, "starttls", &s) == -1)
		return -1;
	if (s != NULL && starttls_parse(s, out) == -1) {
		starttls_names(list, sizeof(list));
		snprintf(path, sizeof(path), "%s.starttls", where);
		rc = yconf_error(y, yconf_get(y, n, "starttls"), path,
		    "\"%s\" is not one of: %s", s, list);
	}
	free(s);
	return rc;
}

static int
load_endpoint(struct yconf *y, yaml_node_t *n, const char *where, struct endpoint *ep)
{
	if (yconf_map(y, n, where, ep_keys, ep_required) == -1 ||
	    yconf_str(y, n, where, "address", &ep->address) == -1 ||
	    yconf_uint(y, n, where, "port", 1, 65535, &ep->port) == -1 ||
	    yconf_str(y, n, where, "sni", &ep->sni) == -1 ||
	    yconf_str(y, n, where, "item", &ep->item) == -1 ||
	    load_starttls(y, n, where, &ep->starttls) == -1)
		return -1;
	return 0;
}

/* Loads the list under key into a calloc'd array (at most max entries). */
#define LOAD_LIST(y, map, where, key, max, arr, count, fn) do {		\
	yaml_node_t *seq_ = yconf_get((y), (map), (key));			\
	char w_[160];								\
	size_t i_;								\
	snprintf(w_, sizeof(w_), "%s%s%s", (where), *(where) ? "." : "", (key)); \
	if (seq_ == NULL)							\
		break;								\
	if (yconf_seq((y), seq_, w_, &(count)) == -1)				\
		return -1;							\
	if ((count) == 0 || (count) > (max))					\
		return yconf_error((y), seq_, w_, "needs 1 to %d entries", (max)); \
	if (((arr) = calloc((count), sizeof(*(arr)))) == NULL)			\
		return yconf_error((y), seq_, w_, "out of memory");		\
	for (i_ = 0; i_ < (count); i_++) {					\
		char wi_[192];							\
		snprintf(wi_, sizeof(wi_), "%s[%zu]", w_, i_);			\
		if (fn((y), yconf_item((y), seq_, i_), wi_, &(arr)[i_]) == -1)	\
			return -1;						\
	}									\
} while (0)

static int
load_service(struct yconf *y, yaml_node_t *n, const char *where, struct service *s)
{
	s->timeout = 30;
	if (yconf_map(y, n, where, svc_keys, svc_required) == -1 ||
	    yconf_str(y, n, where, "name", &s->name) == -1 ||
	    yconf_strv(y, n, where, "check", PULL_MAX_ARGV, &s->check, NULL) == -1 ||
	    yconf_strv(y, n, where, "reload", PULL_MAX_ARGV, &s->reload, NULL) == -1 ||
	    yconf_uint(y, n, where, "timeout", 1, 600, &s->timeout) == -1 ||
	    yconf_str(y, n, where, "haproxy_socket", &s->haproxy_socket) == -1)
		return -1;
	if (bundle_name_ok(s->name) == -1)
		return yconf_error(y, yconf_get(y, n, "name"), where,
		    "service name \"%s\" may use only letters, digits, '.', '_', '-'",
		    s->name);
	if (s->check != NULL && s->check[0][0] != '/')
		return yconf_error(y, yconf_get(y, n, "check"), where,
		    "check command \"%s\" must be an absolute path", s->check[0]);
	if (s->reload != NULL && s->reload[0][0] != '/')
		return yconf_error(y, yconf_get(y, n, "reload"), where,
		    "reload command \"%s\" must be an absolute path", s->reload[0]);
	LOAD_LIST(y, n, where, "files", PULL_MAX_FILES, s->files, s->nfiles, load_file);
	LOAD_LIST(y, n, where, "endpoints", PULL_MAX_ENDPOINTS, s->endpoints,
	    s->nendpoints, load_endpoint);
	return 0;
}

static int
load_keys(struct yconf *y, yaml_node_t *root, struct pullconf *c)
{
	char **keys = NULL;
	struct err why;
	size_t i, n = 0;
	int rc = 0;

	if (yconf_strv(y, root, "", "trusted_keys", PULL_MAX_KEYS, &keys, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if (sig_pubkey_parse(keys[i], &c->trusted[i], &why) == -1)
			rc = yconf_error(y, yconf_item(y, yconf_get(y, root,
			    "trusted_keys"), i), "trusted_keys", "%s", why.msg);
	}
	c->ntrusted = n;
	yconf_strv_free(keys);
	return rc;
}

/* An endpoint must name an item that this node's files receive. */
static int
check_endpoint_items(struct yconf *y, const struct pullconf *c)
{
	size_t i, j, k, l;

	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nendpoints; j++) {
			const char *item = c->services[i].endpoints[j].item;
			int found = item == NULL;

			for (k = 0; k < c->nservices && !found; k++)
				for (l = 0; l < c->services[k].nfiles && !found; l++)
					found = strcmp(c->services[k].files[l].item, item) == 0;
			if (!found)
				return err_set(y->e, "%s: services: %s: endpoint %s:%lu names "
				    "item \"%s\", which no file of this node receives",
				    y->file, c->services[i].name,
				    c->services[i].endpoints[j].address,
				    c->services[i].endpoints[j].port, item);
		}
	return 0;
}

static int
check_files_unique(struct yconf *y, const struct pullconf *c)
{
	size_t i, j, k, l;

	/* Recovery names services in its journal: they must be unique. */
	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->services[i].name, c->services[j].name) == 0)
				return err_set(y->e, "%s: services: name \"%s\" is used "
				    "twice", y->file, c->services[i].name);

	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nfiles; j++)
			for (k = 0; k <= i; k++)
				for (l = 0; l < c->services[k].nfiles; l++) {
					if (k == i && l >= j)
						break;
					if (strcmp(c->services[i].files[j].path,
					    c->services[k].files[l].path) == 0)
						return err_set(y->e, "%s: services: path "
						    "\"%s\" appears twice", y->file,
						    c->services[i].files[j].path);
				}
	return 0;
}

/* fetch.urls: https:// URLs, "{node}" at most in the path. */
static int
load_urls(struct yconf *y, yaml_node_t *n, struct fetch *f)
{
	yaml_node_t *seq = yconf_get(y, n, "urls"), *item;
	size_t i, count = 0;

	/* In a [ ] list, an unquoted {node} makes a YAML mapping, not a string. */
	if (seq != NULL && seq->type == YAML_SEQUENCE_NODE)
		count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	for (i = 0; i < count; i++)
		if ((item = yconf_item(y, seq, i))->type != YAML_SCALAR_NODE)
			return yconf_error(y, item, "fetch.urls", "entry %zu is not a "
			    "string: quote a URL holding {node} inside [ ] "
			    "(\"https://mirror/{node}.bundle\")", i + 1);
	if (yconf_strv(y, n, "fetch", "urls", PULL_MAX_URLS, &f->urls, &f->nurls) == -1)
		return -1;
	for (i = 0; i < f->nurls; i++)
		if (http_url_ok(f->urls[i]) == -1)
			return yconf_error(y, yconf_item(y, yconf_get(y, n, "urls"), i),
			    "fetch.urls", "\"%.200s\" is not an https:// URL (printable, "
			    "no spaces, at most %d characters)", f->urls[i], HTTP_URL_MAX);
	return 0;
}

/*
 * The SFTP keys come together: host needs identity, known_hosts and
 * path, and without urls the section is an SFTP one.
 */
static int
check_fetch(struct yconf *y, yaml_node_t *n, const struct fetch *f)
{
	if (f->nurls == 0 && f->host == NULL)
		return yconf_error(y, n, "fetch", "needs urls (HTTPS mirrors), host "
		    "(SFTP on the front), or both");
	if ((f->host != NULL || f->nurls == 0) &&
	    yconf_map(y, n, "fetch", fetch_keys, sftp_required) == -1)
		return -1;
	if (f->host == NULL && (yconf_get(y, n, "identity") || yconf_get(y, n,
	    "known_hosts") || yconf_get(y, n, "path") || yconf_get(y, n, "user") ||
	    yconf_get(y, n, "port")))
		return yconf_error(y, n, "fetch", "port, user, identity, known_hosts "
		    "and path are for SFTP: they need host");
	if (f->require_timestamp && f->nurls == 0)
		return yconf_error(y, yconf_get(y, n, "require_timestamp"),
		    "fetch.require_timestamp", "require_timestamp is for urls only");
	if (f->ca_file != NULL && (f->ca_file[0] != '/' || f->nurls == 0))
		return yconf_error(y, yconf_get(y, n, "ca_file"), "fetch.ca_file",
		    f->nurls == 0 ? "ca_file is for urls only" :
		    "ca_file \"%s\" must be absolute", f->ca_file);
	return 0;
}

static int
load_fetch(struct yconf *y, yaml_node_t *root, struct fetch *f)
{
	yaml_node_t *n = yconf_get(y, root, "fetch");

	if (n == NULL)
		return 0;
	f->port = 22;
	f->timeout = 60;
	if (yconf_map(y, n, "fetch", fetch_keys, NULL) == -1 ||
	    load_urls(y, n, f) == -1 ||
	    yconf_str(y, n, "fetch", "ca_file", &f->ca_file) == -1 ||
	    yconf_bool(y, n, "fetch", "require_timestamp", &f->require_timestamp) == -1 ||
	    yconf_str(y, n, "fetch", "host", &f->host) == -1 ||
	    yconf_uint(y, n, "fetch", "port", 1, 65535, &f->port) == -1 ||
	    yconf_str(y, n, "fetch", "user", &f->user) == -1 ||
	    yconf_str(y, n, "fetch", "identity", &f->identity) == -1 ||
	    yconf_str(y, n, "fetch", "known_hosts", &f->known_hosts) == -1 ||
	    yconf_str(y, n, "fetch", "path", &f->path) == -1 ||
	    yconf_uint(y, n, "fetch", "timeout", 1, 3600, &f->timeout) == -1 ||
	    check_fetch(y, n, f) == -1)
		return -1;
	if (f->host != NULL && f->user == NULL && (f->user = strdup("root")) == NULL)
		return err_set(y->e, "out of memory");
	return 0;
}

static int
load_all(struct yconf *y, struct pullconf *c)
{
	yaml_node_t *root = yconf_root(y);

	if (yconf_map(y, root, "", top_keys, top_required) == -1 ||
	    yconf_str(y, root, "", "node", &c->node) == -1 ||
	    yconf_str(y, root, "", "state_dir", &c->state_dir) == -1 ||
	    yconf_uint(y, root, "", "grace", 0, 600, &c->grace) == -1 ||
	    yconf_str(y, root, "", "secret_key", &c->secret_key) == -1 ||
	    load_keys(y, root, c) == -1 || load_fetch(y, root, &c->fetch) == -1)
		return -1;
	if (c->secret_key != NULL && c->secret_key[0] != '/')
		return yconf_error(y, yconf_get(y, root, "secret_key"), "secret_key",
		    "secret_key \"%s\" must be an absolute path", c->secret_key);
	if (bundle_name_ok(c->node) == -1)
		return yconf_error(y, yconf_get(y, root, "node"), "node",
		    "invalid node name \"%s\"", c->node);
	LOAD_LIST(y, root, "", "services", PULL_MAX_SERVICES, c->services,
	    c->nservices, load_service);
	if (c->state_dir == NULL && (c->state_dir = strdup("/var/lib/certpull")) == NULL)
		return err_set(y->e, "out of memory");
	if (check_endpoint_items(y, c) == -1)
		return -1;
	return check_files_unique(y, c);
}

/* Loads from a file (path) or from text (text != NULL, for tests and fuzzing). */
static int
load(const char *path, const char *text, size_t len, struct pullconf *c,
    struct err *e)
{
	struct yconf y;
	int rc;

	memset(c, 0, sizeof(*c));
	c->grace = 30;
	if ((c->file = strdup(path)) == NULL)
		return err_set(e, "out of memory");
	rc = text ? yconf_load_string(&y, path, text, len, e) : yconf_load(&y, path, e);
	if (rc == 0)
		rc = load_all(&y, c);
	yconf_free(&y);
	if (rc == -1)
		pullconf_free(c);
	return rc;
}

int
pullconf_load(const char *path, struct pullconf *c, struct err *e)
{
	return load(path, NULL, 0, c, e);
}

int
pullconf_load_string(const char *name, const char *text, size_t len,
    struct pullconf *c, struct err *e)
{
	return load(name, text, len, c, e);
}

int
pullconf_open_key(const struct pullconf *c, struct seal_key *k, struct err *e)
{
	if (c->secret_key == NULL)
		return 0;
	return seal_load_secret(c->secret_key, k, e) == -1 ? -1 : 1;
}

static void
service_free(struct service *s)
{
	size_t i;

	for (i = 0; s->files != NULL && i < s->nfiles; i++) {
		free(s->files[i].path);
		free(s->files[i].item);
		free(s->files[i].password_file);
	}
	for (i = 0; s->endpoints != NULL && i < s->nendpoints; i++) {
		free(s->endpoints[i].address);
		free(s->endpoints[i].sni);
		free(s->endpoints[i].item);
	}
	free(s->files);
	free(s->endpoints);
	free(s->name);
	free(s->haproxy_socket);
	yconf_strv_free(s->check);
	yconf_strv_free(s->reload);
}

void
pullconf_free(struct pullconf *c)
{
	size_t i;

	for (i = 0; c->services != NULL && i < c->nservices; i++)
		service_free(&c->services[i]);
	free(c->services);
	free(c->file);
	free(c->node);
	free(c->state_dir);
	yconf_strv_free(c->fetch.urls);
	free(c->fetch.ca_file);
	free(c->secret_key);
	free(c->fetch.host);
	free(c->fetch.user);
	free(c->fetch.identity);
	free(c->fetch.known_hosts);
	free(c->fetch.path);
	memset(c, 0, sizeof(*c));
}
