#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2_sftp.h>
#include <openssl/evp.h>

#include "clock.h"
#include "fsutil.h"
#include "resolve.h"
#include "ssh.h"
#include "ssh2_dl.h"

/* Ed25519 first; the rest only so that a host without one fails clearly. */
#define HOSTKEY_PREF "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"

/* How long a cleanup step (a goodbye, freeing a channel) may wait for the peer. */
#define CLEANUP_MS	500

/*
 * The session is non-blocking: a libssh2 call that would wait returns
 * LIBSSH2_ERROR_EAGAIN, and we wait here, in poll(), for the directions
 * libssh2 is blocked on, never past dl.  So a peer that trickles a byte
 * at a time wakes us up, but cannot move the deadline (libssh2's own
 * timeout restarts with each call and counts whole seconds).
 * Returns 0 to try the call again, or -1 once dl has passed.
 */
static int
ssh_wait(struct ssh_conn *c, long long dl)
{
	struct pollfd pfd = { .fd = c->fd };
	int dir = libssh2_session_block_directions(c->session);
	long long left = dl - clock_ms();

	if (left <= 0)
		return -1;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	/* Blocked on nothing the socket can tell: look again shortly. */
	if (pfd.events == 0) {
		pfd.events = POLLIN;
		left = left < 10 ? left : 10;
	}
	if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) == -1 && errno != EINTR)
		return -1;
	return 0;
}

/* Runs call (returning an int) until it does not say EAGAIN or dl passes. */
#define SSH_NB(c, dl, rc, call) \
	while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN && ssh_wait((c), (dl)) == 0)

/* The same for a call returning a pointer, NULL with EAGAIN when it would block. */
#define SSH_NB_PTR(c, dl, p, call)						\
	while (((p) = (call)) == NULL &&					\
	    libssh2_session_last_errno((c)->session) == LIBSSH2_ERROR_EAGAIN &&	\
	    ssh_wait((c), (dl)) == 0)

/*
 * A cleanup step talks to the peer (closing a channel, saying goodbye)
 * and must not wait long for one that stopped answering, nor at all once
 * the deadline has passed: then the socket is shut down first, after
 * which libssh2 completes the step without the peer.
 */
#define SSH_CLEANUP(c, rc, call) do {						\
	long long dl_ = clock_ms() + CLEANUP_MS;				\
									\
	if (clock_ms() >= (c)->deadline_ms)					\
		shutdown((c)->fd, SHUT_RDWR);					\
	SSH_NB((c), dl_, (rc), (call));					\
	if ((rc) == LIBSSH2_ERROR_EAGAIN) {				\
		shutdown((c)->fd, SHUT_RDWR);					\
		dl_ = clock_ms() + CLEANUP_MS;					\
		SSH_NB((c), dl_, (rc), (call));				\
	}								\
} while (0)

static int
tcp_connect(const struct ssh_target *t, long long deadline, struct err *e)
{
	struct addrinfo *res, *ai;
	int fd = -1, soerr;

	if (resolve(t->host, t->port, deadline, &res, e) == -1)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(soerr);
		long long left = deadline - clock_ms();

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		soerr = errno;
		if (soerr == EINPROGRESS) {
			soerr = ETIMEDOUT;
			if (left > 0 && poll(&pfd, 1, (int)left) == 1)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		}
		if (soerr == 0)
			break;
		err_set(e, "connect to %s port %u: %s", t->host, t->port, strerror(soerr));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
knownhost_type(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	}
	return 0;
}

/* The key type's name as OpenSSH writes it, for the messages. */
static const char *
hostkey_name(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return "ed25519";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return "ecdsa";
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return "rsa";
	}
	return "unknown";
}

