/*
 * The STARTTLS table, the escaping of untrusted text, and the one
 * deadline of tls_probe: peers on loopback that trickle a byte at a time
 * (in an SMTP greeting, inside the TLS handshake) must be cut at the
 * timeout, however often a byte arrives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "starttls.h"
#include "tlsprobe.h"

#include "testutil.c"

/* ------------------------------------------------------------------ table */

static void
test_parse(void **state)
{
	enum starttls st;
	char list[256];

	(void)state;
	assert_int_equal(starttls_parse("none", &st), 0);
	assert_int_equal(st, TLS_NONE);
	assert_int_equal(starttls_parse("smtp", &st), 0);
	assert_int_equal(st, TLS_SMTP);
	assert_int_equal(starttls_parse("imap", &st), 0);
	assert_int_equal(st, TLS_IMAP);
	assert_int_equal(starttls_parse("pop3", &st), 0);
	assert_int_equal(st, TLS_POP3);
	assert_int_equal(starttls_parse("SMTP", &st), -1);
	assert_int_equal(starttls_parse("", &st), -1);
	assert_int_equal(starttls_parse("smtps", &st), -1);
	assert_string_equal(starttls_name(TLS_POP3), "pop3");
	assert_string_equal(starttls_name((enum starttls)99), "?");
	starttls_names(list, sizeof(list));
	assert_true(strncmp(list, "none, smtp, imap, pop3", 22) == 0);
}

/* --------------------------------------------------------------- escaping */

static void
test_escape(void **state)
{
	char out[64], tiny[8];

	(void)state;
	assert_string_equal(str_escape_ctl(out, sizeof(out), "plain text"), "plain text");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "a\r\nFAKE ok line"),
	    "a\\r\\nFAKE ok line");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "\x1b[31m\t\\"),
	    "\\x1b[31m\\t\\");
	/* Idempotent: every layer may apply it again. */
	assert_string_equal(str_escape_ctl(out, sizeof(out), "\\x1b[31m\\t\\r"),
	    "\\x1b[31m\\t\\r");
	/* From memory: NULs, backslashes on request, a sequence cut by the end. */
	assert_string_equal(str_escape_mem(out, sizeof(out), "a\0b\\", 4, ESC_BACKSLASH),
	    "a\\x00b\\\\");
	assert_string_equal(str_escape_mem(out, sizeof(out), "\xc3\xa9", 1, 0), "\\xc3");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "del\x7f"), "del\\x7f");
	/* Well-formed UTF-8 passes; a lone byte, an overlong form, C1 and RLO do not. */
	assert_string_equal(str_escape_ctl(out, sizeof(out), "caf\xc3\xa9"), "caf\xc3\xa9");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "\xff\xc3"), "\\xff\\xc3");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "\xc0\xaf"), "\\xc0\\xaf");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "\xc2\x9b"), "\\xc2\\x9b");
	assert_string_equal(str_escape_ctl(out, sizeof(out), "\xe2\x80\xae"),
	    "\\xe2\\x80\\xae");
	/* Cut at a piece boundary, marked. */
	assert_string_equal(str_escape_ctl(tiny, sizeof(tiny), "abcdefgh"), "abcd...");
	assert_string_equal(str_escape_ctl(tiny, sizeof(tiny), "abcdefg"), "abcdefg");
	assert_string_equal(str_escape_ctl(tiny, sizeof(tiny), "ab\n\n\n"), "ab\\n...");
	assert_string_equal(str_escape_ctl(tiny, 4, "\n"), "\\n");
	assert_string_equal(str_escape_ctl(tiny, 4, "\x01"), "...");
	strcpy(out, "x\ny");
	assert_string_equal(str_escape_inplace(out, sizeof(out)), "x\\ny");
}

/* ---------------------------------------------------------- hostile peers */

struct peer {
	pid_t		 pid;
	unsigned	 port;
};

/*
 * Forks a peer on loopback that accepts one connection, sends prefix
 * (len bytes) at once, then one byte of fill every 200 ms, at most 300
 * of them (so that it ends by itself), and reads whatever comes.
 */
static void
peer_start(struct peer *p, const char *prefix, size_t len, char fill)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int lfd, fd, i;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	p->port = ntohs(sin.sin_port);
	assert_true((p->pid = fork()) != -1);
	if (p->pid > 0) {
		close(lfd);
		return;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	if (len > 0 && send(fd, prefix, len, 0) != (ssize_t)len)
		_exit(1);
	for (i = 0; i < 300; i++) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		char junk[256];

		nanosleep(&ts, NULL);
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		if (send(fd, &fill, 1, 0) != 1)
			_exit(0);
	}
	_exit(0);
}

static void
peer_stop(struct peer *p)
{
	kill(p->pid, SIGTERM);
	waitpid(p->pid, NULL, 0);
}

/* Probes the peer with a 1.5 s timeout; the call fails; returns its error. */
static const char *
probe_peer(struct peer *p, enum starttls st, struct err *e)
{
	struct probe pr;

	assert_int_equal(tls_probe("127.0.0.1", p->port, "x.test", st, 1500, &pr, e), -1);
	assert_null(pr.leaf);
	assert_null(pr.chain);
	return e->msg;
}

static void
test_trickled_greeting(void **state)
{
	struct peer p;
	struct err e;

	(void)state;
	/* Each byte comes well within the timeout: only a total deadline cuts it. */
	peer_start(&p, "220", 3, '-');
	probe_peer(&p, TLS_SMTP, &e);
	peer_stop(&p);
	assert_string_equal(e.msg, "STARTTLS greeting: timed out");
}

static void
test_trickled_handshake(void **state)
{
	/* A TLS handshake record announcing 16 KiB, then its body byte by byte. */
	static const char hdr[] = { 0x16, 0x03, 0x03, 0x40, 0x00 };
	struct peer p;
	struct err e;

	(void)state;
	peer_start(&p, hdr, sizeof(hdr), 'A');
	probe_peer(&p, TLS_NONE, &e);
	peer_stop(&p);
	assert_string_equal(e.msg, "TLS handshake: timed out");
	/* The same after a complete SMTP dialogue. */
	peer_start(&p, "220 hi\r\n250 ok\r\n220 go\r\n\x16\x03\x03\x40\x00", 29, 'A');
	probe_peer(&p, TLS_SMTP, &e);
	peer_stop(&p);
	assert_string_equal(e.msg, "TLS handshake: timed out");
}

static void
test_hostile_replies(void **state)
{
	static char big[PIO_LINE_MAX + 8];
	struct peer p;
	struct err e;

	(void)state;
	/* The peer's text reaches the error on one line, escaped. */
	peer_start(&p, "554 no\r\x1b[2Jspoofed\r\n", 21, 'x');
	probe_peer(&p, TLS_SMTP, &e);
	peer_stop(&p);
	assert_string_equal(e.msg,
	    "STARTTLS greeting: unexpected reply \"554 no\\r\\x1b[2Jspoofed\"");
	/* An endless line, and endless continuation lines, end early. */
	memset(big, 'a', sizeof(big));
	peer_start(&p, big, sizeof(big), 'a');
	probe_peer(&p, TLS_POP3, &e);
	peer_stop(&p);
	assert_string_equal(e.msg, "STARTTLS greeting: line longer than 1024 bytes");
	peer_start(&p, "220-a\r\n220-b\r\n", 14, '\n');
	probe_peer(&p, TLS_SMTP, &e);
	peer_stop(&p);
	assert_true(tu_contains(e.msg, "STARTTLS greeting: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_trickled_greeting),
		cmocka_unit_test(test_trickled_handshake),
		cmocka_unit_test(test_hostile_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
