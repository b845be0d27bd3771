#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_dane.h"
#include "audit_push.h"
#include "deliver.h"
#include "fsutil.h"
#include "jsonscan.h"
#include "log.h"
#include "pushconf.h"
#include "run.h"
#include "source.h"
#include "ssh.h"
#include "tstate.h"

#define STATUS_CAP	(256 * 1024)	/* a hostile target cannot make us hold more */
#define STATUS_FILES	256		/* services x files in certpull.yaml */

/* What the audit knows of a certificate source: its current certificates. */
struct source_ref {
	int	read;			/* the chain could be read */
	char	leaf[CERT_FPR_LEN];
	char	chain1[CERT_FPR_LEN];	/* the first intermediate, "" if none */
};

/* One unit of parallel work: a target's status, or one of its endpoints. */
struct job {
	const struct target		*t;
	const struct target_endpoint	*ep;	/* NULL: the target's status */
	struct audit_list		 lines;
};

struct push_audit {
	const struct audit_ctx	*a;
	const struct pushconf	*c;
	struct source_ref	*refs;		/* parallel to c->certs */
	struct job		*jobs;
};

/* A file as "certpull status --json" describes it. */
struct inst_file {
	char		service[64];
	char		path[AUDIT_WHERE_MAX];
	char		item[64];
	char		format[16];
	char		subject[256];
	char		names[512];
	char		not_after[32];
	char		sha256[CERT_FPR_LEN];
	char		key[32];
	char		error[512];
	unsigned	seen;		/* keys read, one bit each */
};

#define FIELD(f) { #f, offsetof(struct inst_file, f), sizeof(((struct inst_file *)0)->f) }
static const struct {
	const char	*key;
	size_t		 off;
	size_t		 len;
} file_fields[] = {
	FIELD(service), FIELD(path), FIELD(item), FIELD(format), FIELD(subject),
	FIELD(names), FIELD(not_after), FIELD(sha256), FIELD(key), FIELD(error),
};
#define NFIELDS (sizeof(file_fields) / sizeof(file_fields[0]))

struct status_answer {
	char		 node[64];
	char		 serial[32];
	char		 step[32];	/* a node that could not answer: where, */
	char		 error[400];	/* and its own words */
	struct inst_file *files;
	size_t		 n;
	int		 overflow;	/* more files than STATUS_FILES, or no memory */
};

/*
 * Reads a source under the rules the bundle builder applies (source.h),
 * so that the audit flags what a push would refuse.  0, or -1 with e set.
 */
static int
read_source(const char *path, const struct source_opts *o,
    const struct source_guard *g, struct buf *out, int secret, struct err *e)
{
	struct source_rules r = { o, secret, g };

	return source_read(path, &r, out, e);
}

/* The cert, chain ("" if none) and key paths of a source. */
static void
source_paths(const struct cert_source *s, char cert[PATH_MAX], char chain[PATH_MAX],
    char key[PATH_MAX])
{
	if (s->lineage != NULL) {
		snprintf(cert, PATH_MAX, "%s/cert.pem", s->lineage);
		snprintf(chain, PATH_MAX, "%s/chain.pem", s->lineage);
		snprintf(key, PATH_MAX, "%s/privkey.pem", s->lineage);
	} else {
		snprintf(cert, PATH_MAX, "%s", s->cert);
		snprintf(chain, PATH_MAX, "%s", s->chain ? s->chain : "");
		snprintf(key, PATH_MAX, "%s", s->key);
	}
}

