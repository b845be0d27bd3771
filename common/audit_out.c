/*
 * The audit's outputs: the table, JSON, Prometheus text exposition and
 * the Nagios plugin line, and writing them out.  See audit.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

#define COL_WHERE_MAX	64
#define COL_NAME_MAX	40

struct counts {
	size_t		 n[4];		/* by verdict */
	int64_t		 min_days;	/* AUDIT_DAYS_NONE if no certificate */
	enum verdict	 overall;
};

/* Appends formatted text to b.  0, or -1 if memory is exhausted. */
static int __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	char small[1024], *big;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

/*
 * Copies src to dst with control characters replaced by '?': file names
 * and a target's answer must not reach a terminal as escape sequences.
 */
static const char *
safe(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
	return dst;
}

static int
line_cmp(const void *pa, const void *pb)
{
	const struct audit_line *a = *(const struct audit_line *const *)pa;
	const struct audit_line *b = *(const struct audit_line *const *)pb;
	int ra = verdict_rank(a->verdict), rb = verdict_rank(b->verdict);

	if (ra != rb)
		return rb - ra;
	if ((a->not_after == 0) != (b->not_after == 0))
		return a->not_after == 0 ? 1 : -1;
	if (a->not_after != b->not_after)
		return a->not_after < b->not_after ? -1 : 1;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	return strcmp(a->where, b->where);
}

const struct audit_line **
audit_sorted(const struct audit_list *l)
{
	const struct audit_line **v = calloc(l->n + 1, sizeof(*v));
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	qsort(v, l->n, sizeof(*v), line_cmp);
	return v;
}

static void
count(const struct audit_ctx *a, const struct audit_list *l, struct counts *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->min_days = AUDIT_DAYS_NONE;
	for (i = 0; i < l->n; i++) {
		int64_t d = audit_days_left(a, &l->v[i]);

		c->n[l->v[i].verdict & 3]++;
		if (d != AUDIT_DAYS_NONE && (c->min_days == AUDIT_DAYS_NONE || d < c->min_days))
			c->min_days = d;
	}
	c->overall = audit_overall(l);
}

static void
iso_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

