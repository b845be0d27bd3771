/*
 * The certificate expiry audit (common/audit*.c): verdict thresholds on
 * certificates made to expire in N days, sorting, the four outputs of a
 * fixed set of lines (Prometheus and Nagios compared byte for byte),
 * files that are garbage, empty, DER, bundles or keys, chains, key
 * match, a live TLS endpoint on loopback, options, and the endpoints:
 * key of certpush.yaml.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "audit.h"
#include "jsonscan.h"
#include "pushconf.h"

#include "testcerts.c"
#include "testutil.c"

#define NOW	1795000000L	/* 2026-11-18T11:06:40Z */

static struct tc_pki pki;
static char dir[TU_PATH_MAX];

static int
group_setup(void **state)
{
	(void)state;
	/* The loopback TLS server writes to clients that are gone. */
	signal(SIGPIPE, SIG_IGN);
	if (tu_mkdtemp(dir) == -1)
		return -1;
	return tc_pki_new(&pki, NOW);
}

static int
group_teardown(void **state)
{
	(void)state;
	tc_pki_free(&pki);
	return tu_rmtree(dir);
}

/* A context at NOW with the default thresholds and no store. */
static struct audit_ctx
ctx(long warn, long crit)
{
	struct audit_ctx a;

	memset(&a, 0, sizeof(a));
	a.o.warn_days = warn;
	a.o.crit_days = crit;
	a.o.timeout_s = 5;
	a.prog = "certpush";
	a.now = NOW;
	return a;
}

/* A store holding only the test root. */
static X509_STORE *
test_store(void)
{
	X509_STORE *s = X509_STORE_new();

	assert_non_null(s);
	assert_int_equal(X509_STORE_add_cert(s, pki.root), 1);
	return s;
}

/* ---------------------------------------------------------------- verdicts */

struct threshold_case {
	long		 from, to;	/* validity, seconds from NOW */
	long		 warn, crit;
	enum verdict	 want;
	int64_t		 days;
	const char	*msg;		/* expected in the problems, or NULL */
};

static void
test_thresholds(void **state)
{
	/* An hour past the day, so that the whole days are exact. */
	static const struct threshold_case cases[] = {
		{ -30 * TC_DAY, -2 * TC_DAY, 21, 7, VERDICT_CRITICAL, -2, "expired on" },
		{ -30 * TC_DAY, -3600, 21, 7, VERDICT_CRITICAL, -1, "expired on" },
		{ -TC_DAY, 3600, 21, 7, VERDICT_CRITICAL, 0, "expires in 0 days" },
		{ -TC_DAY, 3 * TC_DAY + 3600, 21, 7, VERDICT_CRITICAL, 3, "expires in 3 days" },
		{ -TC_DAY, 6 * TC_DAY + 3600, 21, 7, VERDICT_CRITICAL, 6, NULL },
		{ -TC_DAY, 7 * TC_DAY + 3600, 21, 7, VERDICT_WARNING, 7, "expires in 7 days" },
		{ -TC_DAY, 20 * TC_DAY + 3600, 21, 7, VERDICT_WARNING, 20, NULL },
		{ -TC_DAY, 21 * TC_DAY + 3600, 21, 7, VERDICT_OK, 21, NULL },
		{ -TC_DAY, 90 * TC_DAY, 21, 7, VERDICT_OK, 90, NULL },
		/* Other thresholds. */
		{ -TC_DAY, 3 * TC_DAY + 3600, 30, 0, VERDICT_WARNING, 3, NULL },
		{ -TC_DAY, 3 * TC_DAY + 3600, 3, 3, VERDICT_OK, 3, NULL },
		{ -TC_DAY, 1 * TC_DAY + 3600, 0, 0, VERDICT_OK, 1, NULL },
		{ -TC_DAY, 3600, 0, 0, VERDICT_OK, 0, NULL },
		/* Not valid yet, however long it lasts. */
		{ TC_DAY, 90 * TC_DAY, 21, 7, VERDICT_CRITICAL, 90, "not valid before" },
	};
	EVP_PKEY *key = tc_key_ec();
	size_t i;

	(void)state;
	assert_non_null(key);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct threshold_case *c = &cases[i];
		struct audit_ctx a = ctx(c->warn, c->crit);
		struct audit_list l = { 0 };
		X509 *x = tc_cert("t.example.test", key, NULL, NULL, NOW, c->from, c->to, 0,
		    "DNS:t.example.test");
		struct audit_line *line;

		assert_non_null(x);
		line = audit_add(&l, AUDIT_FILE, "case%zu", i);
		audit_cert(&a, line, x);
		if (line->verdict != c->want || audit_days_left(&a, line) != c->days)
			fail_msg("case %zu: got %s, %lld days (%s)", i,
			    verdict_name(line->verdict), (long long)audit_days_left(&a, line),
			    line->problems);
		if (c->msg != NULL && !tu_contains(line->problems, c->msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, line->problems, c->msg);
		if (c->want == VERDICT_OK)
			assert_string_equal(line->problems, "");
		assert_string_equal(line->subject, "CN=t.example.test");
		assert_string_equal(line->names, "t.example.test");
		assert_string_equal(line->key, "EC 256");
		assert_int_equal(audit_overall(&l), c->want);
		X509_free(x);
		audit_list_free(&l);
	}
	EVP_PKEY_free(key);
}

