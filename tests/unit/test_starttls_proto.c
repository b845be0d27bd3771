/*
 * The STARTTLS dialogues of starttls_proto.c against a scripted peer on
 * the other end of a socketpair: what real daemons send passes, and every
 * malformed, truncated, oversized or refusing answer fails with a reason
 * that names the step.  On success, the dialogue must have sent exactly
 * the protocol's request and read nothing past the plain-text exchange:
 * the bytes after it (here "TLS!") belong to the TLS handshake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "starttls.h"

#include "testutil.c"

#define AFTER	"TLS!"

struct run {
	struct err	 e;
	char		 sent[4096];	/* what the dialogue sent */
	size_t		 nsent;
	int		 rest_ok;	/* the peer's bytes after the exchange are intact */
};

/*
 * Runs the dialogue of st (host: the endpoint's name) against a peer that
 * has already sent script (len bytes), followed by AFTER if after is set,
 * then closed its sending side.  Returns the dialogue's result.
 */
static int
run(enum starttls st, const char *host, const void *script, size_t len, int after,
    struct run *r)
{
	struct pio p;
	int sv[2], rc;
	char rest[sizeof(AFTER)];
	ssize_t n;

	memset(r, 0, sizeof(*r));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], script, len), (ssize_t)len);
	if (after)
		assert_int_equal(write(sv[1], AFTER, strlen(AFTER)), (ssize_t)strlen(AFTER));
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	p = (struct pio){ .fd = sv[0], .deadline = clock_ms() + 5000,
	    .budget = PIO_BUDGET, .e = &r->e, .host = host };
	rc = starttls_dialogue(st, &p);
	if (rc == 0) {
		memset(rest, 0, sizeof(rest));
		n = recv(sv[0], rest, sizeof(rest) - 1, 0);
		r->rest_ok = n == (ssize_t)strlen(AFTER) && strcmp(rest, AFTER) == 0;
	}
	close(sv[0]);
	n = read(sv[1], r->sent, sizeof(r->sent) - 1);
	r->nsent = n > 0 ? (size_t)n : 0;
	r->sent[r->nsent] = '\0';
	close(sv[1]);
	return rc;
}

/* The dialogue succeeds, sends want, and leaves the TLS bytes unread. */
static void
ok(enum starttls st, const char *host, const char *script, const char *want)
{
	struct run r;

	if (run(st, host, script, strlen(script), 1, &r) != 0)
		fail_msg("%s: %s", starttls_name(st), r.e.msg);
	assert_true(r.rest_ok);
	assert_string_equal(r.sent, want);
}

/* The dialogue fails with a message containing why. */
static void
bad(enum starttls st, const char *script, size_t len, const char *why)
{
	struct run r;

	if (run(st, "svc.test", script, len, 0, &r) == 0)
		fail_msg("%s accepted %.60s", starttls_name(st), script);
	if (!tu_contains(r.e.msg, why))
		fail_msg("%s: \"%s\" does not say \"%s\"", starttls_name(st), r.e.msg, why);
	assert_true(tu_contains(r.e.msg, "STARTTLS"));
}

#define BAD(st, script, why)	bad(st, script, sizeof(script) - 1, why)

/* -------------------------------------------------------------- table */

static void
test_names(void **state)
{
	static const char *const names[] = { "postgres", "sieve", "lmtp", "xmpp",
	    "xmpp-server", "ldap", "ftp", "mysql" };
	enum starttls st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(starttls_parse(names[i], &st), 0);
		assert_string_equal(starttls_name(st), names[i]);
	}
	assert_int_equal(starttls_parse("xmpp-client", &st), -1);
	assert_int_equal(starttls_parse("Postgres", &st), -1);
	assert_int_equal(starttls_parse("mariadb", &st), -1);
}

/* ---------------------------------------------------------- PostgreSQL */

static const char pg_request[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";

static void
test_postgres(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(TLS_POSTGRES, NULL, "S", 1, 1, &r), 0);
	assert_true(r.rest_ok);
	assert_int_equal(r.nsent, 8);
	assert_memory_equal(r.sent, pg_request, 8);
	BAD(TLS_POSTGRES, "N", "does not offer TLS");
	/* An ErrorResponse ('E'), as from a server too old for SSLRequest. */
	BAD(TLS_POSTGRES, "EFATAL", "unexpected answer 0x45");
	BAD(TLS_POSTGRES, "", "SSLRequest: connection closed");
}

/* --------------------------------------------------------- ManageSieve */