/* The common name of an RFC 2253 subject, else its first DNS name. */
static void
short_name(const struct audit_line *l, char *out, size_t cap)
{
	const char *p = l->subject, *cn = NULL;

	if (l->kind == AUDIT_DKIM) {
		snprintf(out, cap, "%s._domainkey.%s", l->u.dkim.selector, l->u.dkim.domain);
		return;
	}
	for (; p != NULL && *p != '\0'; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (strncmp(p, "CN=", 3) == 0) {
			cn = p + 3;
			break;
		}
	if (cn != NULL)
		snprintf(out, cap, "%.*s", (int)strcspn(cn, ","), cn);
	else if (l->names[0] != '\0')
		snprintf(out, cap, "%.*s", (int)strcspn(l->names, ","), l->names);
	else
		snprintf(out, cap, "%s", l->subject[0] ? l->subject : "-");
}

static const char *
chain_word(enum chain_state c)
{
	static const char *const words[] = { NULL, "complete", "incomplete",
	    "out of order", "verified", "unverified" };

	return (unsigned)c <= CHAIN_UNVERIFIED ? words[c] : NULL;
}

/* Problems, or for a line without any: note, key, chain, key match. */
static void
detail(const struct audit_line *l, char *out, size_t cap)
{
	const char *chain = chain_word(l->chain);

	if (l->problems[0] != '\0') {
		snprintf(out, cap, "%s", l->problems);
		return;
	}
	snprintf(out, cap, "%s%s%s%s%s%s%s", l->note, l->note[0] && l->key[0] ? "; " : "",
	    l->key, chain ? "; chain " : "", chain ? chain : "",
	    l->key_match == 1 ? "; key matches" : "",
	    l->note[0] || l->key[0] || chain ? "" : "-");
}

static const char *
color_of(enum verdict v)
{
	static const char *const colors[] = { "\033[32m", "\033[33m", "\033[1;31m",
	    "\033[35m" };

	return colors[v & 3];
}

static int
render_table(const struct audit_ctx *a, const struct audit_list *l,
    const struct audit_line **v, const struct counts *c, int color, struct buf *b)
{
	int wwhere = 5, wname = 4, wdays = 4, rc = 0;
	char name[256], det[AUDIT_MSG_MAX + 256], days[24], date[32];
	char where[AUDIT_WHERE_MAX], sname[256], sdet[sizeof(det)];
	size_t i;

	for (i = 0; i < l->n; i++) {
		int len = (int)strlen(v[i]->where);

		short_name(v[i], name, sizeof(name));
		if (len > wwhere)
			wwhere = len > COL_WHERE_MAX ? COL_WHERE_MAX : len;
		if ((int)strlen(name) > wname)
			wname = strlen(name) > COL_NAME_MAX ? COL_NAME_MAX : (int)strlen(name);
		len = snprintf(days, sizeof(days), "%lld", (long long)audit_days_left(a, v[i]));
		if (audit_days_left(a, v[i]) != AUDIT_DAYS_NONE && len > wdays)
			wdays = len;
	}
	rc |= bprintf(b, "%-8s  %*s  %-10s  %-9s  %-*s  %-*s  %s\n", "VERDICT", wdays,
	    "DAYS", "NOT AFTER", "KIND", wwhere, "WHERE", wname, "NAME", "DETAIL");
	for (i = 0; i < l->n; i++) {
		const struct audit_line *x = v[i];
		int64_t d = audit_days_left(a, x);

		short_name(x, name, sizeof(name));
		detail(x, det, sizeof(det));
		snprintf(days, sizeof(days), d == AUDIT_DAYS_NONE ? "-" : "%lld",
		    (long long)d);
		iso_time(x->not_after, date);
		date[10] = '\0';
		rc |= bprintf(b, "%s%s%s%*s  %*s  %-10s  %-9s  %-*s  %-*s  %s\n",
		    color ? color_of(x->verdict) : "", verdict_name(x->verdict),
		    color ? "\033[0m" : "", 8 - (int)strlen(verdict_name(x->verdict)), "",
		    wdays, days, x->not_after ? date : "-", audit_kind_name(x->kind),
		    wwhere, safe(where, sizeof(where), x->where), wname,
		    safe(sname, sizeof(sname), name), safe(sdet, sizeof(sdet), det));
	}
	rc |= bprintf(b, "\n%s%s%s: %zu critical, %zu warning, %zu unknown, %zu ok%s\n",
	    color ? color_of(c->overall) : "", verdict_name(c->overall),
	    color ? "\033[0m" : "", c->n[VERDICT_CRITICAL], c->n[VERDICT_WARNING],
	    c->n[VERDICT_UNKNOWN], c->n[VERDICT_OK],
	    l->oom ? " (out of memory: lines are missing)" : l->n == 0 ?
	    " (nothing to audit)" : "");
	return rc;
}

static int
kv_null_str(struct buf *b, const char *key, const char *v)
{
	return buf_add_u8(b, ',') | json_kv_str(b, key, v != NULL && v[0] ? v : NULL);
}

static int
kv_time(struct buf *b, const char *key, time_t t)
{
	char s[32];

	iso_time(t, s);
	return kv_null_str(b, key, t ? s : NULL);
}

static int
kv_tri(struct buf *b, const char *key, int v)
{
	return bprintf(b, ",\"%s\":%s", key, v < 0 ? "null" : v ? "true" : "false");
}

static int
json_names(struct buf *b, const char *names)
{
	const char *p = names;
	char one[512];
	int rc = buf_add_str(b, ",\"names\":["), first = 1;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		rc |= (first ? 0 : buf_add_u8(b, ',')) | json_str(b, one);
		first = 0;
		p += n + (p[n] == ',');
	}
	return rc | buf_add_u8(b, ']');
}

static int
json_kind(struct buf *b, const struct audit_line *x)
{
	int rc = 0;

	switch (x->kind) {
	case AUDIT_TARGET:
		rc |= kv_tri(b, "reachable", x->reachable);
		rc |= x->u.target.known ? bprintf(b, ",\"serial_installed\":%llu",
		    (unsigned long long)x->u.target.installed) :
		    buf_add_str(b, ",\"serial_installed\":null");
		rc |= bprintf(b, ",\"serial_current\":%llu",
		    (unsigned long long)x->u.target.current);
		break;
	case AUDIT_ENDPOINT:
		rc |= kv_null_str(b, "address", x->u.ep.address);
		rc |= bprintf(b, ",\"port\":%u", x->u.ep.port);
		rc |= kv_null_str(b, "sni", x->u.ep.sni);
		rc |= kv_null_str(b, "starttls", starttls_name(x->u.ep.starttls));
		rc |= kv_tri(b, "reachable", x->reachable);
		rc |= kv_tri(b, "mismatch", x->mismatch);
		break;
	case AUDIT_INSTALLED:
		rc |= kv_tri(b, "mismatch", x->mismatch);
		break;
	case AUDIT_DKIM:
		rc |= kv_null_str(b, "selector", x->u.dkim.selector);
		rc |= kv_null_str(b, "domain", x->u.dkim.domain);
		break;
	default:
		break;
	}
	return rc;
}

