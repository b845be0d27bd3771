/*
 * The audit's sorting by urgency and its four outputs (common/audit_out.c)
 * on a fixed set of lines: Prometheus and Nagios compared byte for byte,
 * JSON read back, the table with and without colour.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "jsonscan.h"

#include "testcerts.h"
#include "testutil.c"
#include "auditfixture.c"

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
	    "# HELP certpush_cert_time_left_seconds Seconds left before the certificate "
	    "expires (negative once expired).\n"
	    "# TYPE certpush_cert_time_left_seconds gauge\n"
	    "certpush_cert_time_left_seconds{kind=\"installed\",source=\"mail:/etc/postfix/"
	    "chain.pem\",item=\"\",name=\"-\"} -172800\n"
	    "certpush_cert_time_left_seconds{kind=\"endpoint\",source=\"front/10.0.0.1:443/"
	    "www.example.test\",item=\"www\",name=\"www.example.test\"} 3456000\n"
	    "certpush_cert_time_left_seconds{kind=\"file\",source=\"/etc/ssl/a.pem\",item=\"\","
	    "name=\"a.example.test\"} 867600\n"
	    "certpush_cert_time_left_seconds{kind=\"source\",source=\"mail\",item=\"mail\","
	    "name=\"mail.example.test\"} 5184000\n"
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorting),
		cmocka_unit_test(test_render_nagios),
		cmocka_unit_test(test_render_prometheus),
		cmocka_unit_test(test_render_json),
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_render_empty),
	};

	return cmocka_run_group_tests_name("audit outputs", tests, NULL, NULL);
}
