/*
 * Mirror URLs: the {node} template and what counts as an https:// URL.
 * A table of templates with the URL each gives (or a refusal), beside
 * the bounds: an expansion that would not fit is refused, never cut.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fetch.h"
#include "http.h"

struct url_case {
	const char	*tmpl;
	const char	*node;
	const char	*want;	/* NULL: refused */
};

static const struct url_case url_cases[] = {
	{ "https://m.example/{node}.bundle", "mx1", "https://m.example/mx1.bundle" },
	{ "https://m.example/{node}/{node}.bundle", "web-2",
	    "https://m.example/web-2/web-2.bundle" },
	{ "https://m.example:8443/certpush/all.bundle", "mx1",
	    "https://m.example:8443/certpush/all.bundle" },
	{ "https://{node}.mirror.example/b", "a.b_c", "https://a.b_c.mirror.example/b" },
	/* Only the exact "{node}" is a placeholder. */
	{ "https://m.example/{Node}{node}{nod}", "x", "https://m.example/{Node}x{nod}" },
	{ "https://m.example/{node", "x", "https://m.example/{node" },
	{ "http://m.example/{node}.bundle", "mx1", NULL },
	{ "ftp://m.example/{node}", "mx1", NULL },
	{ "HTTPS://m.example/{node}", "mx1", NULL },
	{ "https://", "mx1", NULL },
	{ "{node}", "https://x", "https://x" },
	{ "https://m.example/a b", "mx1", NULL },
	{ "https://m.example/a\tb", "mx1", NULL },
	{ "https://m.example/\xc3\xa9", "mx1", NULL },
	{ "https://m.example/\x7f", "mx1", NULL },
};

static void
test_url_table(void **state)
{
	char out[HTTP_URL_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		int rc = fetch_url(c->tmpl, c->node, out, sizeof(out));

		if (c->want == NULL && rc != -1)
			fail_msg("%s with %s: accepted as %s", c->tmpl, c->node, out);
		if (c->want != NULL && (rc != 0 || strcmp(out, c->want) != 0))
			fail_msg("%s with %s: got %s (rc %d), want %s", c->tmpl, c->node,
			    rc == 0 ? out : "nothing", rc, c->want);
	}
}

/* The expansion must fit the buffer, terminator included: never cut. */
static void
test_url_bounds(void **state)
{
	char out[32], tmpl[HTTP_URL_MAX + 16], node[65];

	(void)state;
	assert_int_equal(fetch_url("https://m/{node}", "abcd", out, sizeof(out)), 0);
	assert_string_equal(out, "https://m/abcd");
	/* 10 + 21 = 31 characters fit 32 bytes; 32 do not. */
	assert_int_equal(fetch_url("https://m/{node}", "abcdefghijklmnopqrstu", out,
	    sizeof(out)), 0);
	assert_int_equal(strlen(out), 31);
	assert_int_equal(fetch_url("https://m/{node}", "abcdefghijklmnopqrstuv", out,
	    sizeof(out)), -1);
	assert_int_equal(fetch_url("https://m/abcdefghijklmnopqrstuv", "x", out,
	    sizeof(out)), -1);
	assert_int_equal(fetch_url("https://m/{node}{node}{node}", "abcdefgh", out,
	    sizeof(out)), -1);

	/* HTTP_URL_MAX characters pass http_url_ok; one more does not. */
	memset(node, 'n', 64);
	node[64] = '\0';
	memset(tmpl, 'a', sizeof(tmpl));
	memcpy(tmpl, "https://", 8);
	tmpl[HTTP_URL_MAX] = '\0';
	assert_int_equal(http_url_ok(tmpl), 0);
	tmpl[HTTP_URL_MAX] = 'a';
	tmpl[HTTP_URL_MAX + 1] = '\0';
	assert_int_equal(http_url_ok(tmpl), -1);
	/* Expanded past HTTP_URL_MAX through {node}: refused. */
	memcpy(tmpl + HTTP_URL_MAX - 10, "/{node}", 8);
	{
		char big[2 * HTTP_URL_MAX];

		assert_int_equal(fetch_url(tmpl, node, big, sizeof(big)), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_table),
		cmocka_unit_test(test_url_bounds),
	};

	return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