static int
json_line(const struct audit_ctx *a, const struct audit_line *x, struct buf *b)
{
	int64_t d = audit_days_left(a, x);
	int rc = 0;

	rc |= buf_add_u8(b, '{') | json_kv_str(b, "verdict", verdict_name(x->verdict));
	rc |= kv_null_str(b, "kind", audit_kind_name(x->kind));
	rc |= kv_null_str(b, "where", x->where);
	rc |= kv_null_str(b, "item", x->item);
	rc |= kv_null_str(b, "subject", x->subject);
	rc |= kv_null_str(b, "issuer", x->issuer);
	rc |= json_names(b, x->names);
	rc |= kv_time(b, "not_before", x->not_before);
	rc |= kv_time(b, "not_after", x->not_after);
	rc |= x->not_after ? bprintf(b, ",\"not_after_epoch\":%lld,\"days_left\":%lld",
	    (long long)x->not_after, (long long)d) :
	    buf_add_str(b, ",\"not_after_epoch\":null,\"days_left\":null");
	rc |= kv_null_str(b, "key", x->key);
	rc |= kv_null_str(b, "sha256", x->sha256);
	rc |= kv_null_str(b, "expected_sha256", x->expected);
	rc |= kv_null_str(b, "chain", chain_word(x->chain));
	rc |= kv_tri(b, "key_match", x->key_match);
	rc |= json_kind(b, x);
	rc |= kv_null_str(b, "problems", x->problems);
	rc |= kv_null_str(b, "note", x->note);
	return rc | buf_add_u8(b, '}');
}

static int
render_json(const struct audit_ctx *a, const struct audit_list *l,
    const struct audit_line **v, const struct counts *c, struct buf *b)
{
	char now[32];
	size_t i;
	int rc = 0;

	iso_time(a->now, now);
	rc |= buf_add_u8(b, '{') | json_kv_str(b, "program", a->prog);
	rc |= kv_null_str(b, "time", now);
	rc |= bprintf(b, ",\"time_epoch\":%lld", (long long)a->now);
	rc |= kv_null_str(b, "verdict", verdict_name(c->overall));
	rc |= bprintf(b, ",\"exit_status\":%d,\"warn_days\":%ld,\"crit_days\":%ld,"
	    "\"counts\":{\"critical\":%zu,\"warning\":%zu,\"unknown\":%zu,\"ok\":%zu}",
	    (int)c->overall, a->o.warn_days, a->o.crit_days, c->n[VERDICT_CRITICAL],
	    c->n[VERDICT_WARNING], c->n[VERDICT_UNKNOWN], c->n[VERDICT_OK]);
	rc |= c->min_days == AUDIT_DAYS_NONE ? buf_add_str(b, ",\"min_days_left\":null") :
	    bprintf(b, ",\"min_days_left\":%lld", (long long)c->min_days);
	rc |= kv_tri(b, "incomplete", l->oom);
	rc |= buf_add_str(b, ",\"lines\":[");
	for (i = 0; i < l->n; i++)
		rc |= (i ? buf_add_u8(b, ',') : 0) | json_line(a, v[i], b);
	return rc | buf_add_str(b, "]}\n");
}

/* A label value with Prometheus escapes (backslash, quote, newline). */
static int
prom_label(struct buf *b, const char *name, const char *value, int first)
{
	int rc = bprintf(b, "%s%s=\"", first ? "" : ",", name);

	for (; *value != '\0'; value++) {
		if (*value == '\\' || *value == '"')
			rc |= buf_add_u8(b, '\\') | buf_add_u8(b, (uint8_t)*value);
		else if (*value == '\n')
			rc |= buf_add_str(b, "\\n");
		else if ((unsigned char)*value < 0x20 || *value == 0x7f)
			rc |= buf_add_u8(b, '?');
		else
			rc |= buf_add_u8(b, (uint8_t)*value);
	}
	return rc | buf_add_u8(b, '"');
}

enum prom_set { PS_CERT, PS_ALL, PS_ENDPOINT, PS_INSTALLED, PS_TARGET };