static void
test_chain_dates(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	EVP_PKEY *ik = tc_key_ec(), *lk = tc_key_ec();
	X509 *inter, *leaf;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct audit_line *line;

	(void)state;
	/* A leaf valid 60 days under an intermediate that ends in 5. */
	inter = tc_cert("Short Intermediate", ik, pki.root, pki.root_key, NOW, -TC_DAY,
	    5 * TC_DAY + 3600, 1, NULL);
	leaf = tc_cert("l.example.test", lk, inter, ik, NOW, -TC_DAY, 60 * TC_DAY, 0, NULL);
	assert_non_null(leaf);
	sk_X509_push(chain, leaf);
	sk_X509_push(chain, inter);
	line = audit_add(&l, AUDIT_SOURCE, "s");
	audit_cert(&a, line, leaf);
	assert_int_equal(line->verdict, VERDICT_OK);
	audit_chain_dates(&a, line, chain);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	assert_true(tu_contains(line->problems, "chain certificate 2 (CN=Short "
	    "Intermediate) expires in 5 days"));
	assert_int_equal(audit_days_left(&a, line), 60);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	audit_list_free(&l);
}

static void
test_chain_complete(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	STACK_OF(X509) *chain;
	struct audit_line *line;
	struct err e;

	(void)state;
	/* Leaf + intermediate, the root in the store: complete. */
	a.store = test_store();
	chain = cert_parse_chain(pki.ec_chain, strlen(pki.ec_chain), &e);
	assert_non_null(chain);
	line = audit_add(&l, AUDIT_SOURCE, "complete");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_COMPLETE);
	assert_int_equal(line->verdict, VERDICT_OK);
	/* The same without the root anywhere: incomplete, a warning. */
	X509_STORE_free(a.store);
	a.store = X509_STORE_new();
	line = audit_add(&l, AUDIT_SOURCE, "incomplete");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_INCOMPLETE);
	assert_int_equal(line->verdict, VERDICT_WARNING);
	assert_true(tu_contains(line->problems, "CN=Test Root CA"));
	/* Up to the self-signed root: complete without any store. */
	sk_X509_push(chain, X509_dup(pki.root));
	X509_STORE_free(a.store);
	a.store = NULL;
	line = audit_add(&l, AUDIT_SOURCE, "with root");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_COMPLETE);
	sk_X509_pop_free(chain, X509_free);
	/* Out of order: critical. */
	chain = cert_parse_chain(pki.misordered_chain, strlen(pki.misordered_chain), &e);
	assert_non_null(chain);
	line = audit_add(&l, AUDIT_SOURCE, "misordered");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_DISORDERED);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	assert_true(tu_contains(line->problems, "certificate 1 is not issued by "
	    "certificate 2"));
	sk_X509_pop_free(chain, X509_free);
	audit_list_free(&l);
}

static void
test_key_match_and_names(void **state)
{
	struct audit_list l = { 0 };
	struct audit_line *line;
	char *names[] = { "www.example.test", "example.test", NULL };
	char *wrong[] = { "www.example.test", "mail.example.test" };

	(void)state;
	line = audit_add(&l, AUDIT_SOURCE, "match");
	audit_key_match(line, pki.ec_leaf, pki.ec_key);
	audit_names(line, pki.ec_leaf, names, 2);
	assert_int_equal(line->key_match, 1);
	assert_int_equal(line->verdict, VERDICT_OK);
	line = audit_add(&l, AUDIT_SOURCE, "mismatch");
	audit_key_match(line, pki.ec_leaf, pki.other_key);
	assert_int_equal(line->key_match, 0);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	line = audit_add(&l, AUDIT_SOURCE, "names");
	audit_names(line, pki.ec_leaf, wrong, 2);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	assert_string_equal(line->problems, "does not cover the name mail.example.test");
	audit_list_free(&l);
}

/* ---------------------------------------------------------------- sorting */

static struct audit_line *
add(struct audit_list *l, enum audit_kind k, const char *where, enum verdict v,
    long not_after)
{
	struct audit_line *line = audit_add(l, k, "%s", where);

	line->not_after = not_after ? NOW + not_after : 0;
	if (v != VERDICT_OK)
		audit_problem(line, v, "problem of %s", where);
	return line;
}

