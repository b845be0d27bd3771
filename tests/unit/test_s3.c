/*
 * The s3: publishing pieces that need no server: the credentials file's
 * parser (a table of bad files, each with its exact message, beside good
 * ones) and the object URL built from the s3: section.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http.h"
#include "pushconf.h"
#include "s3.h"

struct creds_case {
	const char	*name;
	const char	*text;
	size_t		 len;	/* 0: strlen(text) */
	const char	*want;	/* NULL: parses; else the message after "c:" */
};

#define GOOD	"aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalr/K7+Mi=\n"

static const struct creds_case creds_cases[] = {
	{ "plain", GOOD, 0, NULL },
	{ "AWS CLI layout", "# bucket writer\n[default]\naws_access_key_id=AKIDEXAMPLE\n"
	    "\n  aws_secret_access_key =   wJalr/K7+Mi=  \n", 0, NULL },
	{ "no final newline", "aws_access_key_id = AKIDEXAMPLE\n"
	    "aws_secret_access_key = wJalr/K7+Mi=", 0, NULL },
	{ "empty", "", 0, ": needs aws_access_key_id and aws_secret_access_key" },
	{ "secret missing", "aws_access_key_id = A\n", 0,
	    ": needs aws_access_key_id and aws_secret_access_key" },
	{ "unknown key", GOOD "region = x\n", 0, ":3: unknown key \"region\"" },
	{ "other section", "[prod]\n" GOOD, 0, ":1: expected \"aws_access_key_id = ...\" or "
	    "\"aws_secret_access_key = ...\"" },
	{ "space in the secret", "aws_access_key_id = A\naws_secret_access_key = a b\n", 0,
	    ":2: aws_secret_access_key must be 1 to 128 of A-Z, a-z, 0-9, '+', '/', '=', "
	    "'_', '-', '.', '~'" },
	{ "colon in the id", "aws_access_key_id = A:B\naws_secret_access_key = s\n", 0,
	    ":1: aws_access_key_id must be 1 to 128 of A-Z, a-z, 0-9, '+', '/', '=', "
	    "'_', '-', '.', '~'" },
	{ "empty value", "aws_access_key_id =\naws_secret_access_key = s\n", 0,
	    ":1: aws_access_key_id must be 1 to 128 of A-Z, a-z, 0-9, '+', '/', '=', "
	    "'_', '-', '.', '~'" },
	{ "NUL byte", "aws_access_key_id = A\0B\naws_secret_access_key = s\n", 50,
	    ":1: a NUL byte" },
	{ "line too long", "aws_secret_access_key = "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	    0, ":1: line too long" },
};

static void
test_creds_table(void **state)
{
	struct s3_creds cr;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(creds_cases) / sizeof(creds_cases[0]); i++) {
		const struct creds_case *c = &creds_cases[i];
		char want[1100];
		int rc = s3_creds_parse("c", c->text, c->len ? c->len : strlen(c->text),
		    &cr, &e);

		if (c->want == NULL) {
			if (rc != 0)
				fail_msg("%s: refused: %s", c->name, e.msg);
			assert_string_equal(cr.access_key, "AKIDEXAMPLE");
			assert_string_equal(cr.secret_key, "wJalr/K7+Mi=");
			s3_creds_wipe(&cr);
			continue;
		}
		snprintf(want, sizeof(want), "c%s", c->want);
		if (rc != -1 || strcmp(e.msg, want) != 0)
			fail_msg("%s:\n  got  \"%s\" (rc %d)\n  want \"%s\"", c->name,
			    rc == -1 ? e.msg : "", rc, want);
		/* Nothing of a refused file is left behind. */
		assert_string_equal(cr.secret_key, "");
	}
}

static void
test_url(void **state)
{
	struct s3_conf s = { 0 };
	char url[HTTP_URL_MAX + 1], big[400];

	(void)state;
	s.endpoint = "https://s3.example.com";
	s.bucket = "certpush";
	s.prefix = "bundles/";
	assert_int_equal(s3_url(&s, "mx1", url, sizeof(url)), 0);
	assert_string_equal(url, "https://s3.example.com/certpush/bundles/mx1.bundle");
	s.prefix = "";
	assert_int_equal(s3_url(&s, "mx1", url, sizeof(url)), 0);
	assert_string_equal(url, "https://s3.example.com/certpush/mx1.bundle");
	/* Virtual-hosted: the endpoint names the bucket. */
	s.endpoint = "https://certpush.s3.eu-west-3.amazonaws.com";
	s.bucket = NULL;
	s.prefix = "n/";
	assert_int_equal(s3_url(&s, "mx1", url, sizeof(url)), 0);
	assert_string_equal(url, "https://certpush.s3.eu-west-3.amazonaws.com/n/mx1.bundle");
	assert_int_equal(s3_url(&s, "mx1", url, 20), -1);
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s.prefix = big;
	memset(url, 0, sizeof(url));
	s.endpoint = "https://s3.example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	/* Past HTTP_URL_MAX: refused, not cut. */
	assert_int_equal(s3_url(&s, "mx1", url, sizeof(url)), -1);
}

/* The s3: section as certpush.yaml gives it. */
static void
test_conf(void **state)
{
	static const char text[] =
	    "signing_key: /k\ncertificates:\n  - name: c\n    cert: /c.pem\n    key: /c.key\n"
	    "targets:\n  - name: t\n    type: local\n    items: [c]\n"
	    "s3:\n  endpoint: https://s3.example.com:9000///\n  bucket: my.bucket-1\n"
	    "  region: eu-west-3\n  prefix: a/b_c.d/\n  credentials_file: /etc/certpush/s3\n";
	struct pushconf c;
	struct err e;

	(void)state;
	if (pushconf_load_string("p.yaml", text, strlen(text), &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(c.s3.endpoint, "https://s3.example.com:9000");
	assert_string_equal(c.s3.bucket, "my.bucket-1");
	assert_string_equal(c.s3.region, "eu-west-3");
	assert_string_equal(c.s3.prefix, "a/b_c.d/");
	assert_string_equal(c.s3.credentials_file, "/etc/certpush/s3");
	assert_null(c.s3.ca_file);
	assert_int_equal(c.s3.timeout, 30);
	pushconf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_table),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests_name("s3", tests, NULL, NULL);
}
