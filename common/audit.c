#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "audit.h"
#include "pool.h"
#include "log.h"

#define DAY			86400

static const char *const verdict_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
static const char *const kind_names[] = { "source", "dkim", "target", "installed",
    "endpoint", "file", "config", "dane", "freshness" };

const char *
verdict_name(enum verdict v)
{
	return (unsigned)v < 4 ? verdict_names[v] : "UNKNOWN";
}

const char *
audit_kind_name(enum audit_kind k)
{
	return (unsigned)k <= AUDIT_FRESHNESS ? kind_names[k] : "?";
}

int
verdict_rank(enum verdict v)
{
	switch (v) {
	case VERDICT_CRITICAL:
		return 3;
	case VERDICT_WARNING:
		return 2;
	case VERDICT_UNKNOWN:
		return 1;
	case VERDICT_OK:
		break;
	}
	return 0;
}

/* Parses a decimal number in [min, max] into *out.  0 or -1. */
static int
parse_num(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		log_warnx("audit: %s \"%s\" is not a number from %ld to %ld", opt, s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
set_format(struct audit_opts *o, enum audit_format f, int *given)
{
	if (*given && o->format != f) {
		log_warnx("audit: give only one of --json, --prometheus, --nagios");
		return -1;
	}
	o->format = f;
	*given = 1;
	return 0;
}

int
audit_parse_args(const char *prog, int argc, char **argv, struct audit_opts *o)
{
	static const struct option opts[] = {
		{ "warn", required_argument, NULL, 'w' },
		{ "crit", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "nagios", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	long timeout = AUDIT_DEFAULT_TIMEOUT;
	int ch, given = 0, rc = 0;

	memset(o, 0, sizeof(*o));
	o->warn_days = AUDIT_DEFAULT_WARN;
	o->crit_days = AUDIT_DEFAULT_CRIT;
	o->format = AUDIT_TABLE;
	/* 0, not 1: reinitialise getopt, whose first use stopped at "audit". */
	optind = 0;
	opterr = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			rc = parse_num("--warn", optarg, 0, 3650, &o->warn_days);
			break;
		case 'C':
			rc = parse_num("--crit", optarg, 0, 3650, &o->crit_days);
			break;
		case 'j':
			rc = set_format(o, AUDIT_JSON, &given);
			break;
		case 'p':
			rc = set_format(o, AUDIT_PROMETHEUS, &given);
			break;
		case 'n':
			rc = set_format(o, AUDIT_NAGIOS, &given);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'a':
			o->ca_file = optarg;
			break;
		case 't':
			rc = parse_num("--timeout", optarg, 1, 600, &timeout);
			break;
		case ':':
			log_warnx("audit: %s needs an argument", argv[optind - 1]);
			rc = -1;
			break;
		default:
			log_warnx("audit: unknown option %s", argv[optind - 1]);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && o->crit_days > o->warn_days) {
		log_warnx("audit: --crit (%ld) must not exceed --warn (%ld)", o->crit_days,
		    o->warn_days);
		rc = -1;
	}
	o->timeout_s = (unsigned)timeout;
	o->paths = argv + optind;
	o->npaths = optind < argc ? (size_t)(argc - optind) : 0;
	if (rc == -1)
		fprintf(stderr, "usage: %s [-c FILE] audit [--warn DAYS] [--crit DAYS] "
		    "[--json | --prometheus | --nagios]\n"
		    "                [-o FILE] [--ca-file FILE] [--timeout SECONDS] "
		    "[FILE | DIR ...]\n", prog);
	return rc;
}

int
audit_ctx_init(struct audit_ctx *a, const char *prog, const struct audit_opts *o,
    const char *ca_file, struct err *e)
{
	memset(a, 0, sizeof(*a));
	a->o = *o;
	a->prog = prog;
	a->now = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o->ca_file != NULL)
		ca_file = o->ca_file;
	/* Files named on the command line are judged by their dates only. */
	if (o->npaths > 0)
		return 0;
	if ((a->store = X509_STORE_new()) == NULL ||
	    X509_STORE_set_default_paths(a->store) != 1)
		return err_ssl(e, "cannot load the system certificate store");
	ERR_clear_error();
	if (ca_file != NULL && X509_STORE_load_file(a->store, ca_file) != 1)
		return err_ssl(e, "CA file %s: cannot load it", ca_file);
	return 0;
}

void
audit_ctx_free(struct audit_ctx *a)
{
	X509_STORE_free(a->store);
	a->store = NULL;
}

static int
denied(const char *path)
{
	return path != NULL && path[0] != '\0' &&
	    faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) == -1 &&
	    (errno == EACCES || errno == EPERM);
}

enum verdict
audit_unreadable(const char *path, const char *other)
{
	return denied(path) || denied(other) ? VERDICT_UNKNOWN : VERDICT_CRITICAL;
}

static void
line_init(struct audit_line *line, enum audit_kind kind)
{
	memset(line, 0, sizeof(*line));
	line->kind = kind;
	line->verdict = VERDICT_OK;
	line->chain = CHAIN_NA;
	line->key_match = -1;
	line->mismatch = -1;
	line->reachable = -1;
}

static int
list_grow(struct audit_list *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	struct audit_line *v;

	if (cap > SIZE_MAX / sizeof(*v) || (v = realloc(l->v, cap * sizeof(*v))) == NULL)
		return -1;
	l->v = v;
	l->cap = cap;
	return 0;
}

struct audit_line *
audit_add(struct audit_list *l, enum audit_kind kind, const char *fmt, ...)
{
	struct audit_line *line;
	va_list ap;

	if (l->n == l->cap && list_grow(l) == -1) {
		l->oom = 1;
		line = &l->spare;
	} else
		line = &l->v[l->n++];
	line_init(line, kind);
	va_start(ap, fmt);
	vsnprintf(line->where, sizeof(line->where), fmt, ap);
	va_end(ap);
	return line;
}

/* Appends text to a "; " separated message, truncating at the end. */
static void
msg_append(char *msg, size_t cap, const char *fmt, va_list ap)
{
	size_t used = strlen(msg);

	if (used > 0 && used + 2 < cap) {
		memcpy(msg + used, "; ", 3);
		used += 2;
	}
	if (used + 1 < cap)
		vsnprintf(msg + used, cap - used, fmt, ap);
}

void
audit_problem(struct audit_line *l, enum verdict v, const char *fmt, ...)
{
	va_list ap;

	if (verdict_rank(v) > verdict_rank(l->verdict))
		l->verdict = v;
	va_start(ap, fmt);
	msg_append(l->problems, sizeof(l->problems), fmt, ap);
	va_end(ap);
}

void
audit_note(struct audit_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_append(l->note, sizeof(l->note), fmt, ap);
	va_end(ap);
}

void
audit_list_move(struct audit_list *dst, struct audit_list *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		if (dst->n == dst->cap && list_grow(dst) == -1) {
			dst->oom = 1;
			break;
		}
		dst->v[dst->n++] = src->v[i];
	}
	dst->oom |= src->oom;
	audit_list_free(src);
}