static void
test_sorting(void **state)
{
	static const char *const want[] = { "crit-1d", "crit-5d", "crit-nodate",
	    "warn-10d", "warn-20d", "unknown", "ok-30d", "ok-90d-a", "ok-90d-b",
	    "ok-nodate" };
	struct audit_list l = { 0 };
	const struct audit_line **v;
	size_t i;

	(void)state;
	add(&l, AUDIT_FILE, "ok-90d-b", VERDICT_OK, 90 * TC_DAY);
	add(&l, AUDIT_FILE, "warn-20d", VERDICT_WARNING, 20 * TC_DAY);
	add(&l, AUDIT_TARGET, "ok-nodate", VERDICT_OK, 0);
	add(&l, AUDIT_FILE, "unknown", VERDICT_UNKNOWN, 0);
	add(&l, AUDIT_FILE, "crit-nodate", VERDICT_CRITICAL, 0);
	add(&l, AUDIT_FILE, "ok-30d", VERDICT_OK, 30 * TC_DAY);
	add(&l, AUDIT_FILE, "crit-5d", VERDICT_CRITICAL, 5 * TC_DAY);
	add(&l, AUDIT_FILE, "ok-90d-a", VERDICT_OK, 90 * TC_DAY);
	add(&l, AUDIT_FILE, "warn-10d", VERDICT_WARNING, 10 * TC_DAY);
	add(&l, AUDIT_FILE, "crit-1d", VERDICT_CRITICAL, 1 * TC_DAY);
	v = audit_sorted(&l);
	assert_non_null(v);
	for (i = 0; i < l.n; i++)
		assert_string_equal(v[i]->where, want[i]);
	assert_int_equal(audit_overall(&l), VERDICT_CRITICAL);
	free(v);
	audit_list_free(&l);
	/* Nothing at all is UNKNOWN; WARNING beats UNKNOWN. */
	assert_int_equal(audit_overall(&l), VERDICT_UNKNOWN);
	add(&l, AUDIT_FILE, "u", VERDICT_UNKNOWN, 0);
	add(&l, AUDIT_FILE, "w", VERDICT_WARNING, 9 * TC_DAY);
	assert_int_equal(audit_overall(&l), VERDICT_WARNING);
	audit_list_free(&l);
}

/* ---------------------------------------------------------------- outputs */

/* The fixed set of lines the renderers are checked on. */
static void
fixed_lines(struct audit_list *l)
{
	struct audit_line *x;

	x = add(l, AUDIT_ENDPOINT, "front/10.0.0.1:443/www.example.test",
	    VERDICT_CRITICAL, 40 * TC_DAY);
	snprintf(x->problems, sizeof(x->problems), "serves a stale certificate");
	snprintf(x->item, sizeof(x->item), "www");
	snprintf(x->subject, sizeof(x->subject), "CN=www.example.test,O=Test");
	snprintf(x->names, sizeof(x->names), "www.example.test,example.test");
	snprintf(x->key, sizeof(x->key), "EC 256");
	snprintf(x->sha256, sizeof(x->sha256), "AA:BB");
	snprintf(x->expected, sizeof(x->expected), "CC:DD");
	x->not_before = NOW - TC_DAY;
	x->chain = CHAIN_VERIFIED;
	x->reachable = 1;
	x->mismatch = 1;
	snprintf(x->u.ep.address, sizeof(x->u.ep.address), "10.0.0.1");
	x->u.ep.port = 443;
	snprintf(x->u.ep.sni, sizeof(x->u.ep.sni), "www.example.test");
	x = add(l, AUDIT_FILE, "/etc/ssl/a.pem", VERDICT_WARNING, 10 * TC_DAY + 3600);
	snprintf(x->subject, sizeof(x->subject), "CN=a.example.test");
	x = add(l, AUDIT_SOURCE, "mail", VERDICT_OK, 60 * TC_DAY);
	snprintf(x->item, sizeof(x->item), "mail");
	snprintf(x->subject, sizeof(x->subject), "CN=mail.example.test");
	snprintf(x->key, sizeof(x->key), "RSA 2048");
	x->chain = CHAIN_COMPLETE;
	x->key_match = 1;
	x = add(l, AUDIT_TARGET, "mail", VERDICT_OK, 0);
	x->reachable = 1;
	x->u.target.known = 1;
	x->u.target.installed = 5;
	x->u.target.current = 5;
	audit_note(x, "installed serial 5 is current");
	add(l, AUDIT_FILE, "/tmp/we\"ird\\path\n", VERDICT_UNKNOWN, 0);
	x = add(l, AUDIT_DKIM, "dkim-2026", VERDICT_OK, 0);
	snprintf(x->item, sizeof(x->item), "dkim-2026");
	snprintf(x->key, sizeof(x->key), "RSA 2048");
	snprintf(x->u.dkim.selector, sizeof(x->u.dkim.selector), "2026");
	snprintf(x->u.dkim.domain, sizeof(x->u.dkim.domain), "example.test");
	add(l, AUDIT_INSTALLED, "mail:/etc/postfix/chain.pem", VERDICT_CRITICAL,
	    -2 * TC_DAY);
}

static char *
render(enum audit_format f, int color)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	struct buf b = { 0 };

	fixed_lines(&l);
	assert_int_equal(audit_render(&a, &l, f, color, &b), 0);
	assert_int_equal(buf_add_u8(&b, 0), 0);
	audit_list_free(&l);
	return (char *)b.data;
}

static void
test_render_nagios(void **state)
{
	char *out = render(AUDIT_NAGIOS, 0);

	(void)state;
	assert_string_equal(out,
	    "CERTS CRITICAL - 2 critical, 1 warning, 1 unknown, 3 ok"
	    " | critical=2 warning=1 unknown=1 ok=3 min_days=-2\n"
	    "CRITICAL installed mail:/etc/postfix/chain.pem: problem of "
	    "mail:/etc/postfix/chain.pem\n"
	    "CRITICAL endpoint front/10.0.0.1:443/www.example.test: serves a stale "
	    "certificate\n"
	    "WARNING file /etc/ssl/a.pem: problem of /etc/ssl/a.pem\n"
	    "UNKNOWN file /tmp/we\"ird\\path?: problem of /tmp/we\"ird\\path?\n");
	free(out);
}