#define SIEVE_CAPS \
	"\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n" \
	"\"SIEVE\" \"fileinto reject envelope\"\r\n" \
	"\"NOTIFY\" \"mailto\"\r\n" \
	"\"SASL\" \"\"\r\n"

static void
test_sieve(void **state)
{
	char many[80 * 70];
	size_t i;

	(void)state;
	ok(TLS_SIEVE, NULL, SIEVE_CAPS "\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n"
	    "OK \"Dovecot ready.\"\r\nOK \"Begin TLS negotiation now.\"\r\n",
	    "STARTTLS\r\n");
	ok(TLS_SIEVE, NULL, "\"starttls\"\nOK\nOK\n", "STARTTLS\r\n");
	BAD(TLS_SIEVE, SIEVE_CAPS "OK \"Dovecot ready.\"\r\n", "does not offer STARTTLS");
	BAD(TLS_SIEVE, "\"STARTTLS\"\r\nOK\r\nNO \"TLS unavailable\"\r\n",
	    "STARTTLS STARTTLS: unexpected reply \"NO \"TLS unavailable\"\"");
	BAD(TLS_SIEVE, "\"STARTTLS\"\r\nBYE \"Too many connections\"\r\n",
	    "greeting: unexpected reply \"BYE");
	BAD(TLS_SIEVE, "* OK IMAP4rev1\r\n", "greeting: unexpected reply \"* OK IMAP4rev1\"");
	BAD(TLS_SIEVE, "\"STARTTLS\"\r\nOKAY\r\n", "unexpected reply \"OKAY\"");
	BAD(TLS_SIEVE, "\"STARTTLS\"\r\n", "greeting: connection closed");
	for (i = 0; i < 70; i++)
		memcpy(many + i * 12, "\"STARTTLS\"\r\n", 12);
	bad(TLS_SIEVE, many, 70 * 12, "more than 64 lines");
}

/* ---------------------------------------------------------------- LMTP */

static void
test_lmtp(void **state)
{
	(void)state;
	ok(TLS_LMTP, NULL, "220 mail.test Dovecot ready.\r\n"
	    "250-mail.test\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-PIPELINING\r\n250-STARTTLS\r\n250 XCLIENT ADDR\r\n"
	    "220 2.0.0 Begin TLS negotiation now.\r\n",
	    "LHLO certpull.invalid\r\nSTARTTLS\r\n");
	ok(TLS_LMTP, NULL, "220-one\r\n220 two\r\n250 STARTTLS\r\n220\r\n",
	    "LHLO certpull.invalid\r\nSTARTTLS\r\n");
	BAD(TLS_LMTP, "220 ready\r\n250-mail.test\r\n250 PIPELINING\r\n",
	    "LHLO: the server does not offer STARTTLS");
	BAD(TLS_LMTP, "220 ready\r\n250-STARTTLSX\r\n250 PIPELINING\r\n",
	    "does not offer STARTTLS");
	BAD(TLS_LMTP, "421 too busy\r\n", "greeting: unexpected reply \"421 too busy\"");
	BAD(TLS_LMTP, "220-ready\r\nmore\r\n", "greeting: unexpected reply \"more\"");
	BAD(TLS_LMTP, "220 ready\r\n250 STARTTLS\r\n454 TLS not available\r\n",
	    "STARTTLS STARTTLS: unexpected reply \"454 TLS not available\"");
	BAD(TLS_LMTP, "220 ready\r\n250-STARTTLS\r\n251 ok\r\n", "LHLO: unexpected reply");
	BAD(TLS_LMTP, "22", "greeting: connection closed");
}

/* ----------------------------------------------------------------- FTP */

static void
test_ftp(void **state)
{
	char longline[1100];

	(void)state;
	ok(TLS_FTP, NULL, "220 (vsFTPd 3.0.3)\r\n234 Proceed with negotiation.\r\n",
	    "AUTH TLS\r\n");
	/* RFC 959 multi-line: the lines inside may be any text. */
	ok(TLS_FTP, NULL, "220-Welcome\r\n   to this server\r\n220-\r\n220 ready\r\n"
	    "234-AUTH TLS ok\r\n234 go\r\n", "AUTH TLS\r\n");
	BAD(TLS_FTP, "500 OOPS: vsftpd: both local and anonymous access disabled!\r\n",
	    "greeting: unexpected reply \"500 OOPS");
	BAD(TLS_FTP, "220 ready\r\n530 Please login with USER and PASS.\r\n",
	    "AUTH TLS: unexpected reply \"530");
	BAD(TLS_FTP, "220 ready\r\n534 Policy\r\n", "AUTH TLS: unexpected reply");
	BAD(TLS_FTP, "SSH-2.0-OpenSSH_9.2\r\n", "greeting: unexpected reply \"SSH-2.0");
	/* What the peer sent is shown escaped. */
	BAD(TLS_FTP, "\033[2J220 x\r\n", "unexpected reply \"\\x1b[2J220 x\"");
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "220 ", 4);
	bad(TLS_FTP, longline, sizeof(longline), "line longer than 1024 bytes");
}

