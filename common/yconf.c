#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "yconf.h"

#define CONFIG_CAP	(1024 * 1024)

int
yconf_error(struct yconf *y, yaml_node_t *node, const char *where,
    const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*where == '\0')
		where = "(top level)";
	if (node == NULL)
		return err_set(y->e, "%s: %s: %s", y->file, where, msg);
	return err_set(y->e, "%s:%zu:%zu: %s: %s", y->file,
	    node->start_mark.line + 1, node->start_mark.column + 1, where, msg);
}

/*
 * The 1-based line and column of byte offset off in text, counting
 * columns in characters as libyaml does (UTF-8 continuation bytes do not
 * start one).  libyaml gives reader errors (bad UTF-8, control
 * characters) only as a byte offset, with an empty mark.
 */
static void
offset_mark(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

/* Reports the parser's error at its real position.  Returns -1. */
static int
parser_error(yaml_parser_t *p, const char *name, const char *text, size_t len,
    struct err *e)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;

	if (p->error == YAML_MEMORY_ERROR)
		return err_set(e, "%s: out of memory", name);
	if (p->error == YAML_READER_ERROR)
		offset_mark(text, len, p->problem_offset, &line, &col);
	return err_set(e, "%s:%zu:%zu: YAML syntax error: %s%s%s", name, line, col,
	    p->problem ? p->problem : "invalid document",
	    p->context ? " " : "", p->context ? p->context : "");
}

/* Reports event's position in name.  Returns -1. */
static int
event_error(const yaml_event_t *ev, const char *name, const char *msg,
    struct err *e)
{
	return err_set(e, "%s:%zu:%zu: %s", name, ev->start_mark.line + 1,
	    ev->start_mark.column + 1, msg);
}

/*
 * Reads text's events once before the document is built, and refuses what
 * yaml_parser_load would silently accept or take long over: a second
 * document (yaml_parser_load reads the first and ignores the rest), and
 * nesting deeper than YCONF_MAX_DEPTH (libyaml's scanner is quadratic in
 * the depth: 100,000 levels took 20 s).  The scanner runs only as far as
 * the events read, so a refusal comes at once.  0, or -1 with e set.
 */
static int
prescan(const char *name, const char *text, size_t len, struct err *e)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&parser))
		return err_set(e, "%s: out of memory", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_error(&parser, name, text, len, e);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = event_error(&ev, name, "a second YAML document "
				    "(\"---\"): a configuration is one document", e);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > YCONF_MAX_DEPTH)
				rc = event_error(&ev, name, "nested deeper than "
				    YCONF_MAX_DEPTH_TEXT " levels", e);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rc;
}