static void
test_render_prometheus(void **state)
{
	char *out = render(AUDIT_PROMETHEUS, 0);

	(void)state;
	assert_string_equal(out,
	    "# HELP certpush_audit_status Overall verdict: 0 OK, 1 WARNING, 2 CRITICAL, "
	    "3 UNKNOWN.\n"
	    "# TYPE certpush_audit_status gauge\n"
	    "certpush_audit_status 2\n"
	    "# HELP certpush_audit_lines Audit lines by verdict.\n"
	    "# TYPE certpush_audit_lines gauge\n"
	    "certpush_audit_lines{verdict=\"ok\"} 3\n"
	    "certpush_audit_lines{verdict=\"warning\"} 1\n"
	    "certpush_audit_lines{verdict=\"critical\"} 2\n"
	    "certpush_audit_lines{verdict=\"unknown\"} 1\n"
	    "# HELP certpush_audit_scrape_error 1 if something could not be read or "
	    "judged (an UNKNOWN line).\n"
	    "# TYPE certpush_audit_scrape_error gauge\n"
	    "certpush_audit_scrape_error 1\n"
	    "# HELP certpush_audit_timestamp_seconds When the audit ran.\n"
	    "# TYPE certpush_audit_timestamp_seconds gauge\n"
	    "certpush_audit_timestamp_seconds 1795000000\n"
	    "# HELP certpush_cert_not_after_seconds notAfter of the certificate, seconds "
	    "since the epoch.\n"
	    "# TYPE certpush_cert_not_after_seconds gauge\n"
	    "certpush_cert_not_after_seconds{kind=\"installed\",source=\"mail:/etc/postfix/"
	    "chain.pem\",item=\"\",name=\"-\"} 1794827200\n"
	    "certpush_cert_not_after_seconds{kind=\"endpoint\",source=\"front/10.0.0.1:443/"
	    "www.example.test\",item=\"www\",name=\"www.example.test\"} 1798456000\n"
	    "certpush_cert_not_after_seconds{kind=\"file\",source=\"/etc/ssl/a.pem\","
	    "item=\"\",name=\"a.example.test\"} 1795867600\n"
	    "certpush_cert_not_after_seconds{kind=\"source\",source=\"mail\",item=\"mail\","
	    "name=\"mail.example.test\"} 1800184000\n"
	    "# HELP certpush_cert_days_left Whole days left before the certificate "
	    "expires (negative once expired).\n"
	    "# TYPE certpush_cert_days_left gauge\n"
	    "certpush_cert_days_left{kind=\"installed\",source=\"mail:/etc/postfix/"
	    "chain.pem\",item=\"\",name=\"-\"} -2\n"
	    "certpush_cert_days_left{kind=\"endpoint\",source=\"front/10.0.0.1:443/"
	    "www.example.test\",item=\"www\",name=\"www.example.test\"} 40\n"
	    "certpush_cert_days_left{kind=\"file\",source=\"/etc/ssl/a.pem\",item=\"\","
	    "name=\"a.example.test\"} 10\n"
	    "certpush_cert_days_left{kind=\"source\",source=\"mail\",item=\"mail\","
	    "name=\"mail.example.test\"} 60\n"
	    "# HELP certpush_audit_verdict Verdict of the audit line: 0 OK, 1 WARNING, "
	    "2 CRITICAL, 3 UNKNOWN.\n"
	    "# TYPE certpush_audit_verdict gauge\n"
	    "certpush_audit_verdict{kind=\"installed\",source=\"mail:/etc/postfix/"
	    "chain.pem\",item=\"\"} 2\n"
	    "certpush_audit_verdict{kind=\"endpoint\",source=\"front/10.0.0.1:443/"
	    "www.example.test\",item=\"www\"} 2\n"
	    "certpush_audit_verdict{kind=\"file\",source=\"/etc/ssl/a.pem\",item=\"\"} 1\n"
	    "certpush_audit_verdict{kind=\"file\",source=\"/tmp/we\\\"ird\\\\path\\n\","
	    "item=\"\"} 3\n"
	    "certpush_audit_verdict{kind=\"source\",source=\"mail\",item=\"mail\"} 0\n"
	    "certpush_audit_verdict{kind=\"dkim\",source=\"dkim-2026\",item=\"dkim-2026\"} 0\n"
	    "certpush_audit_verdict{kind=\"target\",source=\"mail\",item=\"\"} 0\n"
	    "# HELP certpush_endpoint_up 1 if the endpoint completed a TLS handshake.\n"
	    "# TYPE certpush_endpoint_up gauge\n"
	    "certpush_endpoint_up{kind=\"endpoint\",source=\"front/10.0.0.1:443/"
	    "www.example.test\",item=\"www\"} 1\n"
	    "# HELP certpush_endpoint_mismatch 1 if the endpoint serves another leaf than "
	    "the current certificate.\n"
	    "# TYPE certpush_endpoint_mismatch gauge\n"
	    "certpush_endpoint_mismatch{kind=\"endpoint\",source=\"front/10.0.0.1:443/"
	    "www.example.test\",item=\"www\"} 1\n"
	    "# HELP certpush_target_serial_installed Serial of the bundle the target "
	    "installed (-1 if it could not be asked).\n"
	    "# TYPE certpush_target_serial_installed gauge\n"
	    "certpush_target_serial_installed{target=\"mail\"} 5\n"
	    "# HELP certpush_target_serial_current Serial of the target's latest bundle "
	    "on the front.\n"
	    "# TYPE certpush_target_serial_current gauge\n"
	    "certpush_target_serial_current{target=\"mail\"} 5\n");
	free(out);
}