/* ---------------------------------------------------------------- XMPP */

#define XMPP_HEAD(ns) \
	"<?xml version='1.0'?><stream:stream xmlns='" ns "' " \
	"xmlns:stream='http://etherx.jabber.org/streams' id='4b7e' from='svc.test' " \
	"version='1.0' xml:lang='en'>"
#define XMPP_FEATURES \
	"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>" \
	"<required/></starttls></stream:features>"
#define XMPP_PROCEED	"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
#define XMPP_ASK	"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"

static void
test_xmpp(void **state)
{
	char big[6000];

	(void)state;
	ok(TLS_XMPP, "svc.test", XMPP_HEAD("jabber:client") XMPP_FEATURES XMPP_PROCEED,
	    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' to='svc.test' version='1.0'>"
	    XMPP_ASK);
	ok(TLS_XMPP_SERVER, "svc.test", XMPP_HEAD("jabber:server")
	    "\n <stream:features>\n  <dialback xmlns='urn:xmpp:features:dialback'/>\n"
	    "  <starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>\n</stream:features>\n"
	    "<proceed xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"></proceed>",
	    "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' to='svc.test' "
	    "from='certpull.invalid' version='1.0'>" XMPP_ASK);
	/* A '>' inside a quoted attribute value does not end the tag. */
	ok(TLS_XMPP, "svc.test", XMPP_HEAD("jabber:client") "<stream:features>"
	    "<x a='1>2'/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
	    "</stream:features>" XMPP_PROCEED, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
	    "to='svc.test' version='1.0'>" XMPP_ASK);
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") "<stream:features><mechanisms "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
	    "</mechanisms></stream:features>", "does not offer STARTTLS");
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") "<stream:features/>",
	    "does not offer STARTTLS");
	/* starttls of another namespace is not the offer. */
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") "<stream:features><starttls "
	    "xmlns='urn:example'/></stream:features>", "does not offer STARTTLS");
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") "<stream:error><host-unknown "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
	    "stream: stream error host-unknown");
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") XMPP_FEATURES
	    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "answered <failure/>");
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") XMPP_FEATURES "<proceed/>",
	    "starttls: unexpected reply \"<proceed/>\"");
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") XMPP_FEATURES
	    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'><x/>",
	    "starttls: unexpected reply \"<x/>\"");
	BAD(TLS_XMPP, "<html><body>", "stream: unexpected reply \"<html>\"");
	BAD(TLS_XMPP, "<stream:features>", "stream: unexpected reply");
	BAD(TLS_XMPP, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>",
	    "stream: unexpected reply");
	BAD(TLS_XMPP, "HTTP/1.1 400 Bad Request\r\n\r\n", "stream: connection closed");
	BAD(TLS_XMPP, XMPP_HEAD("jabber:client") "<stream:features><a\0b>",
	    "NUL byte in a tag");
	memset(big, ' ', sizeof(big));
	memcpy(big, "<a", 2);
	bad(TLS_XMPP, big, sizeof(big), "tag longer than 1024 bytes");
	memset(big, 'x', sizeof(big));
	bad(TLS_XMPP, big, sizeof(big), "more than 4096 bytes of text");
}

static void
test_xmpp_host(void **state)
{
	struct run r;
	static const char s[] = XMPP_HEAD("jabber:client") XMPP_FEATURES XMPP_PROCEED;

	(void)state;
	/* The host goes into an attribute: one that would break out is refused. */
	assert_int_equal(run(TLS_XMPP, "a' from='evil", s, sizeof(s) - 1, 1, &r), -1);
	assert_true(tu_contains(r.e.msg, "host name unfit for XMPP"));
	assert_int_equal(r.nsent, 0);
}

/* ---------------------------------------------------------------- LDAP */

static const char ldap_request[] = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
    "1.3.6.1.4.1.1466.20037";
#define LDAP_OK	"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00"