int
yconf_load_string(struct yconf *y, const char *name, const char *text,
    size_t len, struct err *e)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	int ok;

	memset(y, 0, sizeof(*y));
	y->file = name;
	y->e = e;
	if (prescan(name, text, len, e) == -1)
		return -1;
	if (!yaml_parser_initialize(&parser))
		return err_set(e, "%s: out of memory", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ok = yaml_parser_load(&parser, &y->doc);
	if (!ok) {
		parser_error(&parser, name, text, len, e);
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	y->loaded = 1;
	root = yaml_document_get_root_node(&y->doc);
	if (root == NULL)
		return err_set(e, "%s: empty configuration", name);
	if (root->type != YAML_MAPPING_NODE)
		return yconf_error(y, root, "(top level)", "expected a mapping of keys");
	return 0;
}

int
yconf_load(struct yconf *y, const char *path, struct err *e)
{
	struct buf text = { 0 };
	struct stat st;
	int rc;

	memset(y, 0, sizeof(*y));
	if (file_read_stat(path, CONFIG_CAP, &text, &st, e) == -1)
		return -1;
	/* Whoever can write the config decides which keys are trusted. */
	if (((st.st_mode & 022) != 0 ||
	    (st.st_uid != 0 && st.st_uid != geteuid()))) {
		buf_free(&text);
		return err_set(e, "%s: writable by others or owned by another user "
		    "(uid %u, mode %04o): refusing it", path, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	}
	rc = yconf_load_string(y, path, text.len ? (char *)text.data : "",
	    text.len, e);
	buf_free(&text);
	return rc;
}

void
yconf_free(struct yconf *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = 0;
}

yaml_node_t *
yconf_root(struct yconf *y)
{
	return yaml_document_get_root_node(&y->doc);
}

static const char *
scalar(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int
in_list(const char *s, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

int
yconf_map(struct yconf *y, yaml_node_t *node, const char *where,
    const char *const *allowed, const char *const *required)
{
	yaml_node_pair_t *p, *q;

	if (node->type != YAML_MAPPING_NODE)
		return yconf_error(y, node, where, "expected a mapping");
	for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);

		if (k->type != YAML_SCALAR_NODE)
			return yconf_error(y, k, where, "keys must be plain words");
		if (!in_list(scalar(k), allowed))
			return yconf_error(y, k, where, "unknown key \"%s\"", scalar(k));
		for (q = node->data.mapping.pairs.start; q < p; q++)
			if (strcmp(scalar(yaml_document_get_node(&y->doc, q->key)),
			    scalar(k)) == 0)
				return yconf_error(y, k, where, "duplicate key \"%s\"",
				    scalar(k));
	}
	for (; required != NULL && *required != NULL; required++)
		if (yconf_get(y, node, *required) == NULL)
			return yconf_error(y, node, where, "missing required key \"%s\"",
			    *required);
	return 0;
}

yaml_node_t *
yconf_get(struct yconf *y, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);

		if (k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0)
			return yaml_document_get_node(&y->doc, p->value);
	}
	return NULL;
}

int
yconf_seq(struct yconf *y, yaml_node_t *node, const char *where, size_t *n)
{
	if (node->type != YAML_SEQUENCE_NODE)
		return yconf_error(y, node, where, "expected a list");
	*n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	return 0;
}