/* The offered key's fingerprint as ssh-keygen -l prints it ("SHA256:..."). */
static void
hostkey_fingerprint(LIBSSH2_SESSION *s, char out[64])
{
	const unsigned char *h = (const unsigned char *)libssh2_hostkey_hash(s,
	    LIBSSH2_HOSTKEY_HASH_SHA256);
	char b64[48];
	int n;

	snprintf(out, 64, "SHA256:?");
	if (h == NULL || (n = EVP_EncodeBlock((unsigned char *)b64, h, 32)) <= 0)
		return;
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, 64, "SHA256:%.*s", n, b64);
}

/*
 * A changed key is refused; the message names the key offered and the
 * commands that accept it once the operator has compared it on the node.
 */
static int
host_key_mismatch(struct ssh_conn *c, const struct ssh_target *t, int type,
    struct err *e)
{
	char fpr[64], name[300], port[16] = "";

	hostkey_fingerprint(c->session, fpr);
	if (t->port == 22)
		snprintf(name, sizeof(name), "%s", t->host);
	else {
		snprintf(name, sizeof(name), "[%s]:%u", t->host, t->port);
		snprintf(port, sizeof(port), "-p %u ", t->port);
	}
	/* The known_hosts path twice: struct err holds 1024 bytes. */
	return err_set(e, "HOST KEY MISMATCH for %s port %u: it offers %s key %s, not "
	    "the key in known_hosts: possible man-in-the-middle attack; refusing to "
	    "connect. If the node's key was changed, compare with ssh-keygen -lf "
	    "/etc/ssh/ssh_host_%s_key.pub on the node, then: ssh-keygen -R '%s' -f %s "
	    "&& ssh-keyscan %s-t %s %s >>%s", t->host, t->port, hostkey_name(type), fpr,
	    hostkey_name(type), name, t->known_hosts, port, hostkey_name(type), t->host,
	    t->known_hosts);
}

static int
check_host_key(struct ssh_conn *c, const struct ssh_target *t, struct err *e)
{
	LIBSSH2_KNOWNHOSTS *kh;
	struct libssh2_knownhost *found = NULL;
	const char *key;
	size_t len;
	int type, rc;

	if ((key = libssh2_session_hostkey(c->session, &len, &type)) == NULL ||
	    knownhost_type(type) == 0)
		return err_set(e, "%s: no usable host key", t->host);
	if ((kh = libssh2_knownhost_init(c->session)) == NULL)
		return err_set(e, "out of memory");
	if (libssh2_knownhost_readfile(kh, t->known_hosts,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		libssh2_knownhost_free(kh);
		return err_set(e, "%s: cannot read known_hosts", t->known_hosts);
	}
	rc = libssh2_knownhost_checkp(kh, t->host, (int)t->port, key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    knownhost_type(type), &found);
	libssh2_knownhost_free(kh);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return host_key_mismatch(c, t, type, e);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return err_set(e, "%s port %u: host key (type %d) not in %s; add it with "
		    "ssh-keyscan -t ed25519", t->host, t->port, type, t->known_hosts);
	}
	return err_set(e, "%s: host key check failed", t->host);
}

/* Sets e to what failed; "timed out" once the deadline has passed.  Returns -1. */
static int
session_error(struct ssh_conn *c, struct err *e, const char *what)
{
	char *msg = NULL;
	int why = libssh2_session_last_errno(c->session);

	if (clock_ms() >= c->deadline_ms || why == LIBSSH2_ERROR_EAGAIN ||
	    why == LIBSSH2_ERROR_TIMEOUT)
		return err_set(e, "%s: timed out", what);
	libssh2_session_last_error(c->session, &msg, NULL, 0);
	return err_set(e, "%s: %s", what, msg ? msg : "failed");
}