static void
audit_source(const struct audit_ctx *a, struct audit_list *l, const struct cert_source *s,
    const struct source_guard *g, struct source_ref *ref)
{
	char cert[PATH_MAX], chain[PATH_MAX], key[PATH_MAX];
	struct buf pem = { 0 }, keypem = { .secret = 1 };
	struct audit_line *line = audit_add(l, AUDIT_SOURCE, "%s", s->name);
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *k = NULL;
	struct err e;
	X509 *leaf;

	snprintf(line->item, sizeof(line->item), "%s", s->name);
	source_paths(s, cert, chain, key);
	if (read_source(cert, &s->opts, g, &pem, 0, &e) == -1 || (chain[0] != '\0' &&
	    (buf_add_u8(&pem, '\n') == -1 ||
	    read_source(chain, &s->opts, g, &pem, 0, &e) == -1))) {
		audit_problem(line, audit_unreadable(cert, chain), "%s", e.msg);
		goto out;
	}
	if ((certs = cert_parse_chain(pem.data, pem.len, &e)) == NULL) {
		audit_problem(line, VERDICT_CRITICAL, "%s: %s", cert, e.msg);
		goto out;
	}
	leaf = sk_X509_value(certs, 0);
	audit_cert(a, line, leaf);
	audit_chain_dates(a, line, certs);
	audit_chain_complete(a, line, certs);
	audit_names(line, leaf, s->names, s->nnames);
	ref->read = 1;
	snprintf(ref->leaf, sizeof(ref->leaf), "%s", line->sha256);
	if (sk_X509_num(certs) > 1)
		cert_fingerprint(sk_X509_value(certs, 1), ref->chain1);
	if (read_source(key, &s->opts, g, &keypem, 1, &e) == -1)
		audit_problem(line, audit_unreadable(key, NULL), "private key: %s", e.msg);
	else if ((k = cert_parse_key(keypem.data, keypem.len, &e)) == NULL)
		audit_problem(line, VERDICT_CRITICAL, "private key: %s", e.msg);
	else
		audit_key_match(line, leaf, k);
out:
	EVP_PKEY_free(k);
	sk_X509_pop_free(certs, X509_free);
	buf_free(&pem);
	buf_free(&keypem);
}

static void
audit_dkim(struct audit_list *l, const struct dkim_source *s,
    const struct source_guard *g)
{
	struct buf pem = { .secret = 1 };
	struct audit_line *line = audit_add(l, AUDIT_DKIM, "%s", s->name);
	EVP_PKEY *k = NULL;
	struct err e;

	snprintf(line->item, sizeof(line->item), "%s", s->name);
	snprintf(line->u.dkim.selector, sizeof(line->u.dkim.selector), "%s", s->selector);
	snprintf(line->u.dkim.domain, sizeof(line->u.dkim.domain), "%s", s->domain);
	if (read_source(s->key, &s->opts, g, &pem, 1, &e) == -1)
		audit_problem(line, audit_unreadable(s->key, NULL), "%s", e.msg);
	else if ((k = cert_parse_key(pem.data, pem.len, &e)) == NULL)
		audit_problem(line, VERDICT_CRITICAL, "%s", e.msg);
	else {
		cert_key_desc(k, line->key, sizeof(line->key));
		if (cert_check_dkim_key(k, &e) == -1)
			audit_problem(line, VERDICT_CRITICAL, "%s", e.msg);
		else
			audit_note(line, "DKIM key");
	}
	EVP_PKEY_free(k);
	buf_free(&pem);
}

/* A new file entry; -1 (and overflow set) past STATUS_FILES. */
static int
new_file(struct status_answer *s)
{
	struct inst_file *v;

	if (s->n == STATUS_FILES ||
	    (v = realloc(s->files, (s->n + 1) * sizeof(*v))) == NULL) {
		s->overflow = 1;
		return -1;
	}
	s->files = v;
	memset(&v[s->n++], 0, sizeof(*v));
	return 0;
}

/*
 * json_scan callback.  The answer is untrusted: each value is copied
 * bounded, and a key seen again starts the next file of the array.
 */
static void
on_status(void *arg, const char *path, const char *value, int is_string)
{
	struct status_answer *s = arg;
	struct inst_file *f;
	size_t i;

	if (strcmp(path, "node") == 0 && is_string)
		node_text(s->node, sizeof(s->node), value, strlen(value));
	else if (strcmp(path, "serial") == 0 && !is_string)
		snprintf(s->serial, sizeof(s->serial), "%s", value);
	else if (strcmp(path, "step") == 0 && is_string)
		node_text(s->step, sizeof(s->step), value, strlen(value));
	else if (strcmp(path, "error") == 0 && is_string)
		node_text(s->error, sizeof(s->error), value, strlen(value));
	if (strncmp(path, "files.", 6) != 0 || s->overflow)
		return;
	for (i = 0; i < NFIELDS; i++)
		if (strcmp(path + 6, file_fields[i].key) == 0)
			break;
	if (i == NFIELDS)
		return;
	if ((s->n == 0 || (s->files[s->n - 1].seen & (1u << i))) && new_file(s) == -1)
		return;
	f = &s->files[s->n - 1];
	f->seen |= 1u << i;
	/* Escaped here, where it enters: paths, names and errors reach every output. */
	if (is_string)
		node_text((char *)f + file_fields[i].off, file_fields[i].len, value,
		    strlen(value));
}