struct json_check {
	int	 lines;
	char	 verdict[16];
	char	 first_where[128];
	char	 days[8][16];
	int	 ndays;
	int	 critical;
};

static void
on_json(void *arg, const char *path, const char *value, int is_string)
{
	struct json_check *c = arg;

	if (strcmp(path, "verdict") == 0 && is_string)
		snprintf(c->verdict, sizeof(c->verdict), "%s", value);
	else if (strcmp(path, "counts.critical") == 0)
		c->critical = atoi(value);
	else if (strcmp(path, "lines.verdict") == 0)
		c->lines++;
	else if (strcmp(path, "lines.where") == 0 && c->lines == 1)
		snprintf(c->first_where, sizeof(c->first_where), "%s", value);
	else if (strcmp(path, "lines.days_left") == 0 && c->ndays < 8)
		snprintf(c->days[c->ndays++], sizeof(c->days[0]), "%s", value);
}

static void
test_render_json(void **state)
{
	char *out = render(AUDIT_JSON, 0);
	struct json_check c = { 0 };

	(void)state;
	assert_int_equal(json_scan(out, strlen(out), on_json, &c), 0);
	assert_string_equal(c.verdict, "CRITICAL");
	assert_int_equal(c.lines, 7);
	assert_int_equal(c.critical, 2);
	assert_string_equal(c.first_where, "mail:/etc/postfix/chain.pem");
	assert_int_equal(c.ndays, 7);
	assert_string_equal(c.days[0], "-2");
	assert_string_equal(c.days[1], "40");
	assert_string_equal(c.days[3], "null");
	assert_string_equal(c.days[4], "60");
	assert_true(tu_contains(out, "\"program\":\"certpush\",\"time\":"
	    "\"2026-11-18T11:06:40Z\",\"time_epoch\":1795000000,\"verdict\":\"CRITICAL\","
	    "\"exit_status\":2,\"warn_days\":21,\"crit_days\":7,"));
	assert_true(tu_contains(out, "\"names\":[\"www.example.test\","
	    "\"example.test\"]"));
	assert_true(tu_contains(out, "\"chain\":\"verified\",\"key_match\":null,"
	    "\"address\":\"10.0.0.1\",\"port\":443,\"sni\":\"www.example.test\","
	    "\"starttls\":\"none\",\"reachable\":true,\"mismatch\":true,"));
	assert_true(tu_contains(out, "\"reachable\":true,\"serial_installed\":5,"
	    "\"serial_current\":5,\"problems\":null,\"note\":\"installed serial 5 is "
	    "current\"}"));
	assert_true(tu_contains(out, "\"selector\":\"2026\",\"domain\":\"example.test\""));
	assert_true(tu_contains(out, "\"where\":\"/tmp/we\\\"ird\\\\path\\u000a\""));
	free(out);
}

static void
test_render_table(void **state)
{
	char *out = render(AUDIT_TABLE, 0), *color = render(AUDIT_TABLE, 1);

	(void)state;
	assert_true(strncmp(out, "VERDICT   DAYS  NOT AFTER   KIND       WHERE", 44) == 0);
	assert_true(tu_contains(out, "\nCRITICAL    -2  2026-11-16  installed  "
	    "mail:/etc/postfix/chain.pem"));
	assert_true(tu_contains(out, "\nOK          60  2027-01-17  source     mail"));
	assert_true(tu_contains(out, "RSA 2048; chain complete; key matches\n"));
	assert_true(tu_contains(out, "\n\nCRITICAL: 2 critical, 1 warning, 1 unknown, "
	    "3 ok\n"));
	assert_null(strchr(out, '\033'));
	/* Control characters of a place never reach the terminal. */
	assert_true(tu_contains(out, " /tmp/we\"ird\\path?  "));
	assert_true(tu_contains(color, "\033[1;31mCRITICAL\033[0m"));
	assert_true(tu_contains(color, "\033[32mOK\033[0m"));
	free(out);
	free(color);
}

static void
test_render_empty(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	struct buf b = { 0 };

	(void)state;
	assert_int_equal(audit_render(&a, &l, AUDIT_NAGIOS, 0, &b), 0);
	assert_int_equal(buf_add_u8(&b, 0), 0);
	assert_string_equal((char *)b.data, "CERTS UNKNOWN - nothing to audit | "
	    "critical=0 warning=0 unknown=0 ok=0\n");
	assert_int_equal(audit_overall(&l), VERDICT_UNKNOWN);
	buf_free(&b);
}

/* ---------------------------------------------------------------- files */

static void
write_file(const char *name, const void *data, size_t len)
{
	if (tu_write(dir, name, data, len, 0644, NULL) == -1)
		fail_msg("cannot write %s/%s", dir, name);
}

/* The line whose place ends in suffix, or NULL. */
static const struct audit_line *
find(const struct audit_list *l, const char *suffix)
{
	size_t i, n = strlen(suffix), m;

	for (i = 0; i < l->n; i++) {
		m = strlen(l->v[i].where);
		if (m >= n && strcmp(l->v[i].where + m - n, suffix) == 0)
			return &l->v[i];
	}
	return NULL;
}

