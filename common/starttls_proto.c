/*
 * The STARTTLS dialogues of the rest of a mail and web estate: PostgreSQL,
 * ManageSieve, LMTP, XMPP (client and server streams), LDAP, FTP and
 * MySQL/MariaDB.  The table that names them, and the bounded I/O context
 * they talk through, are in starttls.c.
 *
 * Each dialogue accepts exactly the exchange the protocol defines up to the
 * point where TLS starts, and refuses anything else with a reason that
 * names the step and shows (escaped) what the peer sent: a peer that is not
 * the daemon we expect must not make a live check pass.  Nothing is read
 * past the last byte of the plain-text exchange, since the TLS handshake
 * follows on the same socket.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "starttls.h"

#define REPLY_LINES	64	/* lines of one multi-line reply */
#define SHOWN		96	/* bytes of peer text quoted in an error */

/* Prefixes p->e's reason with "STARTTLS <step>: ".  Returns -1. */
static int
failed(struct pio *p, const char *step)
{
	char reason[sizeof(p->e->msg)];

	memcpy(reason, p->e->msg, sizeof(reason));
	return err_set(p->e, "STARTTLS %s: %.300s", step, reason);
}

/* "STARTTLS <step>: unexpected reply "<text, escaped>"".  Returns -1. */
static int
unexpected(struct pio *p, const char *step, const char *text)
{
	char shown[SHOWN];

	return err_set(p->e, "STARTTLS %s: unexpected reply \"%s\"", step,
	    str_escape_ctl(shown, sizeof(shown), text));
}

static int
send_str(struct pio *p, const char *s, const char *step)
{
	return pio_write(p, s, strlen(s)) == -1 ? failed(p, step) : 0;
}

static int
line(struct pio *p, char *buf, size_t cap, const char *step)
{
	return pio_line(p, buf, cap) == -1 ? failed(p, step) : 0;
}

/* ------------------------------------------------------------- PostgreSQL */

/*
 * SSLRequest: length 8, code 80877103; the server answers one byte, 'S'
 * (TLS follows) or 'N' (no TLS), before anything else.
 */