/* Parses certpull's answer.  0, or -1 if it is not one valid JSON object. */
static int
parse_status(const struct buf *answer, struct status_answer *s, uint64_t *serial)
{
	char *end;

	if (answer->len == 0 || json_scan((const char *)answer->data, answer->len,
	    on_status, s) == -1 || s->serial[0] < '0' || s->serial[0] > '9')
		return -1;
	errno = 0;
	*serial = strtoull(s->serial, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* Asks the target's certpull for "status --json".  0, or -1 with e set. */
static int
fetch_status(const struct target *t, struct buf *out, int *status, struct err *e)
{
	struct ssh_target st = { t->host, (unsigned)t->port, t->user, t->identity,
	    t->known_hosts, (unsigned)t->timeout };
	struct ssh_conn c;
	int rc = -1;

	if (t->type == TARGET_LOCAL) {
		char *argv[] = { t->certpull, "-c", t->certpull_config, "status", "--json",
		    NULL };

		return run_argv_io(argv, (unsigned)t->timeout, NULL, 0, out, STATUS_CAP,
		    status, e);
	}
	if (ssh_open(&c, &st, e) == 0)
		rc = ssh_exec(&c, "status", NULL, 0, out, STATUS_CAP, NULL, status, e);
	ssh_close(&c);
	return rc;
}

static const struct source_ref *
ref_of(const struct push_audit *pa, const char *item)
{
	const struct cert_source *s = pushconf_cert(pa->c, item);

	return s != NULL ? &pa->refs[s - pa->c->certs] : NULL;
}

static time_t
parse_iso(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return 0;
	return timegm(&tm);
}

/* An installed file, compared with the current source of its item. */
static void
audit_installed(const struct push_audit *pa, struct audit_list *l,
    const struct target *t, const struct inst_file *f)
{
	struct audit_line *line = audit_add(l, AUDIT_INSTALLED, "%s:%s", t->name, f->path);
	const struct source_ref *ref = ref_of(pa, f->item);
	int chain = strcmp(f->format, "chain") == 0;
	const char *want;

	snprintf(line->item, sizeof(line->item), "%s", f->item);
	snprintf(line->subject, sizeof(line->subject), "%s", f->subject);
	snprintf(line->names, sizeof(line->names), "%s", f->names);
	snprintf(line->sha256, sizeof(line->sha256), "%s", f->sha256);
	snprintf(line->key, sizeof(line->key), "%s", f->key);
	if (f->error[0] != '\0') {
		audit_problem(line, VERDICT_CRITICAL, "%s", f->error);
		return;
	}
	if (f->not_after[0] != '\0') {
		line->not_after = parse_iso(f->not_after);
		audit_expiry(pa->a, line);
	}
	if (f->sha256[0] == '\0') {
		audit_note(line, "%s file", f->format);
		return;
	}
	if (ref == NULL || !ref->read) {
		audit_note(line, ref ? "source unreadable: not compared" :
		    "item not among the certificates of %s: not compared", pa->c->file);
		return;
	}
	want = chain ? ref->chain1 : ref->leaf;
	snprintf(line->expected, sizeof(line->expected), "%s", want);
	line->mismatch = strcmp(f->sha256, want) != 0;
	if (line->mismatch)
		audit_problem(line, VERDICT_CRITICAL, "holds another %s than the current "
		    "source: %.23s..., not %.23s...", chain ? "chain" : "certificate",
		    f->sha256, want[0] ? want : "(none)");
	else
		audit_note(line, "same as the source");
}

/* The target line: reachable, answering as itself, serial current. */
static void
judge_target(struct audit_line *line, const struct target *t,
    const struct status_answer *s, const struct tstate *ts)
{
	uint64_t inst = line->u.target.installed;

	if (strcmp(s->node, t->name) != 0)
		audit_problem(line, VERDICT_CRITICAL, "the target answers as node \"%s\"",
		    s->node);
	if (s->overflow)
		audit_problem(line, VERDICT_UNKNOWN, "more than %d files in the answer: "
		    "the rest is not audited", STATUS_FILES);
	if (ts->built == 0)
		audit_problem(line, VERDICT_WARNING, "no bundle was built for this target "
		    "yet (certpush --now)");
	else if (inst < ts->built)
		audit_problem(line, VERDICT_WARNING, "behind: installed serial %" PRIu64
		    ", current %" PRIu64 "%s%s", inst, ts->built,
		    ts->error[0] ? "; last error: " : "", ts->error);
	else if (inst > ts->built)
		audit_problem(line, VERDICT_WARNING, "installed serial %" PRIu64 " is newer "
		    "than certpush's %" PRIu64 " (state lost?)", inst, ts->built);
	else
		audit_note(line, "installed serial %" PRIu64 " is current", inst);
}

static void
audit_target(const struct push_audit *pa, struct job *j)
{
	const struct target *t = j->t;
	struct status_answer s = { 0 };
	struct buf answer = { 0 };
	struct audit_line *line;
	struct tstate ts;
	struct err e, se;
	int status = -1, fetched, parsed = 0, have_state;
	uint64_t serial = 0;
	size_t i;

	have_state = tstate_load(pa->c->state_dir, t->name, &ts, &se) == 0;
	if (!have_state)
		memset(&ts, 0, sizeof(ts));
	if ((fetched = fetch_status(t, &answer, &status, &e) == 0))
		parsed = parse_status(&answer, &s, &serial) == 0;
	/* Lines move when the list grows: this one is done before the next. */
	line = audit_add(&j->lines, AUDIT_TARGET, "%s", t->name);
	line->u.target.current = ts.built;
	if (!have_state)
		audit_problem(line, VERDICT_UNKNOWN, "%s", se.msg);
	if (!fetched) {
		line->reachable = 0;
		audit_problem(line, VERDICT_CRITICAL, "unreachable: %s", e.msg);
	} else if (!parsed && s.error[0] != '\0') {
		line->reachable = 1;
		audit_problem(line, VERDICT_UNKNOWN, "certpull status failed at %s: %s",
		    s.step[0] ? s.step : "?", s.error);
	} else if (!parsed) {
		size_t len = answer.len;
		char said[160];

		/* Whatever it said, escaped and cut: it may be a clue. */
		while (len > 0 && (answer.data[len - 1] == '\n' || answer.data[len - 1] == '\r'))
			len--;
		node_text(said, sizeof(said), (const char *)answer.data, len);
		line->reachable = 1;
		audit_problem(line, VERDICT_UNKNOWN, "certpull status answered with exit "
		    "status %d and no valid JSON%s%s%s", status, len ? ": \"" : "", said,
		    len ? "\"" : "");
	} else {
		line->reachable = 1;
		line->u.target.known = 1;
		line->u.target.installed = serial;
		if (status != 0)
			audit_problem(line, VERDICT_UNKNOWN, "certpull status exited with "
			    "status %d", status);
		judge_target(line, t, &s, &ts);
		for (i = 0; i < s.n; i++)
			audit_installed(pa, &j->lines, t, &s.files[i]);
	}
	free(s.files);
	buf_free(&answer);
}

/* The item an endpoint must serve: its own, or the target's first certificate. */
static const char *
endpoint_item(const struct pushconf *c, const struct target *t,
    const struct target_endpoint *ep)
{
	size_t i;

	if (ep->item != NULL)
		return ep->item;
	for (i = 0; i < t->nitems; i++)
		if (pushconf_cert(c, t->items[i]) != NULL)
			return t->items[i];
	return NULL;
}

static void
audit_push_endpoint(const struct push_audit *pa, struct job *j)
{
	const struct target_endpoint *ep = j->ep;
	const char *item = endpoint_item(pa->c, j->t, ep);
	const struct cert_source *s = item ? pushconf_cert(pa->c, item) : NULL;
	const struct source_ref *ref = item ? ref_of(pa, item) : NULL;
	struct audit_endpoint ae = { ep->address, (unsigned)ep->port, ep->sni,
	    ep->starttls, NULL, NULL, 0 };
	struct audit_line *line;

	if (s != NULL) {
		ae.names = s->names;
		ae.nnames = s->nnames;
	}
	if (ref != NULL && ref->read)
		ae.expected = ref->leaf;
	line = audit_add_endpoint(&j->lines, j->t->name, &ae);
	snprintf(line->item, sizeof(line->item), "%s", item ? item : "");
	if (ae.expected == NULL)
		audit_note(line, "source unreadable: not compared");
	audit_endpoint(pa->a, line, &ae);
}

static void
run_job(void *arg, size_t i)
{
	struct push_audit *pa = arg;
	struct job *j = &pa->jobs[i];

	if (j->ep != NULL)
		audit_push_endpoint(pa, j);
	else
		audit_target(pa, j);
}

/* Sources, DKIM keys, then targets and endpoints in parallel. */
static void
audit_config(const struct audit_ctx *a, const struct pushconf *c, struct audit_list *l)
{
	struct push_audit pa = { a, c, calloc(c->ncerts + 1, sizeof(*pa.refs)), NULL };
	struct source_guard *g = malloc(sizeof(*g));
	size_t i, k, n = c->ntargets;

	for (i = 0; i < c->ntargets; i++)
		n += c->targets[i].nendpoints;
	if (g == NULL || pa.refs == NULL ||
	    (pa.jobs = calloc(n, sizeof(*pa.jobs))) == NULL) {
		l->oom = 1;
		free(pa.refs);
		free(g);
		return;
	}
	source_guard_init(g, c);
	for (i = 0; i < c->ncerts; i++)
		audit_source(a, l, &c->certs[i], g, &pa.refs[i]);
	for (i = 0; i < c->ndkims; i++)
		audit_dkim(l, &c->dkims[i], g);
	free(g);
	/* Endpoints first: a silent one takes the longest. */
	for (i = 0, n = 0; i < c->ntargets; i++)
		for (k = 0; k < c->targets[i].nendpoints; k++) {
			pa.jobs[n].t = &c->targets[i];
			pa.jobs[n++].ep = &c->targets[i].endpoints[k];
		}
	for (i = 0; i < c->ntargets; i++)
		pa.jobs[n++].t = &c->targets[i];
	audit_parallel(n, c->concurrency, run_job, &pa);
	for (i = 0; i < n; i++)
		audit_list_move(l, &pa.jobs[i].lines);
	free(pa.jobs);
	free(pa.refs);
	audit_dane(a, c, l);
}

int
push_audit(const char *config, int argc, char **argv)
{
	struct audit_opts o;
	struct audit_ctx a;
	struct audit_list l = { 0 };
	struct pushconf c;
	struct err e;
	int rc, loaded = 0;

	if (audit_parse_args("certpush", argc, argv, &o) == -1)
		return VERDICT_UNKNOWN;
	if (o.npaths == 0) {
		if (pushconf_load(config, &c, &e) == 0)
			loaded = 1;
		else {
			log_warnx("%s", e.msg);
			audit_problem(audit_add(&l, AUDIT_CONFIG, "%s", config),
			    VERDICT_UNKNOWN, "%s", e.msg);
		}
	}
	if (audit_ctx_init(&a, "certpush", &o, loaded ? c.ca_file : NULL, &e) == -1) {
		log_warnx("audit: %s", e.msg);
		audit_problem(audit_add(&l, AUDIT_CONFIG, "ca_file"), VERDICT_UNKNOWN,
		    "%s", e.msg);
	}
	if (o.npaths > 0)
		audit_files(&a, &l, o.paths, o.npaths);
	else if (loaded)
		audit_config(&a, &c, &l);
	rc = audit_output(&a, &l);
	if (loaded)
		pushconf_free(&c);
	audit_list_free(&l);
	audit_ctx_free(&a);
	return rc;
}