void
audit_list_free(struct audit_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	l->oom = 0;
}

/* Floor division of a time difference into days. */
static int64_t
days_between(time_t from, time_t to)
{
	int64_t d = (int64_t)to - (int64_t)from;

	return d >= 0 ? d / DAY : -((-d + DAY - 1) / DAY);
}

int64_t
audit_days_left(const struct audit_ctx *a, const struct audit_line *l)
{
	if (l->not_after == 0)
		return AUDIT_DAYS_NONE;
	return days_between(a->now, l->not_after);
}

static void
date_str(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, 32, "?");
}

/* Judges notBefore/notAfter of a certificate called what ("" for the line's). */
static void
judge_dates(const struct audit_ctx *a, struct audit_line *l, const char *what,
    time_t not_before, time_t not_after)
{
	int64_t days = days_between(a->now, not_after);
	char date[32];

	if (not_after == 0) {
		audit_problem(l, VERDICT_UNKNOWN, "%snotAfter does not parse", what);
		return;
	}
	date_str(not_after, date);
	if (not_after <= a->now)
		audit_problem(l, VERDICT_CRITICAL, "%sexpired on %s UTC", what, date);
	else if (days < a->o.crit_days || days < a->o.warn_days)
		audit_problem(l, days < a->o.crit_days ? VERDICT_CRITICAL : VERDICT_WARNING,
		    "%sexpires in %lld day%s (%s UTC)", what, (long long)days,
		    days == 1 ? "" : "s", date);
	if (not_before != 0 && not_before > a->now) {
		date_str(not_before, date);
		audit_problem(l, VERDICT_CRITICAL, "%snot valid before %s UTC", what, date);
	}
}