static const struct audit_line *
must_find(const struct audit_list *l, const char *suffix)
{
	const struct audit_line *x = find(l, suffix);

	if (x == NULL)
		fail_msg("no line for %s", suffix);
	return x;
}

static void
test_files(void **state)
{
	static const char garbage_pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "!!!! not base64 !!!!\n-----END CERTIFICATE-----\n";
	static const char bad_der_pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
	static const char binary[] = { 0x30, (char)0x82, 0x7f, 0x01, 0x00, 0x42 };
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	const struct audit_line *x;
	char sub[TU_PATH_MAX], *paths[2], *text;
	uint8_t *der = NULL;
	int derlen = i2d_X509(pki.ec_leaf, &der);
	X509 *three[3] = { pki.rsa_leaf, pki.inter, pki.root };

	(void)state;
	snprintf(sub, sizeof(sub), "%s/files", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/files/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("files/good.pem", pki.ec_chain, strlen(pki.ec_chain));
	write_file("files/leaf.der", der, (size_t)derlen);
	text = tc_pem_certs(three, 3);
	write_file("files/sub/bundle.crt", text, strlen(text));
	free(text);
	write_file("files/garbage.pem", garbage_pem, strlen(garbage_pem));
	write_file("files/bad-der.pem", bad_der_pem, strlen(bad_der_pem));
	write_file("files/text.crt", "hello, world\n", 13);
	write_file("files/binary.der", binary, sizeof(binary));
	write_file("files/empty.pem", "", 0);
	write_file("files/key.pem", pki.ec_keypem, strlen(pki.ec_keypem));
	write_file("files/README", "not a certificate\n", 18);
	/* A good certificate, then a truncated one. */
	text = malloc(strlen(pki.ec_chain) + 64);
	snprintf(text, strlen(pki.ec_chain) + 64, "%.*s-----BEGIN CERTIFICATE-----\nMIIB",
	    (int)(strstr(pki.ec_chain, "-----END CERTIFICATE-----\n") - pki.ec_chain + 26),
	    pki.ec_chain);
	write_file("files/truncated.pem", text, strlen(text));
	free(text);
	OPENSSL_free(der);

	snprintf(sub, sizeof(sub), "%s/files", dir);
	paths[0] = sub;
	audit_files(&a, &l, paths, 1);
	/* Leaf and intermediate of good.pem: a bundle, one line each. */
	x = must_find(&l, "/good.pem[1]");
	assert_int_equal(x->verdict, VERDICT_OK);
	assert_string_equal(x->subject, "CN=www.example.test");
	assert_int_equal(must_find(&l, "/good.pem[2]")->verdict, VERDICT_OK);
	x = must_find(&l, "/leaf.der");
	assert_int_equal(x->verdict, VERDICT_OK);
	assert_string_equal(x->names, "www.example.test,example.test");
	assert_non_null(must_find(&l, "/sub/bundle.crt[3]"));
	assert_string_equal(must_find(&l, "/sub/bundle.crt[3]")->subject, "CN=Test Root CA");
	x = must_find(&l, "/garbage.pem");
	assert_int_equal(x->verdict, VERDICT_UNKNOWN);
	assert_true(tu_contains(x->problems, "malformed PEM"));
	x = must_find(&l, "/bad-der.pem");
	assert_int_equal(x->verdict, VERDICT_UNKNOWN);
	assert_true(tu_contains(x->problems, "certificate 1 does not parse"));
	assert_int_equal(must_find(&l, "/text.crt")->verdict, VERDICT_UNKNOWN);
	assert_true(tu_contains(must_find(&l, "/binary.der")->problems,
	    "neither PEM nor a DER certificate"));
	assert_string_equal(must_find(&l, "/empty.pem")->problems, "empty file");
	assert_int_equal(must_find(&l, "/truncated.pem[1]")->verdict, VERDICT_OK);
	assert_int_equal(must_find(&l, "/truncated.pem[2]")->verdict, VERDICT_UNKNOWN);
	/* In a directory, a key file and a file of another name are skipped. */
	assert_null(find(&l, "/key.pem"));
	assert_null(find(&l, "/README"));
	assert_int_equal(l.n, 13);
	assert_int_equal(audit_overall(&l), VERDICT_UNKNOWN);
	audit_list_free(&l);

	/* Named on the command line, the key file is reported. */
	snprintf(sub, sizeof(sub), "%s/files/key.pem", dir);
	paths[1] = (char *)"/nonexistent/cert.pem";
	paths[0] = sub;
	audit_files(&a, &l, paths, 2);
	assert_int_equal(l.n, 2);
	assert_true(tu_contains(must_find(&l, "/key.pem")->problems,
	    "no certificate in the file (only other PEM blocks"));
	assert_true(tu_contains(must_find(&l, "/nonexistent/cert.pem")->problems,
	    "cannot read: No such file or directory"));
	audit_list_free(&l);
}

static void
test_load_pem_key(void **state)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	EVP_PKEY *key = NULL;
	struct err e;
	char *text;
	int others;
	size_t n;

	(void)state;
	/* HAProxy's layout: leaf, chain, key. */
	n = strlen(pki.ec_chain) + strlen(pki.ec_keypem) + 1;
	text = malloc(n);
	snprintf(text, n, "%s%s", pki.ec_chain, pki.ec_keypem);
	assert_int_equal(audit_load_pem(text, strlen(text), certs, &key, &others, &e), 0);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_non_null(key);
	assert_int_equal(others, 0);
	assert_int_equal(X509_check_private_key(sk_X509_value(certs, 0), key), 1);
	EVP_PKEY_free(key);
	key = NULL;
	sk_X509_pop_free(certs, X509_free);
	/* Without a key pointer the key block only counts as another block. */
	certs = sk_X509_new_null();
	assert_int_equal(audit_load_pem(text, strlen(text), certs, NULL, &others, &e), 0);
	assert_int_equal(others, 1);
	sk_X509_pop_free(certs, X509_free);
	free(text);
	/* A key block that does not decode. */
	certs = sk_X509_new_null();
	text = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
	assert_int_equal(audit_load_pem(text, strlen(text), certs, &key, &others, &e), -1);
	assert_null(key);
	assert_true(tu_contains(e.msg, "the private key does not parse"));
	sk_X509_pop_free(certs, X509_free);
}