static void
test_ldap(void **state)
{
	struct run r;
	/* With the responseName, as Active Directory and 389-ds send it. */
	static const char named[] = "\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00"
	    "\x04\x00\x8a\x16" "1.3.6.1.4.1.1466.20037";
	/* Long-form lengths. */
	static const char longform[] = "\x30\x81\x0e\x02\x01\x01\x78\x82\x00\x07"
	    "\x0a\x01\x00\x04\x00\x04\x00";

	(void)state;
	assert_int_equal(run(TLS_LDAP, NULL, LDAP_OK, sizeof(LDAP_OK) - 1, 1, &r), 0);
	assert_true(r.rest_ok);
	assert_int_equal(r.nsent, sizeof(ldap_request) - 1);
	assert_memory_equal(r.sent, ldap_request, sizeof(ldap_request) - 1);
	assert_int_equal(run(TLS_LDAP, NULL, named, sizeof(named) - 1, 1, &r), 0);
	assert_true(r.rest_ok);
	assert_int_equal(run(TLS_LDAP, NULL, longform, sizeof(longform) - 1, 1, &r), 0);
	assert_true(r.rest_ok);
	/* protocolError, with slapd's diagnostic message. */
	BAD(TLS_LDAP, "\x30\x2a\x02\x01\x01\x78\x25\x0a\x01\x02\x04\x00\x04\x1e"
	    "unsupported extended operation",
	    "resultCode 2 \"unsupported extended operation\"");
	BAD(TLS_LDAP, "\x30\x0d\x02\x01\x01\x78\x08\x0a\x01\x34\x04\x00\x04\x01\n",
	    "resultCode 52 \"\\n\"");
	/* The unsolicited Notice of Disconnection (message 0). */
	BAD(TLS_LDAP, "\x30\x0c\x02\x01\x00\x78\x07\x0a\x01\x00\x04\x00\x04\x00",
	    "malformed ExtendedResponse");
	/* A response of another kind (a BindResponse). */
	BAD(TLS_LDAP, "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00",
	    "malformed");
	/* A byte too many inside, an inner length past the end, a high tag. */
	BAD(TLS_LDAP, "\x30\x0d\x02\x01\x01\x78\x08\x0a\x01\x00\x04\x00\x04\x00\x00",
	    "malformed");
	BAD(TLS_LDAP, "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x05\x04\x00",
	    "malformed");
	BAD(TLS_LDAP, "\x30\x0c\x02\x01\x01\x7f\x07\x0a\x01\x00\x04\x00\x04\x00",
	    "malformed");
	/* Optional fields out of order or repeated. */
	BAD(TLS_LDAP, "\x30\x10\x02\x01\x01\x78\x0b\x0a\x01\x00\x04\x00\x04\x00"
	    "\x8b\x00\x8a\x00", "malformed");
	BAD(TLS_LDAP, "\x30\x10\x02\x01\x01\x78\x0b\x0a\x01\x00\x04\x00\x04\x00"
	    "\x8a\x00\x8a\x00", "malformed");
	BAD(TLS_LDAP, "\x30\x82\x10\x01", "more than 4096");
	BAD(TLS_LDAP, "\x30\x83\x00\x00\x01", "bad BER length 0x83");
	BAD(TLS_LDAP, "\x30\x80", "bad BER length 0x80");
	BAD(TLS_LDAP, "\x16\x03\x01", "not an LDAP message (first byte 0x16)");
	BAD(TLS_LDAP, "\x30\x0c\x02\x01", "connection closed");
}

/* --------------------------------------------------------------- MySQL */

/* MariaDB 10.11's greeting (scramble bytes made up). */
#define MARIADB_HELLO \
	"\x0a" "5.5.5-10.11.6-MariaDB-0+deb12u1\0" "\x05\x00\x00\x00" \
	"abcdefgh" "\x00" "\xfe\xff" "\x2d" "\x02\x00" "\xff\x81" "\x15" \
	"\0\0\0\0\0\0" "\x1d\x00\x00\x00" "ijklmnopqrst" "\0" "mysql_native_password\0"

static const uint8_t ssl_request[36] = {
	0x20, 0x00, 0x00, 0x01, 0x85, 0xae, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21,
};

/* The packet header of a payload of len bytes, sequence seq, then payload. */
static size_t
packet(char *out, const char *payload, size_t len, unsigned seq)
{
	out[0] = (char)(len & 0xff);
	out[1] = (char)(len >> 8 & 0xff);
	out[2] = (char)(len >> 16 & 0xff);
	out[3] = (char)seq;
	memcpy(out + 4, payload, len);
	return len + 4;
}

