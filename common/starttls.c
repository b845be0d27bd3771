#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "escape.h"
#include "starttls.h"

#define DIALOG_LINES	64

int
pio_wait(struct pio *p, short events)
{
	struct pollfd pfd = { .fd = p->fd, .events = events };
	long long left;
	int rc;

	for (;;) {
		if ((left = p->deadline - clock_ms()) <= 0)
			return err_set(p->e, "timed out");
		rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (rc == 1)
			return 0;
		if (rc == -1 && errno != EINTR)
			return err_set(p->e, "poll: %s", strerror(errno));
	}
}

int
pio_write(struct pio *p, const void *buf, size_t len)
{
	const char *b = buf;
	ssize_t n;

	while (len > 0) {
		if (clock_ms() >= p->deadline)
			return err_set(p->e, "timed out");
		n = send(p->fd, b, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (pio_wait(p, POLLOUT) == -1)
				return -1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(p->e, "send: %s", strerror(errno));
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pio_read(struct pio *p, void *buf, size_t len)
{
	char *b = buf;
	ssize_t n;

	if (len > p->budget)
		return err_set(p->e, "the peer sent too much");
	while (len > 0) {
		/* Checked before each read: data always ready must not hold us either. */
		if (clock_ms() >= p->deadline)
			return err_set(p->e, "timed out");
		n = recv(p->fd, b, len, 0);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (pio_wait(p, POLLIN) == -1)
				return -1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			return err_set(p->e, "connection closed");
		if (n == -1)
			return err_set(p->e, "recv: %s", strerror(errno));
		b += n;
		len -= (size_t)n;
		p->budget -= (size_t)n;
	}
	return 0;
}

int
pio_line(struct pio *p, char *line, size_t cap)
{
	size_t n = 0;
	char c;

	for (;;) {
		if (pio_read(p, &c, 1) == -1)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return err_set(p->e, "line longer than %zu bytes", cap - 1);
		line[n++] = c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return 0;
}

/* Prefixes p->e's reason with "STARTTLS <step>: ".  Returns -1. */
static int
step_failed(struct pio *p, const char *step)
{
	char reason[sizeof(p->e->msg)];

	memcpy(reason, p->e->msg, sizeof(reason));
	return err_set(p->e, "STARTTLS %s: %.300s", step, reason);
}

int
pio_expect(struct pio *p, const char *ok, const char *more, const char *step)
{
	char line[PIO_LINE_MAX + 1], shown[96];
	int i;

	for (i = 0; i < DIALOG_LINES; i++) {
		if (pio_line(p, line, sizeof(line)) == -1)
			return step_failed(p, step);
		if (more != NULL && strncmp(line, more, strlen(more)) == 0)
			continue;
		if (strncmp(line, ok, strlen(ok)) == 0)
			return 0;
		return err_set(p->e, "STARTTLS %s: unexpected reply \"%s\"", step,
		    str_escape_ctl(shown, sizeof(shown), line));
	}
	return err_set(p->e, "STARTTLS %s: more than %d lines", step, DIALOG_LINES);
}

/* Sends a command line; errors read "STARTTLS <step>: <reason>". */
static int
say(struct pio *p, const char *s, const char *step)
{
	if (pio_write(p, s, strlen(s)) == -1)
		return step_failed(p, step);
	return 0;
}

static int
dialogue_none(struct pio *p)
{
	(void)p;
	return 0;
}

static int
dialogue_smtp(struct pio *p)
{
	if (pio_expect(p, "220 ", "220-", "greeting") == -1 ||
	    say(p, "EHLO certpull.invalid\r\n", "EHLO") == -1 ||
	    pio_expect(p, "250 ", "250-", "EHLO") == -1 ||
	    say(p, "STARTTLS\r\n", "STARTTLS") == -1)
		return -1;
	return pio_expect(p, "220", NULL, "STARTTLS");
}

static int
dialogue_imap(struct pio *p)
{
	if (pio_expect(p, "* OK", NULL, "greeting") == -1 ||
	    say(p, "a1 STARTTLS\r\n", "STARTTLS") == -1)
		return -1;
	return pio_expect(p, "a1 OK", "* ", "STARTTLS");
}

static int
dialogue_pop3(struct pio *p)
{
	if (pio_expect(p, "+OK", NULL, "greeting") == -1 ||
	    say(p, "STLS\r\n", "STLS") == -1)
		return -1;
	return pio_expect(p, "+OK", NULL, "STLS");
}

/* The table: one line per protocol, in the order of the enum. */
static const struct {
	enum starttls	 st;
	const char	*name;
	int		(*dialogue)(struct pio *);
} protocols[] = {
	{ TLS_NONE, "none", dialogue_none },
	{ TLS_SMTP, "smtp", dialogue_smtp },
	{ TLS_IMAP, "imap", dialogue_imap },
	{ TLS_POP3, "pop3", dialogue_pop3 },
	{ TLS_POSTGRES, "postgres", dialogue_postgres },
	{ TLS_SIEVE, "sieve", dialogue_sieve },
	{ TLS_LMTP, "lmtp", dialogue_lmtp },
	{ TLS_XMPP, "xmpp", dialogue_xmpp },
	{ TLS_XMPP_SERVER, "xmpp-server", dialogue_xmpp_server },
	{ TLS_LDAP, "ldap", dialogue_ldap },
	{ TLS_FTP, "ftp", dialogue_ftp },
	{ TLS_MYSQL, "mysql", dialogue_mysql },
};
#define NPROTOCOLS	(sizeof(protocols) / sizeof(protocols[0]))

int
starttls_dialogue(enum starttls st, struct pio *p)
{
	size_t i;

	for (i = 0; i < NPROTOCOLS; i++)
		if (protocols[i].st == st)
			return protocols[i].dialogue(p);
	return err_set(p->e, "unknown STARTTLS protocol %d", (int)st);
}

const char *
starttls_name(enum starttls st)
{
	size_t i;

	for (i = 0; i < NPROTOCOLS; i++)
		if (protocols[i].st == st)
			return protocols[i].name;
	return "?";
}

int
starttls_parse(const char *name, enum starttls *out)
{
	size_t i;

	for (i = 0; i < NPROTOCOLS; i++)
		if (strcmp(protocols[i].name, name) == 0) {
			*out = protocols[i].st;
			return 0;
		}
	return -1;
}

void
starttls_names(char *buf, size_t cap)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < NPROTOCOLS && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i > 0 ? ", " : "",
		    protocols[i].name);
}