yaml_node_t *
yconf_item(struct yconf *y, yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

/* The scalar text of key, NULL if absent; *node gets the value node. */
static int
get_scalar(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    const char **text, yaml_node_t **node)
{
	char path[256];

	*text = NULL;
	if ((*node = yconf_get(y, map, key)) == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", where, *where ? "." : "", key);
	if ((*node)->type != YAML_SCALAR_NODE)
		return yconf_error(y, *node, path, "expected a single value");
	if ((*node)->data.scalar.length != strlen(scalar(*node)))
		return yconf_error(y, *node, path, "contains a NUL byte");
	*text = scalar(*node);
	return 0;
}

#define KEYPATH(buf, where, key) \
	snprintf((buf), sizeof(buf), "%s%s%s", (where), *(where) ? "." : "", (key))

int
yconf_str(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    char **out)
{
	yaml_node_t *n;
	const char *s;
	char path[256];

	if (get_scalar(y, map, where, key, &s, &n) == -1 || s == NULL)
		return n == NULL ? 0 : -1;
	KEYPATH(path, where, key);
	if (*s == '\0')
		return yconf_error(y, n, path, "must not be empty");
	free(*out);
	if ((*out = strdup(s)) == NULL)
		return yconf_error(y, n, path, "out of memory");
	return 0;
}

int
yconf_uint(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    unsigned long min, unsigned long max, unsigned long *out)
{
	yaml_node_t *n;
	const char *s;
	char path[256], *end;
	unsigned long v;

	if (get_scalar(y, map, where, key, &s, &n) == -1 || s == NULL)
		return n == NULL ? 0 : -1;
	KEYPATH(path, where, key);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0)
		return yconf_error(y, n, path, "\"%s\" is not a whole number", s);
	if (v < min || v > max)
		return yconf_error(y, n, path, "%lu is out of range (%lu to %lu)",
		    v, min, max);
	*out = v;
	return 0;
}

int
yconf_bool(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    int *out)
{
	yaml_node_t *n;
	const char *s;
	char path[256];

	if (get_scalar(y, map, where, key, &s, &n) == -1 || s == NULL)
		return n == NULL ? 0 : -1;
	KEYPATH(path, where, key);
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
		*out = 0;
	else
		return yconf_error(y, n, path, "\"%s\" is not true or false", s);
	return 0;
}

int
yconf_mode(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    mode_t *out)
{
	yaml_node_t *n;
	const char *s;
	char path[256];
	size_t i;

	if (get_scalar(y, map, where, key, &s, &n) == -1 || s == NULL)
		return n == NULL ? 0 : -1;
	KEYPATH(path, where, key);
	/* Insist on the leading 0 so that 640 is never read as decimal. */
	if (strlen(s) != 4 || s[0] != '0')
		return yconf_error(y, n, path, "\"%s\" is not an octal mode like 0640", s);
	for (i = 1; i < 4; i++)
		if (s[i] < '0' || s[i] > '7')
			return yconf_error(y, n, path,
			    "\"%s\" is not an octal mode like 0640", s);
	*out = (mode_t)strtoul(s, NULL, 8);
	return 0;
}

static int
numeric(const char *s, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return *end == '\0' && errno == 0 && *v < UINT_MAX;
}

/* account_id: the uid or gid that a name or number names, or -1. */
static long long
account_id(const char *s, bool group)
{
	unsigned long v;
	struct passwd *pw;
	struct group *gr;

	if (group) {
		gr = numeric(s, &v) ? getgrgid((gid_t)v) : getgrnam(s);
		return gr == NULL ? -1 : (long long)gr->gr_gid;
	}
	pw = numeric(s, &v) ? getpwuid((uid_t)v) : getpwnam(s);
	return pw == NULL ? -1 : (long long)pw->pw_uid;
}

/* account: KEY names a user or group that must exist: 1 with its id, 0
 * when KEY is absent, -1 on error. */
static int
account(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    bool group, long long *out)
{
	yaml_node_t *n;
	const char *s;
	char path[256];
	long long id;

	if (get_scalar(y, map, where, key, &s, &n) == -1 || s == NULL)
		return n == NULL ? 0 : -1;
	KEYPATH(path, where, key);
	id = account_id(s, group);
	if (id < 0)
		return yconf_error(y, n, path, "unknown %s \"%s\"",
		    group ? "group" : "user", s);
	*out = id;
	return 1;
}

int
yconf_user(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    uid_t *out)
{
	long long id;
	int rc = account(y, map, where, key, false, &id);

	if (rc == 1)
		*out = (uid_t)id;
	return rc == -1 ? -1 : 0;
}

int
yconf_group(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    gid_t *out)
{
	long long id;
	int rc = account(y, map, where, key, true, &id);

	if (rc == 1)
		*out = (gid_t)id;
	return rc == -1 ? -1 : 0;
}

void
yconf_strv_free(char **v)
{
	char **p;

	for (p = v; p != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

int
yconf_strv(struct yconf *y, yaml_node_t *map, const char *where, const char *key,
    size_t max, char ***out, size_t *count)
{
	yaml_node_t *seq = yconf_get(y, map, key), *it;
	char path[256];
	char **v;
	size_t n = 0, i;

	if (seq == NULL)
		return 0;
	KEYPATH(path, where, key);
	if (yconf_seq(y, seq, path, &n) == -1)
		return -1;
	if (n == 0 || n > max)
		return yconf_error(y, seq, path, "needs 1 to %zu values", max);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return yconf_error(y, seq, path, "out of memory");
	for (i = 0; i < n; i++) {
		it = yconf_item(y, seq, i);
		if (it->type != YAML_SCALAR_NODE || *scalar(it) == '\0') {
			yconf_strv_free(v);
			return yconf_error(y, it, path, "item %zu must be a non-empty value",
			    i + 1);
		}
		if ((v[i] = strdup(scalar(it))) == NULL) {
			yconf_strv_free(v);
			return yconf_error(y, it, path, "out of memory");
		}
	}
	yconf_strv_free(*out);
	*out = v;
	if (count != NULL)
		*count = n;
	return 0;
}