int
ssh_open(struct ssh_conn *c, const struct ssh_target *t, struct err *e)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->deadline_ms = clock_ms() + (long long)t->timeout_s * 1000;
	if (ssh2_dl_load(e) == -1 || file_check_secret(t->identity, e) == -1)
		return -1;
	if ((c->fd = tcp_connect(t, c->deadline_ms, e)) == -1)
		return -1;
	if ((c->session = libssh2_session_init()) == NULL)
		return err_set(e, "out of memory");
	libssh2_session_set_blocking(c->session, 0);
	libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY, HOSTKEY_PREF);
	SSH_NB(c, c->deadline_ms, rc, libssh2_session_handshake(c->session, c->fd));
	if (rc != 0)
		return session_error(c, e, "SSH handshake");
	if (check_host_key(c, t, e) == -1)
		return -1;
	SSH_NB(c, c->deadline_ms, rc, libssh2_userauth_publickey_fromfile_ex(c->session,
	    t->user, (unsigned)strlen(t->user), NULL, t->identity, NULL));
	if (rc != 0)
		return session_error(c, e, "SSH authentication");
	return 0;
}

/* Writes all of in to the channel, bounded by the deadline. */
static int
channel_write_all(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, const uint8_t *in,
    size_t len, struct err *e)
{
	ssize_t n;

	while (len > 0) {
		if (clock_ms() >= c->deadline_ms)
			return err_set(e, "sending the bundle: timed out");
		SSH_NB(c, c->deadline_ms, n, libssh2_channel_write(ch, (const char *)in, len));
		if (n < 0)
			return session_error(c, e, "sending the bundle");
		in += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Drains what the remote standard error has queued, keeping the first
 * SSH_STDERR_CAP bytes in errout (NULL: none), until the deadline (a
 * peer may flood it).  Returns the bytes read (0: none now).
 */
static ssize_t
drain_stderr(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, struct buf *errout)
{
	char chunk[1024];
	ssize_t n, total = 0;

	while (clock_ms() < c->deadline_ms &&
	    (n = libssh2_channel_read_stderr(ch, chunk, sizeof(chunk))) > 0) {
		size_t room = errout == NULL || errout->len >= SSH_STDERR_CAP ? 0 :
		    SSH_STDERR_CAP - errout->len;

		if (room > 0)
			buf_add(errout, chunk, (size_t)n < room ? (size_t)n : room);
		total += n;
	}
	return total;
}

/*
 * Reads stdout to EOF, and stderr beside it (libssh2 reports EOF only
 * once every stream is drained); more than cap bytes of stdout is an
 * error (a hostile peer).
 *
 * Each read takes whatever has arrived off the socket, for both streams.
 * So we sleep in poll() only when the stdout read, the last call to
 * touch the socket, said EAGAIN: had the stderr drain come last, it could
 * have taken the rest of the answer and the EOF off the socket, and the
 * peer, now waiting for our close, would send nothing to wake us.
 */
static int
channel_read_all(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, struct buf *out,
    size_t cap, struct buf *errout, struct err *e)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		if (clock_ms() >= c->deadline_ms)
			return err_set(e, "waiting for the answer: timed out");
		drain_stderr(c, ch, errout);
		n = libssh2_channel_read(ch, chunk, sizeof(chunk));
		if (n == 0) {
			/* The EOF may have come in behind stderr that is queued. */
			if (drain_stderr(c, ch, errout) > 0)
				continue;
			if (libssh2_channel_eof(ch))
				return 0;
		}
		/* Nothing yet: wait for more. */
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
			if (ssh_wait(c, c->deadline_ms) == -1)
				return err_set(e, "waiting for the answer: timed out");
			continue;
		}
		if (n < 0)
			return session_error(c, e, "reading the answer");
		if ((size_t)n > cap - out->len)
			return err_set(e, "the answer exceeds %zu bytes", cap);
		if (buf_add(out, chunk, (size_t)n) == -1)
			return err_set(e, "out of memory");
	}
}

/* Runs command and exchanges its input and output on the open channel ch. */
static int
exec_on(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, const char *command, const void *in,
    size_t inlen, struct buf *out, size_t out_cap, struct buf *errout, int *status,
    struct err *e)
{
	long long dl = c->deadline_ms;
	int rc;