/* Whether line x has a sample in a family of set s. */
static int
prom_has(const struct audit_line *x, enum prom_set s)
{
	switch (s) {
	case PS_CERT:
		return x->not_after != 0;
	case PS_ALL:
		return 1;
	case PS_ENDPOINT:
		return x->kind == AUDIT_ENDPOINT;
	case PS_INSTALLED:
		return x->kind == AUDIT_INSTALLED && x->mismatch >= 0;
	case PS_TARGET:
		return x->kind == AUDIT_TARGET;
	}
	return 0;
}

static int
prom_labels(struct buf *b, const struct audit_line *x, enum prom_set s)
{
	char name[256];
	int rc = buf_add_u8(b, '{');

	if (s == PS_TARGET)
		return rc | prom_label(b, "target", x->where, 1) | buf_add_u8(b, '}');
	rc |= prom_label(b, "kind", audit_kind_name(x->kind), 1);
	rc |= prom_label(b, "source", x->where, 0);
	rc |= prom_label(b, "item", x->item, 0);
	if (s == PS_CERT) {
		short_name(x, name, sizeof(name));
		rc |= prom_label(b, "name", name, 0);
	}
	return rc | buf_add_u8(b, '}');
}

/* The value of family f (an index into the table of render_prom) for x. */
static long long
prom_value(const struct audit_ctx *a, const struct audit_line *x, int f)
{
	switch (f) {
	case 0:
		return (long long)x->not_after;
	case 1:
		return (long long)x->not_after - (long long)a->now;
	case 2:
		return (long long)x->verdict;
	case 3:
		return x->reachable == 1;
	case 4:
	case 5:
		return x->mismatch == 1;
	case 6:
		return x->u.target.known ? (long long)x->u.target.installed : -1;
	default:
		return (long long)x->u.target.current;
	}
}

static int
render_prom(const struct audit_ctx *a, const struct audit_list *l,
    const struct audit_line **v, const struct counts *c, struct buf *b)
{
	static const struct {
		const char	*name;
		enum prom_set	 set;
		const char	*help;
	} fam[] = {
		{ "cert_not_after_seconds", PS_CERT, "notAfter of the certificate, "
		    "seconds since the epoch." },
		/* Base units (promtool check metrics refuses days). */
		{ "cert_time_left_seconds", PS_CERT, "Seconds left before the "
		    "certificate expires (negative once expired)." },
		{ "audit_verdict", PS_ALL, "Verdict of the audit line: 0 OK, 1 WARNING, "
		    "2 CRITICAL, 3 UNKNOWN." },
		{ "endpoint_up", PS_ENDPOINT, "1 if the endpoint completed a TLS "
		    "handshake." },
		{ "endpoint_mismatch", PS_ENDPOINT, "1 if the endpoint serves another "
		    "leaf than the current certificate." },
		{ "installed_mismatch", PS_INSTALLED, "1 if the installed file holds "
		    "another certificate than the current source." },
		{ "target_serial_installed", PS_TARGET, "Serial of the bundle the target "
		    "installed (-1 if it could not be asked)." },
		{ "target_serial_current", PS_TARGET, "Serial of the target's latest "
		    "bundle on the front." },
	};
	const char *p = a->prog;
	size_t f, i;
	int rc = 0;

	rc |= bprintf(b, "# HELP %s_audit_status Overall verdict: 0 OK, 1 WARNING, "
	    "2 CRITICAL, 3 UNKNOWN.\n# TYPE %s_audit_status gauge\n%s_audit_status %d\n",
	    p, p, p, (int)c->overall);
	rc |= bprintf(b, "# HELP %s_audit_lines Audit lines by verdict.\n"
	    "# TYPE %s_audit_lines gauge\n", p, p);
	for (f = 0; f < 4; f++)
		rc |= bprintf(b, "%s_audit_lines{verdict=\"%s\"} %zu\n", p,
		    f == 0 ? "ok" : f == 1 ? "warning" : f == 2 ? "critical" : "unknown",
		    c->n[f]);
	rc |= bprintf(b, "# HELP %s_audit_scrape_error 1 if something could not be "
	    "read or judged (an UNKNOWN line).\n# TYPE %s_audit_scrape_error gauge\n"
	    "%s_audit_scrape_error %d\n", p, p, p,
	    c->n[VERDICT_UNKNOWN] > 0 || l->oom || l->n == 0);
	rc |= bprintf(b, "# HELP %s_audit_timestamp_seconds When the audit ran.\n"
	    "# TYPE %s_audit_timestamp_seconds gauge\n%s_audit_timestamp_seconds %lld\n",
	    p, p, p, (long long)a->now);
	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		int header = 0;

		for (i = 0; i < l->n; i++) {
			if (!prom_has(v[i], fam[f].set))
				continue;
			if (!header++)
				rc |= bprintf(b, "# HELP %s_%s %s\n# TYPE %s_%s gauge\n", p,
				    fam[f].name, fam[f].help, p, fam[f].name);
			rc |= bprintf(b, "%s_%s", p, fam[f].name);
			rc |= prom_labels(b, v[i], fam[f].set);
			rc |= bprintf(b, " %lld\n", prom_value(a, v[i], (int)f));
		}
	}
	return rc;
}

