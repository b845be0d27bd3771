/*
 * The YAML reader under the configurations (common/yconf.c): what it must
 * refuse before any key is looked at, each with the exact message and
 * its real line:column.  A second document, bytes libyaml's reader
 * refuses (it gives only a byte offset), scanner errors, and nesting past
 * YCONF_MAX_DEPTH, including the 100,000-level file that libyaml alone
 * took 20 s over (refused here at the 65th level; no duration asserted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushconf.h"
#include "yconf.h"

#include "testutil.c"

struct ycase {
	const char	*name;
	const char	*text;
	size_t		 len;	/* 0: strlen(text) */
	/* The message after "t.yaml"; NULL if the text must load. */
	const char	*want;
};

#define CASE(n, t, w)	{ (n), (t), sizeof(t) - 1, (w) }

static const struct ycase cases[] = {
	/* Item 11: yaml_parser_load read the first document only. */
	CASE("second document after ---", "a: 1\n---\nb: 2\n",
	    ":2:1: a second YAML document (\"---\"): a configuration is one document"),
	CASE("second document after ... and ---", "a: 1\n...\n---\nb: 2\n",
	    ":3:1: a second YAML document (\"---\"): a configuration is one document"),
	/* libyaml wants "---" before a document after "...". */
	CASE("content after ...", "a: 1\n...\nb: 2\n",
	    ":3:1: YAML syntax error: did not find expected <document start>"),
	CASE("empty second document", "a: 1\n--- \n",
	    ":2:1: a second YAML document (\"---\"): a configuration is one document"),
	CASE("one document with --- and ...", "---\na: 1\n...\n", NULL),
	CASE("one document with a comment after ...", "a: 1\n...\n# end\n", NULL),

	/* Item 12: reader errors were reported at 1:1. */
	CASE("invalid UTF-8 on line 3", "a: 1\nb: 2\nc: \"\xff\"\n",
	    ":3:5: YAML syntax error: invalid leading UTF-8 octet"),
	CASE("NUL byte on line 2", "a: 1\nb: x\0y\n",
	    ":2:5: YAML syntax error: control characters are not allowed"),
	CASE("control character after a multibyte one", "a: 1\nb: \xc3\xa9\x01\n",
	    ":2:5: YAML syntax error: control characters are not allowed"),
	CASE("truncated UTF-8 sequence", "a: 1\n\nb: \xc3",
	    ":3:4: YAML syntax error: incomplete UTF-8 octet sequence"),
	/* Scanner and parser errors carry their own mark. */
	CASE("scanner error on line 2", "a: 1\nb: @x\n",
	    ":2:4: YAML syntax error: found character that cannot start any token "
	    "while scanning for the next token"),
	CASE("undefined alias", "a: 1\nb: *nope\n",
	    ":2:4: YAML syntax error: found undefined alias"),
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static void
run_case(void **state)
{
	const struct ycase *c = *state;
	struct yconf y;
	struct err e;
	char want[512];
	int rc;

	e.msg[0] = '\0';
	rc = yconf_load_string(&y, "t.yaml", c->text, c->len, &e);
	yconf_free(&y);
	if (c->want == NULL) {
		if (rc != 0)
			fail_msg("%s: refused: %s", c->name, e.msg);
		return;
	}
	snprintf(want, sizeof(want), "t.yaml%s", c->want);
	if (rc != -1)
		fail_msg("%s: accepted", c->name);
	if (strcmp(e.msg, want) != 0)
		fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", c->name, e.msg, want);
}

/* "a: " then depth - 1 nested flow lists: depth levels with the mapping. */
static char *
nested(size_t depth, size_t *len)
{
	size_t n = depth - 1, i;
	char *s = malloc(3 + 2 * n + 2);

	assert_non_null(s);
	memcpy(s, "a: ", 3);
	for (i = 0; i < n; i++) {
		s[3 + i] = '[';
		s[3 + n + i] = ']';
	}
	memcpy(s + 3 + 2 * n, "\n", 2);
	*len = 3 + 2 * n + 1;
	return s;
}

static void
test_depth_limit(void **state)
{
	struct yconf y;
	struct err e;
	size_t len;
	char *s;

	(void)state;
	s = nested(YCONF_MAX_DEPTH, &len);
	if (yconf_load_string(&y, "t.yaml", s, len, &e) != 0)
		fail_msg("%d levels refused: %s", YCONF_MAX_DEPTH, e.msg);
	yconf_free(&y);
	free(s);

	/* The 65th level is the 64th "[", at column 3 + 64. */
	s = nested(YCONF_MAX_DEPTH + 1, &len);
	assert_int_equal(yconf_load_string(&y, "t.yaml", s, len, &e), -1);
	yconf_free(&y);
	assert_string_equal(e.msg, "t.yaml:1:67: nested deeper than 64 levels");
	free(s);

	/* Block mappings count as flow lists do. */
	assert_int_equal(yconf_load_string(&y, "t.yaml", "a:\n b:\n  c: [[1]]\n",
	    strlen("a:\n b:\n  c: [[1]]\n"), &e), 0);
	yconf_free(&y);
}

/* The reviewer's file, through check-config's loader from a real file. */
static void
test_depth_100000_from_file(void **state)
{
	char dir[TU_PATH_MAX], path[TU_PATH_MAX];
	struct pushconf pc;
	struct err e;
	size_t len;
	char *s, want[TU_PATH_MAX + 64];

	(void)state;
	assert_int_equal(tu_mkdtemp(dir), 0);
	s = nested(100000, &len);
	assert_int_equal(tu_write(dir, "certpush.yaml", s, len, 0600, path), 0);
	free(s);
	assert_int_equal(pushconf_load(path, &pc, &e), -1);
	snprintf(want, sizeof(want), "%s:1:67: nested deeper than 64 levels", path);
	assert_string_equal(e.msg, want);
	assert_int_equal(tu_rmtree(dir), 0);
}

int
main(void)
{
	static struct CMUnitTest tests[NCASES + 2];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].setup_func = NULL;
		tests[i].teardown_func = NULL;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[NCASES] = (struct CMUnitTest)cmocka_unit_test(test_depth_limit);
	tests[NCASES + 1] =
	    (struct CMUnitTest)cmocka_unit_test(test_depth_100000_from_file);
	return cmocka_run_group_tests_name("yconf", tests, NULL, NULL);
}