/* ---------------------------------------------------------------- endpoints */

struct server {
	int		 fd;
	SSL_CTX		*ctx;
	pthread_t	 th;
};

static void *
serve_one(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	SSL *ssl;

	if (c == -1)
		return NULL;
	if ((ssl = SSL_new(s->ctx)) != NULL && SSL_set_fd(ssl, c) == 1 &&
	    SSL_accept(ssl) == 1)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	close(c);
	return NULL;
}

/* A TLS server on loopback serving leaf (+ inter) for one connection. */
static unsigned
server_start(struct server *s, X509 *leaf, EVP_PKEY *key)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
	assert_int_equal(SSL_CTX_add1_chain_cert(s->ctx, pki.inter), 1);
	assert_true((s->fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(pthread_create(&s->th, NULL, serve_one, s), 0);
	return ntohs(sin.sin_port);
}

static void
server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->fd);
	SSL_CTX_free(s->ctx);
}

static void
test_endpoint(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	struct audit_line *x;
	struct server s;
	char fpr[CERT_FPR_LEN], other[CERT_FPR_LEN];
	char *names[] = { "www.example.test", "example.test", "mail.example.test" };
	struct audit_endpoint ep = { "127.0.0.1", 0, "www.example.test", TLS_NONE, fpr,
	    names, 2 };

	(void)state;
	a.store = test_store();
	cert_fingerprint(pki.ec_leaf, fpr);
	cert_fingerprint(pki.rsa_leaf, other);
	/* The current leaf, a chain to the root in the store: OK. */
	ep.port = server_start(&s, pki.ec_leaf, pki.ec_key);
	x = audit_add_endpoint(&l, "front", &ep);
	audit_endpoint(&a, x, &ep);
	server_stop(&s);
	if (x->verdict != VERDICT_OK)
		fail_msg("%s", x->problems);
	assert_int_equal(x->reachable, 1);
	assert_int_equal(x->mismatch, 0);
	assert_int_equal(x->chain, CHAIN_VERIFIED);
	assert_string_equal(x->note, "serves the current certificate");
	assert_int_equal(audit_days_left(&a, x), 90);
	/* A stale leaf that does not cover a name, and no root to verify: */
	ep.expected = other;
	ep.nnames = 3;
	X509_STORE_free(a.store);
	a.store = X509_STORE_new();
	ep.port = server_start(&s, pki.ec_leaf, pki.ec_key);
	x = audit_add_endpoint(&l, "front", &ep);
	audit_endpoint(&a, x, &ep);
	server_stop(&s);
	assert_int_equal(x->verdict, VERDICT_CRITICAL);
	assert_int_equal(x->mismatch, 1);
	assert_int_equal(x->chain, CHAIN_UNVERIFIED);
	assert_true(tu_contains(x->problems, "serves a stale certificate"));
	assert_true(tu_contains(x->problems, "does not cover the name mail.example.test"));
	assert_true(tu_contains(x->problems, "chain does not verify"));
	/* Nothing listens on the port any more: unreachable. */
	x = audit_add_endpoint(&l, "front", &ep);
	audit_endpoint(&a, x, &ep);
	assert_int_equal(x->verdict, VERDICT_CRITICAL);
	assert_int_equal(x->reachable, 0);
	assert_true(tu_contains(x->problems, "unreachable: connect to 127.0.0.1"));
	assert_true(strncmp(l.v[0].where, "front/127.0.0.1:", 16) == 0);
	assert_true(tu_contains(l.v[0].where, "/www.example.test"));
	X509_STORE_free(a.store);
	audit_list_free(&l);
}

/* ---------------------------------------------------------------- options */

static int
parse(struct audit_opts *o, ...)
{
	char *argv[16] = { "audit" };
	int argc = 1;
	va_list ap;

	va_start(ap, o);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return audit_parse_args("certpush", argc, argv, o);
}