	SSH_NB(c, dl, rc, libssh2_channel_exec(ch, command));
	if (rc != 0)
		return session_error(c, e, "starting the remote command");
	if (in != NULL && channel_write_all(c, ch, in, inlen, e) == -1)
		return -1;
	SSH_NB(c, dl, rc, libssh2_channel_send_eof(ch));
	if (rc != 0)
		return session_error(c, e, "closing the input");
	if (channel_read_all(c, ch, out, out_cap, errout, e) == -1)
		return -1;
	SSH_NB(c, dl, rc, libssh2_channel_close(ch));
	if (rc == 0)
		SSH_NB(c, dl, rc, libssh2_channel_wait_closed(ch));
	if (rc != 0)
		return session_error(c, e, "closing the channel");
	*status = libssh2_channel_get_exit_status(ch);
	return 0;
}

int
ssh_exec(struct ssh_conn *c, const char *command, const void *in, size_t inlen,
    struct buf *out, size_t out_cap, struct buf *errout, int *status, struct err *e)
{
	LIBSSH2_CHANNEL *ch;
	int rc, frc;

	SSH_NB_PTR(c, c->deadline_ms, ch, libssh2_channel_open_session(c->session));
	if (ch == NULL)
		return session_error(c, e, "opening a channel");
	rc = exec_on(c, ch, command, in, inlen, out, out_cap, errout, status, e);
	SSH_CLEANUP(c, frc, libssh2_channel_free(ch));
	(void)frc;	/* a channel that could not be freed goes with the session */
	return rc;
}

/* Reads the open file h to its end, at most cap bytes, into out. */
static int
sftp_read_all(struct ssh_conn *c, LIBSSH2_SFTP_HANDLE *h, const char *path,
    size_t cap, struct buf *out, struct err *e)
{
	char chunk[16384];
	ssize_t n;

	for (;;) {
		if (clock_ms() >= c->deadline_ms)
			return err_set(e, "SFTP read %s: timed out", path);
		SSH_NB(c, c->deadline_ms, n, libssh2_sftp_read(h, chunk, sizeof(chunk)));
		if (n == 0)
			return 0;
		if (n < 0)
			return session_error(c, e, "SFTP read");
		if ((size_t)n > cap - out->len)
			return err_set(e, "SFTP %s: larger than %zu bytes", path, cap);
		if (buf_add(out, chunk, (size_t)n) == -1)
			return err_set(e, "out of memory");
	}
}

int
ssh_sftp_get(struct ssh_conn *c, const char *path, size_t cap, struct buf *out,
    struct err *e)
{
	LIBSSH2_SFTP *sftp;
	LIBSSH2_SFTP_HANDLE *h;
	int rc = -1, crc;

	SSH_NB_PTR(c, c->deadline_ms, sftp, libssh2_sftp_init(c->session));
	if (sftp == NULL)
		return session_error(c, e, "starting SFTP");
	SSH_NB_PTR(c, c->deadline_ms, h, libssh2_sftp_open(sftp, path, LIBSSH2_FXF_READ,
	    0));
	if (h == NULL) {
		if (clock_ms() >= c->deadline_ms ||
		    libssh2_session_last_errno(c->session) == LIBSSH2_ERROR_EAGAIN)
			err_set(e, "SFTP open %s: timed out", path);
		else
			err_set(e, "SFTP open %s: error %lu", path,
			    libssh2_sftp_last_error(sftp));
	} else {
		rc = sftp_read_all(c, h, path, cap, out, e);
		SSH_CLEANUP(c, crc, libssh2_sftp_close(h));
	}
	SSH_CLEANUP(c, crc, libssh2_sftp_shutdown(sftp));
	(void)crc;
	return rc;
}

void
ssh_close(struct ssh_conn *c)
{
	int rc;

	if (c->session != NULL) {
		SSH_CLEANUP(c, rc, libssh2_session_disconnect(c->session, "done"));
		SSH_CLEANUP(c, rc, libssh2_session_free(c->session));
		(void)rc;
	}
	if (c->fd != -1)
		close(c->fd);
	c->session = NULL;
	c->fd = -1;
}