void
audit_cert(const struct audit_ctx *a, struct audit_line *l, X509 *x)
{
	EVP_PKEY *pub = X509_get0_pubkey(x);

	cert_name_str(X509_get_subject_name(x), l->subject, sizeof(l->subject));
	cert_name_str(X509_get_issuer_name(x), l->issuer, sizeof(l->issuer));
	cert_dns_names(x, l->names, sizeof(l->names));
	cert_fingerprint(x, l->sha256);
	if (pub != NULL)
		cert_key_desc(pub, l->key, sizeof(l->key));
	else
		snprintf(l->key, sizeof(l->key), "unreadable");
	ERR_clear_error();
	l->not_before = cert_not_before(x);
	l->not_after = cert_not_after(x);
	if (l->not_before == 0)
		audit_problem(l, VERDICT_UNKNOWN, "notBefore does not parse");
	judge_dates(a, l, "", l->not_before, l->not_after);
}

void
audit_expiry(const struct audit_ctx *a, struct audit_line *l)
{
	judge_dates(a, l, "", l->not_before, l->not_after);
}

void
audit_chain_dates(const struct audit_ctx *a, struct audit_line *l, STACK_OF(X509) *chain)
{
	char what[320], subj[256];
	int i;

	for (i = 1; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		cert_subject(x, subj, sizeof(subj));
		snprintf(what, sizeof(what), "chain certificate %d (%s) ", i + 1, subj);
		if (cert_not_after(x) <= a->now ||
		    days_between(a->now, cert_not_after(x)) < a->o.warn_days ||
		    cert_not_before(x) > a->now)
			judge_dates(a, l, what, cert_not_before(x), cert_not_after(x));
	}
}

/* True if the store holds an issuer of x. */
static int
issuer_known(const struct audit_ctx *a, X509 *x)
{
	X509_STORE_CTX *ctx;
	X509 *issuer = NULL;
	int found = 0;

	if (a->store == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		return 0;
	if (X509_STORE_CTX_init(ctx, a->store, x, NULL) == 1)
		found = X509_STORE_CTX_get1_issuer(&issuer, ctx, x) == 1;
	X509_free(issuer);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return found;
}

void
audit_chain_complete(const struct audit_ctx *a, struct audit_line *l,
    STACK_OF(X509) *chain)
{
	int i, n = sk_X509_num(chain);
	char issuer[256];
	X509 *last;

	if (n <= 0)
		return;
	for (i = 0; i + 1 < n; i++)
		if (X509_check_issued(sk_X509_value(chain, i + 1), sk_X509_value(chain, i)) !=
		    X509_V_OK) {
			l->chain = CHAIN_DISORDERED;
			audit_problem(l, VERDICT_CRITICAL, "chain out of order: certificate "
			    "%d is not issued by certificate %d", i + 1, i + 2);
			return;
		}
	last = sk_X509_value(chain, n - 1);
	if (X509_check_issued(last, last) == X509_V_OK || issuer_known(a, last)) {
		l->chain = CHAIN_COMPLETE;
		return;
	}
	l->chain = CHAIN_INCOMPLETE;
	cert_name_str(X509_get_issuer_name(last), issuer, sizeof(issuer));
	audit_problem(l, VERDICT_WARNING, "chain incomplete: the issuer of certificate "
	    "%d (%s) is neither in the chain nor in the system store or CA file", n, issuer);
}

void
audit_key_match(struct audit_line *l, X509 *leaf, EVP_PKEY *key)
{
	l->key_match = X509_check_private_key(leaf, key) == 1;
	ERR_clear_error();
	if (!l->key_match)
		audit_problem(l, VERDICT_CRITICAL, "the private key does not match the "
		    "certificate");
}

static void
check_name(struct audit_line *l, X509 *x, const char *name)
{
	if (X509_check_host(x, name, 0, 0, NULL) != 1)
		audit_problem(l, VERDICT_CRITICAL, "does not cover the name %s", name);
	ERR_clear_error();
}

void
audit_names(struct audit_line *l, X509 *x, char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL)
			check_name(l, x, names[i]);
}