int
dialogue_postgres(struct pio *p)
{
	static const unsigned char req[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	unsigned char c;

	if (pio_write(p, req, sizeof(req)) == -1)
		return failed(p, "SSLRequest");
	if (pio_read(p, &c, 1) == -1)
		return failed(p, "SSLRequest");
	if (c == 'S')
		return 0;
	if (c == 'N')
		return err_set(p->e, "STARTTLS SSLRequest: the server does not offer TLS");
	return err_set(p->e, "STARTTLS SSLRequest: unexpected answer 0x%02x", c);
}

/* ------------------------------------------------------------ ManageSieve */

/*
 * RFC 5804: the server greets with capability lines, each a quoted string
 * ("STARTTLS" among them), ended by OK; STARTTLS is answered by OK.  NO or
 * BYE end it.
 */
static int
sieve_response(struct pio *p, const char *step, int *starttls)
{
	char l[PIO_LINE_MAX + 1];
	int i;

	for (i = 0; i < REPLY_LINES; i++) {
		if (line(p, l, sizeof(l), step) == -1)
			return -1;
		if (strncasecmp(l, "OK", 2) == 0 && (l[2] == '\0' || l[2] == ' '))
			return 0;
		if (l[0] != '"' || starttls == NULL)
			return unexpected(p, step, l);
		if (strcasecmp(l, "\"STARTTLS\"") == 0)
			*starttls = 1;
	}
	return err_set(p->e, "STARTTLS %s: more than %d lines", step, REPLY_LINES);
}

int
dialogue_sieve(struct pio *p)
{
	int offered = 0;

	if (sieve_response(p, "greeting", &offered) == -1)
		return -1;
	if (!offered)
		return err_set(p->e, "STARTTLS greeting: the server does not offer STARTTLS");
	if (send_str(p, "STARTTLS\r\n", "STARTTLS") == -1)
		return -1;
	return sieve_response(p, "STARTTLS", NULL);
}

/* ------------------------------------------------------------ LMTP and FTP */

/*
 * One reply with three-digit code want: "CODE text", or a multi-line
 * "CODE-text" ... "CODE text".  In between, SMTP (RFC 5321) wants every
 * line to start with "CODE-"; FTP (RFC 959) allows any text (loose).  If
 * keyword is not NULL, *found tells whether a line's text was keyword (an
 * EHLO/LHLO extension).
 */
static int
coded_reply(struct pio *p, const char *want, int loose, const char *step,
    const char *keyword, int *found)
{
	char l[PIO_LINE_MAX + 1];
	int i, first = 1;

	for (i = 0; i < REPLY_LINES; i++) {
		if (line(p, l, sizeof(l), step) == -1)
			return -1;
		if (strncmp(l, want, 3) != 0 || (l[3] != ' ' && l[3] != '-' &&
		    l[3] != '\0')) {
			if (loose && !first)
				continue;
			return unexpected(p, step, l);
		}
		first = 0;
		if (keyword != NULL && l[3] != '\0' && (strcasecmp(l + 4, keyword) == 0 ||
		    (strncasecmp(l + 4, keyword, strlen(keyword)) == 0 &&
		    l[4 + strlen(keyword)] == ' ')))
			*found = 1;
		if (l[3] != '-')
			return 0;
	}
	return err_set(p->e, "STARTTLS %s: more than %d lines", step, REPLY_LINES);
}

/* RFC 2033: as SMTP, with LHLO; STARTTLS must be among the extensions. */
int
dialogue_lmtp(struct pio *p)
{
	int offered = 0;

	if (coded_reply(p, "220", 0, "greeting", NULL, NULL) == -1 ||
	    send_str(p, "LHLO certpull.invalid\r\n", "LHLO") == -1 ||
	    coded_reply(p, "250", 0, "LHLO", "STARTTLS", &offered) == -1)
		return -1;
	if (!offered)
		return err_set(p->e, "STARTTLS LHLO: the server does not offer STARTTLS");
	if (send_str(p, "STARTTLS\r\n", "STARTTLS") == -1)
		return -1;
	return coded_reply(p, "220", 0, "STARTTLS", NULL, NULL);
}

/* RFC 4217: 220 greeting, AUTH TLS, 234. */
int
dialogue_ftp(struct pio *p)
{
	if (coded_reply(p, "220", 1, "greeting", NULL, NULL) == -1 ||
	    send_str(p, "AUTH TLS\r\n", "AUTH TLS") == -1)
		return -1;
	return coded_reply(p, "234", 1, "AUTH TLS", NULL, NULL);
}

/* ------------------------------------------------------------------- XMPP */

#define XML_TAG_MAX	1024	/* one tag, attributes included */
#define XML_TEXT_MAX	4096	/* character data between two tags */
#define XML_TAGS	128	/* tags of the stream header and features */
#define NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"

/*
 * Reads the next tag ("<...>", quotes respected) into tag, skipping the
 * character data before it (bounded).  Reads nothing past its '>'.
 */
static int
xml_tag(struct pio *p, char *tag, size_t cap, const char *step)
{
	size_t n = 0, text = 0;
	char c, quote = 0;

	do {
		if (pio_read(p, &c, 1) == -1)
			return failed(p, step);
		if (c != '<' && ++text > XML_TEXT_MAX)
			return err_set(p->e, "STARTTLS %s: more than %d bytes of text",
			    step, XML_TEXT_MAX);
	} while (c != '<');
	tag[n++] = c;
	for (;;) {
		if (pio_read(p, &c, 1) == -1)
			return failed(p, step);
		if (c == '\0' || n + 1 >= cap)
			return err_set(p->e, "STARTTLS %s: %s", step, c == '\0' ?
			    "NUL byte in a tag" : "tag longer than 1024 bytes");
		tag[n++] = c;
		if (quote != 0 && c == quote)
			quote = 0;
		else if (quote == 0 && (c == '\'' || c == '"'))
			quote = c;
		else if (quote == 0 && c == '>')
			break;
	}
	tag[n] = '\0';
	return 0;
}

/* Whether tag is element name (start, empty or end tag as given by name). */
static int
xml_is(const char *tag, const char *name)
{
	size_t n = strlen(name);

	return strncmp(tag, name, n) == 0 && (tag[n] == ' ' || tag[n] == '>' ||
	    tag[n] == '/' || tag[n] == '\t' || tag[n] == '\r' || tag[n] == '\n');
}

static int
xml_empty(const char *tag)
{
	size_t n = strlen(tag);

	return n >= 2 && tag[n - 2] == '/';
}

/* Whether tag has the attribute name with value (either quote), after a space. */
static int
xml_attr(const char *tag, const char *name, const char *value)
{
	char a[128], b[128];

	snprintf(a, sizeof(a), " %s='%s'", name, value);
	snprintf(b, sizeof(b), " %s=\"%s\"", name, value);
	return strstr(tag, a) != NULL || strstr(tag, b) != NULL;
}

static int
xml_ns(const char *tag, const char *ns)
{
	return xml_attr(tag, "xmlns", ns);
}

/* After <stream:error>: the condition element names the reason. */
static int
xmpp_stream_error(struct pio *p, const char *step)
{
	char tag[XML_TAG_MAX + 1], shown[SHOWN];
	size_t n;

	if (xml_tag(p, tag, sizeof(tag), step) == -1)
		return -1;
	n = strcspn(tag + 1, " />\t\r\n");
	tag[1 + n] = '\0';
	return err_set(p->e, "STARTTLS %s: stream error %s", step,
	    str_escape_ctl(shown, sizeof(shown), tag + 1));
}

/* The server's stream header, then its features; 0 if STARTTLS is offered. */
static int
xmpp_features(struct pio *p)
{
	char tag[XML_TAG_MAX + 1];
	int i, offered = 0, in_features = 0;

	for (i = 0; i < XML_TAGS; i++) {
		if (xml_tag(p, tag, sizeof(tag), "stream") == -1)
			return -1;
		if (xml_is(tag, "<stream:error"))
			return xmpp_stream_error(p, "stream");
		if (!in_features) {
			if (i == 0 && strncmp(tag, "<?xml", 5) == 0 &&
			    strcmp(tag + strlen(tag) - 2, "?>") == 0)
				continue;
			if (xml_is(tag, "<stream:stream") && !xml_empty(tag) &&
			    i <= 1 && xml_attr(tag, "xmlns:stream",
			    "http://etherx.jabber.org/streams"))
				continue;
			if (!xml_is(tag, "<stream:features") || i == 0)
				return unexpected(p, "stream", tag);
			if (xml_empty(tag))
				break;
			in_features = 1;
			continue;
		}
		if (strcmp(tag, "</stream:features>") == 0)
			break;
		if (xml_is(tag, "<starttls") && xml_ns(tag, NS_TLS))
			offered = 1;
	}
	if (i == XML_TAGS)
		return err_set(p->e, "STARTTLS stream: more than %d tags", XML_TAGS);
	if (!offered)
		return err_set(p->e, "STARTTLS stream: the server does not offer STARTTLS");
	return 0;
}

/*
 * RFC 6120 section 5: open a stream to the host, read the features until
 * <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>, ask, expect
 * <proceed/>.  server: a server-to-server stream (jabber:server), which
 * also names who is asking.
 */
static int
xmpp(struct pio *p, int server)
{
	char open[512], tag[XML_TAG_MAX + 1];
	const char *host = p->host != NULL ? p->host : "";

	if (strpbrk(host, "'<>&\"") != NULL || strlen(host) > 255)
		return err_set(p->e, "STARTTLS stream: host name unfit for XMPP: %.80s",
		    host);
	snprintf(open, sizeof(open), "<?xml version='1.0'?><stream:stream xmlns='jabber:%s' "
	    "xmlns:stream='http://etherx.jabber.org/streams' to='%s'%s version='1.0'>",
	    server ? "server" : "client", host, server ? " from='certpull.invalid'" : "");
	if (send_str(p, open, "stream") == -1 || xmpp_features(p) == -1 ||
	    send_str(p, "<starttls xmlns='" NS_TLS "'/>", "starttls") == -1 ||
	    xml_tag(p, tag, sizeof(tag), "starttls") == -1)
		return -1;
	if (xml_is(tag, "<failure") && xml_ns(tag, NS_TLS))
		return err_set(p->e, "STARTTLS starttls: the server answered <failure/>");
	if (xml_is(tag, "<stream:error"))
		return xmpp_stream_error(p, "starttls");
	if (!xml_is(tag, "<proceed") || !xml_ns(tag, NS_TLS))
		return unexpected(p, "starttls", tag);
	if (xml_empty(tag))
		return 0;
	if (xml_tag(p, tag, sizeof(tag), "starttls") == -1)
		return -1;
	return strcmp(tag, "</proceed>") == 0 ? 0 : unexpected(p, "starttls", tag);
}

int
dialogue_xmpp(struct pio *p)
{
	return xmpp(p, 0);
}

int
dialogue_xmpp_server(struct pio *p)
{
	return xmpp(p, 1);
}

/* ------------------------------------------------------------------- LDAP */

#define LDAP_MSG_MAX	4096

/*
 * One BER element at *pos (before end): a one-byte tag (no high tag
 * numbers), a definite length (short form, or long form on 1 or 2 bytes),
 * contents within end.  Moves *pos past it; *val and *len give its
 * contents.  0 or -1.
 */
static int
ber_next(const uint8_t **pos, const uint8_t *end, uint8_t *tag,
    const uint8_t **val, size_t *len)
{
	const uint8_t *q = *pos;
	size_t l, k;

	if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
		return -1;
	*tag = *q++;
	l = *q++;
	if (l & 0x80) {
		k = l & 0x7f;
		if (k == 0 || k > 2 || (size_t)(end - q) < k)
			return -1;
		for (l = 0; k > 0; k--)
			l = l << 8 | *q++;
	}
	if ((size_t)(end - q) < l)
		return -1;
	*val = q;
	*len = l;
	*pos = q + l;
	return 0;
}

/* An INTEGER or ENUMERATED of 1 to 4 bytes, non-negative. */
static int
ber_uint(const uint8_t *v, size_t len, unsigned long *out)
{
	size_t i;

	if (len < 1 || len > 4 || (v[0] & 0x80))
		return -1;
	for (*out = 0, i = 0; i < len; i++)
		*out = *out << 8 | v[i];
	return 0;
}

/*
 * The ExtendedResponse to our message 1 (RFC 4511 4.12):
 * SEQUENCE { INTEGER 1, [APPLICATION 24] { ENUMERATED resultCode,
 * OCTET STRING matchedDN, OCTET STRING diagnosticMessage, [3] referral
 * OPTIONAL, [10] responseName OPTIONAL, [11] responseValue OPTIONAL } },
 * every byte accounted for.  0 with *code set, or -1 (malformed; the
 * diagnostic message, escaped, in diag).
 */
static int
ldap_extended_response(const uint8_t *msg, size_t len, unsigned long *code,
    char *diag, size_t dcap)
{
	const uint8_t *pos = msg, *end = msg + len, *v, *r, *rend;
	unsigned long id;
	size_t l, dl;
	uint8_t tag, last = 0;	/* tag number of the last optional field */
	char text[256];

	if (ber_next(&pos, end, &tag, &v, &l) == -1 || tag != 0x02 ||
	    ber_uint(v, l, &id) == -1 || id != 1 ||
	    ber_next(&pos, end, &tag, &r, &l) == -1 || tag != 0x78 || pos != end)
		return -1;
	rend = r + l;
	if (ber_next(&r, rend, &tag, &v, &l) == -1 || tag != 0x0a ||
	    ber_uint(v, l, code) == -1 ||
	    ber_next(&r, rend, &tag, &v, &l) == -1 || tag != 0x04 ||
	    ber_next(&r, rend, &tag, &v, &l) == -1 || tag != 0x04)
		return -1;
	dl = l < sizeof(text) - 1 ? l : sizeof(text) - 1;
	memcpy(text, v, dl);
	text[dl] = '\0';
	str_escape_ctl(diag, dcap, text);
	/* The optional fields, each at most once and in order. */
	while (r < rend) {
		if (ber_next(&r, rend, &tag, &v, &l) == -1 ||
		    (tag != 0xa3 && tag != 0x8a && tag != 0x8b) || (tag & 0x1f) <= last)
			return -1;
		last = tag & 0x1f;
	}
	return 0;
}

int
dialogue_ldap(struct pio *p)
{
	/* ExtendedRequest, message 1, requestName 1.3.6.1.4.1.1466.20037. */
	static const char req[] = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
	    "1.3.6.1.4.1.1466.20037";
	uint8_t head[4], msg[LDAP_MSG_MAX];
	unsigned long code;
	size_t len;
	char diag[SHOWN];

	if (pio_write(p, req, sizeof(req) - 1) == -1 || pio_read(p, head, 2) == -1)
		return failed(p, "ExtendedRequest");
	if (head[0] != 0x30)
		return err_set(p->e, "STARTTLS ExtendedRequest: not an LDAP message "
		    "(first byte 0x%02x)", head[0]);
	len = head[1];
	if (len == 0x81 || len == 0x82) {
		if (pio_read(p, head + 2, len - 0x80) == -1)
			return failed(p, "ExtendedRequest");
		len = len == 0x81 ? head[2] : (size_t)head[2] << 8 | head[3];
	} else if (len & 0x80)
		return err_set(p->e, "STARTTLS ExtendedRequest: bad BER length 0x%02x",
		    head[1]);
	if (len > sizeof(msg))
		return err_set(p->e, "STARTTLS ExtendedRequest: answer of %zu bytes, "
		    "more than %d", len, LDAP_MSG_MAX);
	if (pio_read(p, msg, len) == -1)
		return failed(p, "ExtendedRequest");
	if (ldap_extended_response(msg, len, &code, diag, sizeof(diag)) == -1)
		return err_set(p->e, "STARTTLS ExtendedRequest: malformed "
		    "ExtendedResponse");
	if (code != 0)
		return err_set(p->e, "STARTTLS ExtendedRequest: resultCode %lu \"%s\"",
		    code, diag);
	return 0;
}

/* ------------------------------------------------------------------ MySQL */

#define MYSQL_HANDSHAKE_MAX	1024
#define CLIENT_SSL		0x0800

/*
 * The server speaks first: one packet (3-byte length, sequence 0), the
 * Protocol::HandshakeV10 (version 10, NUL-terminated server version,
 * connection id, 8 bytes of scramble, a filler 0, the capability flags'
 * low half) or an ERR packet (0xff, code, message).  We ask for TLS with
 * the SSLRequest packet (sequence 1: capabilities with CLIENT_SSL and
 * CLIENT_PROTOCOL_41, max packet size, utf8mb4, 23 zero bytes) and the TLS
 * handshake follows at once, without an answer.
 */
static int
mysql_handshake(struct pio *p, const uint8_t *h, size_t len)
{
	const uint8_t *nul;
	char text[128], shown[SHOWN];
	size_t at;

	if (len >= 3 && h[0] == 0xff) {
		size_t n = len - 3 < sizeof(text) - 1 ? len - 3 : sizeof(text) - 1;

		memcpy(text, h + 3, n);
		text[n] = '\0';
		return err_set(p->e, "STARTTLS handshake: the server refused us: "
		    "error %u \"%s\"", h[1] | h[2] << 8,
		    str_escape_ctl(shown, sizeof(shown), text));
	}
	if (len < 1 || h[0] != 10)
		return err_set(p->e, "STARTTLS handshake: not a MySQL handshake v10 "
		    "(first byte 0x%02x)", len > 0 ? h[0] : 0);
	if ((nul = memchr(h + 1, '\0', len - 1)) == NULL)
		return err_set(p->e, "STARTTLS handshake: malformed (server version)");
	at = (size_t)(nul - h) + 1 + 4 + 8;
	if (len < at + 3 || h[at] != 0)
		return err_set(p->e, "STARTTLS handshake: malformed (too short)");
	if (!((h[at + 1] | h[at + 2] << 8) & CLIENT_SSL))
		return err_set(p->e, "STARTTLS handshake: the server does not offer TLS");
	return 0;
}

int
dialogue_mysql(struct pio *p)
{
	static const uint8_t ssl_request[36] = {
		0x20, 0x00, 0x00, 0x01,		/* length 32, sequence 1 */
		0x85, 0xae, 0x7f, 0x00,		/* capabilities, CLIENT_SSL */
		0x00, 0x00, 0x00, 0x01,		/* max packet 16 MiB */
		0x21,				/* utf8_general_ci */
	};
	uint8_t head[4], h[MYSQL_HANDSHAKE_MAX];
	size_t len;

	if (pio_read(p, head, 4) == -1)
		return failed(p, "handshake");
	len = (size_t)head[0] | (size_t)head[1] << 8 | (size_t)head[2] << 16;
	if (head[3] != 0)
		return err_set(p->e, "STARTTLS handshake: packet sequence %u, not 0",
		    head[3]);
	if (len > sizeof(h))
		return err_set(p->e, "STARTTLS handshake: packet of %zu bytes, more "
		    "than %d", len, MYSQL_HANDSHAKE_MAX);
	if (pio_read(p, h, len) == -1)
		return failed(p, "handshake");
	if (mysql_handshake(p, h, len) == -1)
		return -1;
	if (pio_write(p, ssl_request, sizeof(ssl_request)) == -1)
		return failed(p, "SSLRequest");
	return 0;
}