static int
render_nagios(const struct audit_ctx *a, const struct audit_list *l,
    const struct audit_line **v, const struct counts *c, struct buf *b)
{
	char unknown[32] = "", where[AUDIT_WHERE_MAX], problems[AUDIT_MSG_MAX];
	size_t i;
	int rc = 0;

	(void)a;
	if (c->n[VERDICT_UNKNOWN] > 0)
		snprintf(unknown, sizeof(unknown), ", %zu unknown", c->n[VERDICT_UNKNOWN]);
	if (l->n == 0)
		rc |= bprintf(b, "CERTS UNKNOWN - nothing to audit");
	else
		rc |= bprintf(b, "CERTS %s - %zu critical, %zu warning%s, %zu ok%s",
		    verdict_name(c->overall), c->n[VERDICT_CRITICAL], c->n[VERDICT_WARNING],
		    unknown, c->n[VERDICT_OK], l->oom ? " (out of memory)" : "");
	rc |= bprintf(b, " | critical=%zu warning=%zu unknown=%zu ok=%zu",
	    c->n[VERDICT_CRITICAL], c->n[VERDICT_WARNING], c->n[VERDICT_UNKNOWN],
	    c->n[VERDICT_OK]);
	if (c->min_days != AUDIT_DAYS_NONE)
		rc |= bprintf(b, " min_days=%lld", (long long)c->min_days);
	rc |= buf_add_u8(b, '\n');
	/* Long output: the lines that need attention. */
	for (i = 0; i < l->n && v[i]->verdict != VERDICT_OK; i++)
		rc |= bprintf(b, "%s %s %s: %s\n", verdict_name(v[i]->verdict),
		    audit_kind_name(v[i]->kind), safe(where, sizeof(where), v[i]->where),
		    safe(problems, sizeof(problems), v[i]->problems));
	return rc;
}

int
audit_render(const struct audit_ctx *a, const struct audit_list *l,
    enum audit_format f, int color, struct buf *out)
{
	const struct audit_line **v = audit_sorted(l);
	struct counts c;
	int rc = -1;

	if (v == NULL)
		return -1;
	count(a, l, &c);
	switch (f) {
	case AUDIT_TABLE:
		rc = render_table(a, l, v, &c, color, out);
		break;
	case AUDIT_JSON:
		rc = render_json(a, l, v, &c, out);
		break;
	case AUDIT_PROMETHEUS:
		rc = render_prom(a, l, v, &c, out);
		break;
	case AUDIT_NAGIOS:
		rc = render_nagios(a, l, v, &c, out);
		break;
	}
	free(v);
	return rc == 0 ? 0 : -1;
}

int
audit_output(const struct audit_ctx *a, struct audit_list *l)
{
	struct buf out = { 0 };
	struct err e;
	int color = a->o.format == AUDIT_TABLE && a->o.output == NULL && isatty(1) &&
	    getenv("NO_COLOR") == NULL;
	int rc = (int)audit_overall(l);

	if (audit_render(a, l, a->o.format, color, &out) == -1) {
		log_warnx("audit: out of memory");
		rc = VERDICT_UNKNOWN;
	} else if (a->o.output != NULL) {
		if (file_write_atomic(a->o.output, out.data, out.len, geteuid(), getegid(),
		    0644, &e) == -1) {
			log_warnx("audit: %s", e.msg);
			rc = VERDICT_UNKNOWN;
		}
	} else if ((fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) && errno != EPIPE) {
		/* A reader that stopped early ("| head") is not an error to report. */
		log_warn("audit: standard output");
		rc = VERDICT_UNKNOWN;
	}
	buf_free(&out);
	return rc;
}
