#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "tlsprobe.h"

#define LINE_MAX_LEN	1024
#define DIALOG_LINES	64

const char *
starttls_name(enum starttls st)
{
	static const char *const names[] = { "none", "smtp", "imap", "pop3" };

	return (unsigned)st < 4 ? names[st] : "?";
}

/* Connects with a deadline; leaves the socket blocking with I/O timeouts. */
static int
connect_to(const char *address, unsigned port, long long deadline, struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[8];
	int fd = -1, rc;

	snprintf(service, sizeof(service), "%u", port);
	if ((rc = getaddrinfo(address, service, &hints, &res)) != 0)
		return err_set(e, "%s: %s", address, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(rc);
		long long left = deadline - clock_ms();
		int soerr = 0;

		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (errno == EINPROGRESS && left > 0 && poll(&pfd, 1, (int)left) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
			break;
		/* A refusal arrives as SO_ERROR while errno still says EINPROGRESS. */
		err_set(e, "connect to %s port %u: %s", address, port, soerr != 0 ?
		    strerror(soerr) : errno == EINPROGRESS ? "timed out" : strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static void
set_io_timeout(int fd, long long deadline)
{
	long long left = deadline - clock_ms();
	struct timeval tv;

	if (left < 1)
		left = 1;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Reads one CRLF-terminated line (bounded in length and by the deadline,
 * so that a peer trickling bytes cannot hold us).  0, or -1 on EOF,
 * timeout or an overlong line.
 */
static int
read_line(int fd, char *line, size_t cap, long long deadline)
{
	size_t n = 0;
	char c;

	while (n + 1 < cap && clock_ms() < deadline) {
		ssize_t r = recv(fd, &c, 1, 0);

		if (r == -1 && errno == EINTR)
			continue;
		if (r != 1)
			return -1;
		if (c == '\n') {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			return 0;
		}
		line[n++] = c;
	}
	return -1;
}

/* Reads lines until one starts with ok (the final reply).  0 or -1. */
static int
expect(int fd, const char *ok, const char *more, long long deadline, struct err *e,
    const char *step)
{
	char line[LINE_MAX_LEN];
	int i;

	for (i = 0; i < DIALOG_LINES; i++) {
		if (read_line(fd, line, sizeof(line), deadline) == -1)
			return err_set(e, "STARTTLS %s: no answer", step);
		if (more != NULL && strncmp(line, more, strlen(more)) == 0)
			continue;
		if (strncmp(line, ok, strlen(ok)) == 0)
			return 0;
		return err_set(e, "STARTTLS %s: unexpected reply \"%.80s\"", step, line);
	}
	return err_set(e, "STARTTLS %s: too many lines", step);
}

static int
say(int fd, const char *s, struct err *e)
{
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) != (ssize_t)strlen(s))
		return err_set(e, "STARTTLS: send failed: %s", strerror(errno));
	return 0;
}

static int
starttls_dialog(int fd, enum starttls st, long long dl, struct err *e)
{
	switch (st) {
	case TLS_NONE:
		return 0;
	case TLS_SMTP:
		if (expect(fd, "220 ", "220-", dl, e, "greeting") == -1 ||
		    say(fd, "EHLO certpull.invalid\r\n", e) == -1 ||
		    expect(fd, "250 ", "250-", dl, e, "EHLO") == -1 ||
		    say(fd, "STARTTLS\r\n", e) == -1)
			return -1;
		return expect(fd, "220", NULL, dl, e, "STARTTLS");
	case TLS_IMAP:
		if (expect(fd, "* OK", NULL, dl, e, "greeting") == -1 ||
		    say(fd, "a1 STARTTLS\r\n", e) == -1)
			return -1;
		return expect(fd, "a1 OK", "* ", dl, e, "STARTTLS");
	case TLS_POP3:
		if (expect(fd, "+OK", NULL, dl, e, "greeting") == -1 ||
		    say(fd, "STLS\r\n", e) == -1)
			return -1;
		return expect(fd, "+OK", NULL, dl, e, "STLS");
	}
	return err_set(e, "unknown STARTTLS protocol");
}

static int
handshake(int fd, const char *sni, struct probe *out, struct err *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	STACK_OF(X509) *peer;
	int rc = -1, i;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		err_ssl(e, "TLS setup failed");
		goto out;
	}
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	if (SSL_connect(ssl) != 1) {
		err_ssl(e, "TLS handshake failed");
		goto out;
	}
	if ((out->leaf = SSL_get1_peer_certificate(ssl)) == NULL) {
		err_set(e, "the server sent no certificate");
		goto out;
	}
	peer = SSL_get_peer_cert_chain(ssl);
	out->chain = sk_X509_new_null();
	for (i = 0; peer != NULL && out->chain != NULL && i < sk_X509_num(peer); i++)
		if (X509_up_ref(sk_X509_value(peer, i)) == 1)
			sk_X509_push(out->chain, sk_X509_value(peer, i));
	SSL_shutdown(ssl);
	rc = 0;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return rc;
}

int
tls_probe(const char *address, unsigned port, const char *sni, enum starttls st,
    unsigned timeout_ms, struct probe *out, struct err *e)
{
	long long deadline = clock_ms() + timeout_ms;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = connect_to(address, port, deadline, e)) == -1)
		return -1;
	set_io_timeout(fd, deadline);
	rc = starttls_dialog(fd, st, deadline, e);
	if (rc == 0)
		rc = handshake(fd, sni, out, e);
	close(fd);
	if (rc == -1)
		probe_free(out);
	return rc;
}

void
probe_free(struct probe *p)
{
	X509_free(p->leaf);
	sk_X509_pop_free(p->chain, X509_free);
	p->leaf = NULL;
	p->chain = NULL;
}