static void
test_mysql(void **state)
{
	static const char hello[] = MARIADB_HELLO;
	char buf[2048], nossl[sizeof(hello)], big[1100];
	struct run r;
	size_t n;

	(void)state;
	n = packet(buf, hello, sizeof(hello) - 1, 0);
	assert_int_equal(run(TLS_MYSQL, NULL, buf, n, 1, &r), 0);
	assert_true(r.rest_ok);
	assert_int_equal(r.nsent, sizeof(ssl_request));
	assert_memory_equal(r.sent, ssl_request, sizeof(ssl_request));
	/* Without CLIENT_SSL (0x0800 of the low capability flags, little-endian). */
	memcpy(nossl, hello, sizeof(hello));
	nossl[sizeof("5.5.5-10.11.6-MariaDB-0+deb12u1") + 13 + 2] &= ~0x08;
	n = packet(buf, nossl, sizeof(hello) - 1, 0);
	bad(TLS_MYSQL, buf, n, "does not offer TLS");
	n = packet(buf, "\xff\x6a\x04Host '10.0.0.9' is not allowed to connect", 42, 0);
	bad(TLS_MYSQL, buf, n, "refused us: error 1130 \"Host '10.0.0.9' is not allowed");
	n = packet(buf, hello, sizeof(hello) - 1, 1);
	bad(TLS_MYSQL, buf, n, "packet sequence 1, not 0");
	n = packet(buf, "\x09" "4.0\0", 5, 0);
	bad(TLS_MYSQL, buf, n, "not a MySQL handshake v10 (first byte 0x09)");
	n = packet(buf, "\x0a" "no terminator", 14, 0);
	bad(TLS_MYSQL, buf, n, "malformed (server version)");
	n = packet(buf, "\x0a" "v\0" "\x05\x00\x00\x00" "abcdefgh" "\x00\xff", 16, 0);
	bad(TLS_MYSQL, buf, n, "malformed (too short)");
	n = packet(buf, "\x0a" "v\0" "\x05\x00\x00\x00" "abcdefgh" "\x01\xff\xff", 17, 0);
	bad(TLS_MYSQL, buf, n, "malformed (too short)");
	memset(big, 'v', sizeof(big));
	big[0] = 0x0a;
	n = packet(buf, big, sizeof(big), 0);
	bad(TLS_MYSQL, buf, n, "packet of 1100 bytes, more than 1024");
	bad(TLS_MYSQL, "\x10\x00\x00\x00\x0a", 5, "handshake: connection closed");
	BAD(TLS_MYSQL, "", "handshake: connection closed");
}

/* ---------------------------------------------------- bounds of the peer */

/* A peer that says nothing is cut at the deadline; one that floods, by the budget. */
static void
test_bounds(void **state)
{
	static const char head[] = XMPP_HEAD("jabber:client") "<stream:features>";
	struct err e;
	struct pio p;
	int sv[2];
	char tag[1000];
	size_t i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	p = (struct pio){ .fd = sv[0], .deadline = clock_ms() + 300,
	    .budget = PIO_BUDGET, .e = &e, .host = "svc.test" };
	assert_int_equal(starttls_dialogue(TLS_XMPP, &p), -1);
	assert_true(tu_contains(e.msg, "timed out"));
	/* Features of well-formed tags, each within the tag cap, past the budget. */
	memset(tag, 'x', sizeof(tag));
	memcpy(tag, "<a b='", 6);
	memcpy(tag + sizeof(tag) - 3, "'/>", 3);
	assert_int_equal(write(sv[1], head, sizeof(head) - 1), (ssize_t)sizeof(head) - 1);
	for (i = 0; i < 8; i++)
		assert_int_equal(write(sv[1], tag, sizeof(tag)), (ssize_t)sizeof(tag));
	p = (struct pio){ .fd = sv[0], .deadline = clock_ms() + 5000,
	    .budget = 4000, .e = &e, .host = "svc.test" };
	assert_int_equal(starttls_dialogue(TLS_XMPP, &p), -1);
	if (!tu_contains(e.msg, "too much"))
		fail_msg("%s", e.msg);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_postgres),
		cmocka_unit_test(test_sieve),
		cmocka_unit_test(test_lmtp),
		cmocka_unit_test(test_ftp),
		cmocka_unit_test(test_xmpp),
		cmocka_unit_test(test_xmpp_host),
		cmocka_unit_test(test_ldap),
		cmocka_unit_test(test_mysql),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
