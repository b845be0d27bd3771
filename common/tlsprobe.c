#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "resolve.h"
#include "ssl_dl.h"
#include "tlsprobe.h"

/*
 * Connects with a deadline; the socket stays non-blocking: every later
 * wait is a poll() against the same deadline.
 */
static int
connect_to(const char *address, unsigned port, long long deadline, struct err *e)
{
	struct addrinfo *res, *ai;
	int fd = -1, rc;

	if (resolve(address, port, deadline, &res, e) == -1)
		return -1;
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
	return fd;
}

/*
 * Runs SSL_connect on the non-blocking socket, waiting for what OpenSSL
 * wants against the deadline: a peer trickling its handshake is cut
 * when the deadline passes, however often it sends a byte.  0 or -1.
 */
static int
connect_by(SSL *ssl, struct pio *p)
{
	int rc, why;

	for (;;) {
		if (clock_ms() >= p->deadline)
			return err_set(p->e, "TLS handshake: timed out");
		if ((rc = SSL_connect(ssl)) == 1)
			return 0;
		why = SSL_get_error(ssl, rc);
		if (why != SSL_ERROR_WANT_READ && why != SSL_ERROR_WANT_WRITE)
			return err_ssl(p->e, "TLS handshake failed");
		if (pio_wait(p, why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) == -1) {
			char reason[sizeof(p->e->msg)];

			memcpy(reason, p->e->msg, sizeof(reason));
			return err_set(p->e, "TLS handshake: %.300s", reason);
		}
	}
}

static int
handshake(struct pio *p, const char *sni, struct probe *out)
{
	struct err *e = p->e;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	STACK_OF(X509) *peer;
	int rc = -1, i;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, p->fd) != 1) {
		err_ssl(e, "TLS setup failed");
		goto out;
	}
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	if (connect_by(ssl, p) == -1)
		goto out;
	if ((out->leaf = SSL_get1_peer_certificate(ssl)) == NULL) {
		err_set(e, "the server sent no certificate");
		goto out;
	}
	peer = SSL_get_peer_cert_chain(ssl);
	out->chain = sk_X509_new_null();
	for (i = 0; peer != NULL && out->chain != NULL && i < sk_X509_num(peer); i++)
		if (X509_up_ref(sk_X509_value(peer, i)) == 1)
			sk_X509_push(out->chain, sk_X509_value(peer, i));
	/* A best-effort close_notify: non-blocking, it never waits. */
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
	/* The name the dialogue asks for (XMPP's stream "to"): as in the SNI. */
	struct pio p = { .deadline = clock_ms() + timeout_ms, .budget = PIO_BUDGET,
	    .e = e, .host = sni != NULL ? sni : address };
	int rc;

	memset(out, 0, sizeof(*out));
	if (ssl_dl_load(e) == -1)
		return -1;
	if ((p.fd = connect_to(address, port, p.deadline, e)) == -1)
		return -1;
	rc = starttls_dialogue(st, &p);
	if (rc == 0)
		rc = handshake(&p, sni, out);
	close(p.fd);
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