/* Verifies the served chain to the store (dates are judged apart). */
static void
verify_served(const struct audit_ctx *a, struct audit_line *l, const struct probe *p)
{
	X509_STORE_CTX *ctx;
	int err;

	if (a->store == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		return;
	if (X509_STORE_CTX_init(ctx, a->store, p->leaf, p->chain) == 1) {
		X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
		    X509_V_FLAG_NO_CHECK_TIME);
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
		if (X509_verify_cert(ctx) == 1)
			l->chain = CHAIN_VERIFIED;
		else {
			err = X509_STORE_CTX_get_error(ctx);
			l->chain = CHAIN_UNVERIFIED;
			audit_problem(l, VERDICT_CRITICAL, "chain does not verify against the "
			    "system store or CA file: %s (at depth %d)",
			    X509_verify_cert_error_string(err),
			    X509_STORE_CTX_get_error_depth(ctx));
		}
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

struct audit_line *
audit_add_endpoint(struct audit_list *l, const char *prefix,
    const struct audit_endpoint *ep)
{
	int v6 = strchr(ep->address, ':') != NULL;
	struct audit_line *line;

	line = audit_add(l, AUDIT_ENDPOINT, "%s/%s%s%s:%u%s%s", prefix, v6 ? "[" : "",
	    ep->address, v6 ? "]" : "", ep->port, ep->sni ? "/" : "",
	    ep->sni ? ep->sni : "");
	snprintf(line->u.ep.address, sizeof(line->u.ep.address), "%s", ep->address);
	line->u.ep.port = ep->port;
	snprintf(line->u.ep.sni, sizeof(line->u.ep.sni), "%s", ep->sni ? ep->sni : "");
	line->u.ep.starttls = ep->starttls;
	return line;
}

void
audit_endpoint(const struct audit_ctx *a, struct audit_line *l,
    const struct audit_endpoint *ep)
{
	struct probe p;
	struct err e;
	size_t i;

	if (ep->expected != NULL)
		snprintf(l->expected, sizeof(l->expected), "%s", ep->expected);
	if (tls_probe(ep->address, ep->port, ep->sni, ep->starttls,
	    a->o.timeout_s * 1000, &p, &e) == -1) {
		l->reachable = 0;
		audit_problem(l, VERDICT_CRITICAL, "unreachable: %s", e.msg);
		ERR_clear_error();
		return;
	}
	l->reachable = 1;
	audit_cert(a, l, p.leaf);
	if (ep->expected != NULL && ep->expected[0] != '\0') {
		l->mismatch = strcmp(l->sha256, ep->expected) != 0;
		if (l->mismatch)
			audit_problem(l, VERDICT_CRITICAL, "serves a stale certificate: "
			    "%.23s..., not the current %.23s...", l->sha256, ep->expected);
		else
			audit_note(l, "serves the current certificate");
	}
	if (ep->sni != NULL)
		check_name(l, p.leaf, ep->sni);
	for (i = 0; i < ep->nnames; i++)
		if (ep->sni == NULL || strcmp(ep->names[i], ep->sni) != 0)
			check_name(l, p.leaf, ep->names[i]);
	audit_chain_dates(a, l, p.chain);
	verify_served(a, l, &p);
	probe_free(&p);
}

void
audit_parallel(size_t n, unsigned long conc, void (*fn)(void *, size_t), void *arg)
{
	pool_run(n, conc, fn, arg);
}

enum verdict
audit_overall(const struct audit_list *l)
{
	enum verdict v = l->n == 0 || l->oom ? VERDICT_UNKNOWN : VERDICT_OK;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (verdict_rank(l->v[i].verdict) > verdict_rank(v))
			v = l->v[i].verdict;
	return v;
}
