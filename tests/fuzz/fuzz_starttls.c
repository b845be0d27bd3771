/*
 * libFuzzer harness for the STARTTLS dialogues (the peer is not trusted):
 * the first byte picks the protocol, the rest is what the server sends,
 * fed through a socketpair and ended by EOF.  The dialogue must neither
 * crash nor read past its buffers, whatever the bytes.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const enum starttls protos[] = { TLS_SMTP, TLS_IMAP, TLS_POP3,
	    TLS_POSTGRES, TLS_SIEVE, TLS_LMTP, TLS_XMPP, TLS_XMPP_SERVER, TLS_LDAP,
	    TLS_FTP, TLS_MYSQL };
	struct err e;
	struct pio p;
	int sv[2];

	if (len < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return 0;
	/* What does not fit in the socket's buffer is cut: EOF comes sooner. */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (len > 1 && write(sv[1], data + 1, len - 1) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	p = (struct pio){ .fd = sv[0], .deadline = clock_ms() + 2000,
	    .budget = PIO_BUDGET, .e = &e, .host = "svc.example.test" };
	starttls_dialogue(protos[data[0] % (sizeof(protos) / sizeof(protos[0]))], &p);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
