/*
 * A target's answer on its way to certpush's outputs: parse_answer keeps
 * what the target wrote on one line (control characters escaped) in
 * every field that reaches the report, and the per-target state file
 * keeps an error on one line when saved and when read back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "tstate.h"

#include "testutil.c"

/* parse_answer of text with exit status; returns d's error. */
static const char *
answer(struct delivery *d, const char *text, int status)
{
	struct buf b = { (uint8_t *)text, strlen(text), strlen(text), 0 };

	memset(d, 0, sizeof(*d));
	d->result = DELIVERY_FAILED;
	parse_answer(d, &b, status);
	assert_null(strchr(d->error, '\n'));
	assert_null(strchr(d->error, '\r'));
	return d->error;
}

static void
test_answer_fields(void **state)
{
	struct delivery d;

	(void)state;
	/* A result that is no result: quoted, escaped. */
	assert_string_equal(answer(&d, "{\"result\":\"\\r\\nFAKE ok line\"}", 0),
	    "inconsistent answer: result \"\\r\\nFAKE ok line\" with exit status 0");
	/* Step and error of a failure. */
	assert_string_equal(answer(&d, "{\"result\":\"failed\",\"step\":\"x\\r\\nFAKE\","
	    "\"error\":\"e\\b\\f\\\\n\\r\\nFAKE ok line\",\"files\":\"untouched\"}", 1),
	    "x\\r\\nFAKE: e\\x08\\x0c\\\\n\\r\\nFAKE ok line (nothing changed)");
	/* A C1 control and a direction override, raw UTF-8 in the JSON. */
	assert_string_equal(answer(&d, "{\"result\":\"failed\",\"step\":\"s\","
	    "\"error\":\"\xc2\x9b" "31m \xe2\x80\xaegnp.exe\"}", 1),
	    "s: \\xc2\\x9b31m \\xe2\\x80\\xaegnp.exe");
	/* An answer that is not JSON: quoted, escaped. */
	assert_string_equal(answer(&d, "oops\r\rFAKE\n", 0), "certpull answered with "
	    "exit status 0 and no valid outcome line: \"oops\\r\\rFAKE\"");
	/* The fingerprint of a success, escaped too. */
	answer(&d, "{\"result\":\"installed\",\"serial\":7,\"served\":[{\"fingerprint\":"
	    "\"ab\\ncd\"}]}", 0);
	assert_int_equal(d.result, DELIVERY_INSTALLED);
	assert_string_equal(d.fingerprint, "ab\\ncd");
}

/* parse_answer of a dry run's verdict. */
static const char *
verdict(struct delivery *d, const char *text, int status)
{
	struct buf b = { (uint8_t *)text, strlen(text), strlen(text), 0 };

	memset(d, 0, sizeof(*d));
	d->dry_run = 1;
	d->result = DELIVERY_FAILED;
	parse_answer(d, &b, status);
	return d->error;
}

static void
test_answer_verdicts(void **state)
{
	struct delivery d;

	(void)state;
	verdict(&d, "{\"result\":\"verified\",\"serial\":5}", 0);
	assert_int_equal(d.result, DELIVERY_VERIFIED);
	assert_string_equal(delivery_result_name(d.result), "verified");
	/* A dry run changes nothing: no word about what is on disk. */
	assert_string_equal(verdict(&d, "{\"result\":\"failed\",\"step\":\"verify:key\","
	    "\"error\":\"not trusted\",\"files\":\"untouched\"}", 1),
	    "verify:key: not trusted");
	/* An older certpull: serve refuses (1), its parser rejects (64). */
	assert_string_equal(verdict(&d, "", 1), "the node's certpull refused the "
	    "verify-only request (exit status 1, no answer): it is older than this "
	    "certpush; nothing was checked there");
	assert_true(tu_contains(verdict(&d, "", 64), "(exit status 64, no answer)"));
	/* A node that installed what it was asked to verify says so. */
	assert_string_equal(verdict(&d, "{\"result\":\"installed\"}", 0),
	    "the node answered a verify-only request with \"installed\"");
	assert_int_equal(d.result, DELIVERY_FAILED);
}

static void
test_answer_left_and_changed(void **state)
{
	struct delivery d;

	(void)state;
	/* What a failure left on disk; no fingerprint for a failed target. */
	assert_string_equal(answer(&d, "{\"result\":\"failed\",\"step\":\"reload\","
	    "\"error\":\"web: reload failed\",\"files\":\"restored\",\"served\":"
	    "[{\"fingerprint\":\"AA:BB\"}]}", 1),
	    "reload: web: reload failed (previous files restored)");
	assert_string_equal(d.fingerprint, "");
	assert_int_equal(d.nchanged, 0);
	assert_true(tu_contains(answer(&d, "{\"result\":\"failed\",\"step\":\"finish\","
	    "\"error\":\"e\",\"files\":\"restore-pending\"}", 1),
	    "e (the next run restores the previous files)"));
	/* The items an install changed, each with its leaf; none for a key. */
	answer(&d, "{\"result\":\"installed\",\"changed\":[{\"item\":\"www\","
	    "\"fingerprint\":\"E4:B8:49:A1:00\"},{\"item\":\"dkim\",\"fingerprint\":null}]}",
	    0);
	assert_int_equal(d.result, DELIVERY_INSTALLED);
	assert_int_equal(d.nchanged, 2);
	assert_string_equal(d.changed[0].item, "www");
	assert_string_equal(d.changed[0].fingerprint, "E4:B8:49:A1:00");
	assert_string_equal(d.changed[1].item, "dkim");
	assert_string_equal(d.changed[1].fingerprint, "");
}

static void
test_state_error(void **state)
{
	struct tstate ts = { 0 }, back;
	struct err e;
	char path[TU_PATH_MAX];

	(void)state;
	snprintf(ts.error, sizeof(ts.error), "a\r\nFAKE ok line\x1b[2J");
	assert_int_equal(tstate_save(tu_dir, "t1", &ts, &e), 0);
	assert_int_equal(tstate_load(tu_dir, "t1", &back, &e), 0);
	assert_string_equal(back.error, "a\\r\\nFAKE ok line\\x1b[2J");
	/* A state file from before, or edited: read back on one line too. */
	assert_int_equal(tu_write(tu_dir, "targets/t2", "attempts 1\nerror x\ry\x1b\n", 23,
	    0600, path), 0);
	assert_int_equal(tstate_load(tu_dir, "t2", &back, &e), 0);
	assert_string_equal(back.error, "x\\ry\\x1b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_fields),
		cmocka_unit_test(test_answer_verdicts),
		cmocka_unit_test(test_answer_left_and_changed),
		cmocka_unit_test(test_state_error),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