static void
test_options(void **state)
{
	struct audit_opts o;

	(void)state;
	assert_int_equal(parse(&o, NULL), 0);
	assert_int_equal(o.warn_days, 21);
	assert_int_equal(o.crit_days, 7);
	assert_int_equal(o.format, AUDIT_TABLE);
	assert_int_equal(o.timeout_s, 10);
	assert_int_equal(o.npaths, 0);
	assert_int_equal(parse(&o, "--warn", "30", "--crit", "10", "--prometheus", "-o",
	    "/x.prom", "--ca-file", "/ca.pem", "--timeout", "3", "a.pem", "dir", NULL), 0);
	assert_int_equal(o.warn_days, 30);
	assert_int_equal(o.crit_days, 10);
	assert_int_equal(o.format, AUDIT_PROMETHEUS);
	assert_string_equal(o.output, "/x.prom");
	assert_string_equal(o.ca_file, "/ca.pem");
	assert_int_equal(o.timeout_s, 3);
	assert_int_equal(o.npaths, 2);
	assert_string_equal(o.paths[1], "dir");
	/* Options after the files too. */
	assert_int_equal(parse(&o, "a.pem", "--nagios", NULL), 0);
	assert_int_equal(o.format, AUDIT_NAGIOS);
	assert_int_equal(o.npaths, 1);
	assert_int_equal(parse(&o, "--json", "--json", NULL), 0);
	assert_int_equal(parse(&o, "--json", "--nagios", NULL), -1);
	assert_int_equal(parse(&o, "--warn", "5", "--crit", "6", NULL), -1);
	assert_int_equal(parse(&o, "--warn", "x", NULL), -1);
	assert_int_equal(parse(&o, "--warn", "-1", NULL), -1);
	assert_int_equal(parse(&o, "--crit", "99999", NULL), -1);
	assert_int_equal(parse(&o, "--timeout", "0", NULL), -1);
	assert_int_equal(parse(&o, "--bogus", NULL), -1);
}

/* ---------------------------------------------------------------- config */

#define TARGETS_HEAD \
	"signing_key: /k\n" \
	"certificates:\n  - {name: www, cert: /c, key: /k}\n  - {name: mail, cert: /c, key: /k}\n" \
	"dkim:\n  - {name: d, key: /k, selector: s, domain: example.test}\n" \
	"targets:\n"

static void
test_config_endpoints(void **state)
{
	static const struct {
		const char	*text;
		const char	*want;	/* error substring, or NULL */
	} cases[] = {
		{ "  - name: front\n    type: local\n    items: [www, mail]\n"
		  "    endpoints:\n"
		  "      - {address: 10.0.0.1, port: 443, sni: www.example.test}\n"
		  "      - {address: 10.0.0.2, port: 25, starttls: smtp, item: mail}\n", NULL },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 1, starttls: ftp}\n",
		  "targets[0].endpoints[0]: starttls \"ftp\" is not one of: none, smtp, imap, "
		  "pop3" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 1, item: mail}\n",
		  "item \"mail\" is not one of the target's certificate items" },
		{ "  - name: front\n    type: local\n    items: [d]\n"
		  "    endpoints:\n      - {address: a, port: 1}\n",
		  "the target has no certificate item for this endpoint to serve" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 0}\n", "port" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 443, color: red}\n", "color" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {port: 443}\n", "address" },
		{ "  - name: front\n    type: local\n    items: [www]\n    endpoints: []\n",
		  "needs 1 to 16 entries" },
	};
	struct pushconf c;
	struct err e;
	char text[2048];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(text, sizeof(text), "%s%s", TARGETS_HEAD, cases[i].text);
		rc = pushconf_load_string("t.yaml", text, strlen(text), &c, &e);
		if (cases[i].want == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, e.msg);
			assert_int_equal(c.targets[0].nendpoints, 2);
			assert_string_equal(c.targets[0].endpoints[0].address, "10.0.0.1");
			assert_int_equal(c.targets[0].endpoints[0].port, 443);
			assert_string_equal(c.targets[0].endpoints[0].sni, "www.example.test");
			assert_int_equal(c.targets[0].endpoints[0].starttls, TLS_NONE);
			assert_null(c.targets[0].endpoints[0].item);
			assert_int_equal(c.targets[0].endpoints[1].starttls, TLS_SMTP);
			assert_string_equal(c.targets[0].endpoints[1].item, "mail");
			assert_null(c.ca_file);
			pushconf_free(&c);
		} else if (rc == 0 || !tu_contains(e.msg, cases[i].want)) {
			if (rc == 0)
				pushconf_free(&c);
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, rc ? e.msg : "(loaded)",
			    cases[i].want);
		}
	}
	snprintf(text, sizeof(text), "ca_file: /etc/ssl/ca.pem\n%s%s", TARGETS_HEAD,
	    "  - {name: front, type: local, items: [www]}\n");
	assert_int_equal(pushconf_load_string("t.yaml", text, strlen(text), &c, &e), 0);
	assert_string_equal(c.ca_file, "/etc/ssl/ca.pem");
	assert_int_equal(c.targets[0].nendpoints, 0);
	pushconf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_chain_dates),
		cmocka_unit_test(test_chain_complete),
		cmocka_unit_test(test_key_match_and_names),
		cmocka_unit_test(test_sorting),
		cmocka_unit_test(test_render_nagios),
		cmocka_unit_test(test_render_prometheus),
		cmocka_unit_test(test_render_json),
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_render_empty),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_load_pem_key),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_config_endpoints),
	};

	return cmocka_run_group_tests_name("audit", tests, group_setup, group_teardown);
}
