/*
 * STARTTLS dialogues: the plain-text exchange that turns a protocol's
 * connection into a TLS one, one function per protocol, in one table
 * (name -> enum -> dialogue).  A dialogue talks through a struct pio,
 * whose helpers bound every wait by one absolute deadline and every
 * byte read from the peer by one total budget, so that a peer trickling
 * a byte a second cannot hold the caller past its timeout.
 */
#ifndef CP_STARTTLS_H
#define CP_STARTTLS_H

#include <stddef.h>

#include "err.h"

enum starttls {
	TLS_NONE, TLS_SMTP, TLS_IMAP, TLS_POP3,
	TLS_POSTGRES, TLS_SIEVE, TLS_LMTP, TLS_XMPP, TLS_XMPP_SERVER, TLS_LDAP,
	TLS_FTP, TLS_MYSQL
};

/* What one dialogue may read from the peer in total (greetings, capabilities). */
#define PIO_BUDGET	(64 * 1024)
/* The longest line a dialogue accepts. */
#define PIO_LINE_MAX	1024

/* The I/O context of one dialogue. */
struct pio {
	int		 fd;		/* non-blocking socket */
	long long	 deadline;	/* absolute, clock_ms() */
	size_t		 budget;	/* bytes the peer may still send */
	struct err	*e;
	const char	*host;		/* the name asked for (XMPP's "to"), or NULL */
};

/*
 * Each returns 0, or -1 with p->e set to a short reason ("timed out",
 * "connection closed", "line longer than 1024 bytes", ...).
 */
/* Waits until fd is ready for events (POLLIN/POLLOUT) before the deadline. */
int	pio_wait(struct pio *p, short events);
/* Writes all len bytes. */
int	pio_write(struct pio *p, const void *buf, size_t len);
/* Reads exactly len bytes. */
int	pio_read(struct pio *p, void *buf, size_t len);
/*
 * Reads one line ended by LF (a CR before it is dropped) into line, NUL
 * terminated; a line that does not fit in cap - 1 bytes is an error.
 * Reads byte by byte: nothing after the line is consumed (the TLS
 * handshake follows on the same socket).
 */
int	pio_line(struct pio *p, char *line, size_t cap);
/*
 * Reads reply lines: lines starting with more are skipped (at most 64),
 * the first other line must start with ok.  Errors read
 * "STARTTLS <step>: <reason>", the peer's text escaped.
 */
int	pio_expect(struct pio *p, const char *ok, const char *more, const char *step);

/* The dialogues of starttls_proto.c, for the table of starttls.c. */
int	dialogue_postgres(struct pio *p);
int	dialogue_sieve(struct pio *p);
int	dialogue_lmtp(struct pio *p);
int	dialogue_xmpp(struct pio *p);
int	dialogue_xmpp_server(struct pio *p);
int	dialogue_ldap(struct pio *p);
int	dialogue_ftp(struct pio *p);
int	dialogue_mysql(struct pio *p);

/* Runs the dialogue of st on p (nothing for TLS_NONE).  0 or -1 with p->e set. */
int	starttls_dialogue(enum starttls st, struct pio *p);
/* The configuration name of st ("none", "smtp", ...); "?" if unknown. */
const char *starttls_name(enum starttls st);
/* Maps a configuration name to its value.  0, or -1 if name is not known. */
int	starttls_parse(const char *name, enum starttls *out);
/* Every known name, comma separated, into buf (cap bytes), for error messages. */
void	starttls_names(char *buf, size_t cap);

#endif
