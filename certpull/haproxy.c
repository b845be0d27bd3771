#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "haproxy.h"

#define ANSWER_CAP	4096

static int
connect_admin(const char *socket_path, unsigned timeout_s, struct err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_s };
	int fd;

	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return err_set(e, "%s: socket path too long", socket_path);
	memcpy(sun.sun_path, socket_path, strlen(socket_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(e, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_set(e, "HAProxy admin socket %s: %s", socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One command per connection (the socket's non-interactive mode): send
 * it, then read the answer until HAProxy closes.  The answer is
 * NUL-terminated in ans.
 */
static int
exchange(const char *socket_path, const struct buf *cmd, char *ans, size_t cap,
    unsigned timeout_s, struct err *e)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = connect_admin(socket_path, timeout_s, e)) == -1)
		return -1;
	if (send(fd, cmd->data, cmd->len, MSG_NOSIGNAL) != (ssize_t)cmd->len) {
		err_set(e, "HAProxy admin socket: send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while (got + 1 < cap && (n = recv(fd, ans + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	ans[got] = '\0';
	while (got > 0 && (ans[got - 1] == '\n' || ans[got - 1] == ' '))
		ans[--got] = '\0';
	return 0;
}

static int
simple_command(const char *socket_path, const char *verb, const char *crt_path,
    char *ans, size_t cap, unsigned timeout_s, struct err *e)
{
	struct buf cmd = { 0 };
	int rc;

	if (buf_add_str(&cmd, verb) == -1 || buf_add_str(&cmd, crt_path) == -1 ||
	    buf_add_u8(&cmd, '\n') == -1) {
		buf_free(&cmd);
		return err_set(e, "out of memory");
	}
	rc = exchange(socket_path, &cmd, ans, cap, timeout_s, e);
	buf_free(&cmd);
	return rc;
}

static int
has_blank_line(const uint8_t *pem, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (pem[i] == '\n' && pem[i + 1] == '\n')
			return 1;
	return len > 0 && pem[0] == '\n';
}

static int
send_payload(const char *socket_path, const char *crt_path, const uint8_t *pem,
    size_t len, char *ans, size_t cap, unsigned timeout_s, struct err *e)
{
	struct buf cmd = { .secret = 1 };
	int rc;

	/* The payload ends at the first empty line. */
	if (buf_add_str(&cmd, "set ssl cert ") == -1 ||
	    buf_add_str(&cmd, crt_path) == -1 || buf_add_str(&cmd, " <<\n") == -1 ||
	    buf_add(&cmd, pem, len) == -1 ||
	    (len > 0 && pem[len - 1] != '\n' && buf_add_u8(&cmd, '\n') == -1) ||
	    buf_add_u8(&cmd, '\n') == -1) {
		buf_free(&cmd);
		return err_set(e, "out of memory");
	}
	rc = exchange(socket_path, &cmd, ans, cap, timeout_s, e);
	buf_free(&cmd);
	return rc;
}

int
haproxy_set_cert(const char *socket_path, const char *crt_path, const uint8_t *pem,
    size_t len, unsigned timeout_s, struct err *e)
{
	char ans[ANSWER_CAP], ignored[ANSWER_CAP];

	if (has_blank_line(pem, len))
		return err_set(e, "certificate for %s contains a blank line", crt_path);
	if (send_payload(socket_path, crt_path, pem, len, ans, sizeof(ans), timeout_s,
	    e) == -1)
		return -1;
	if (strstr(ans, "Transaction created") == NULL &&
	    strstr(ans, "Transaction updated") == NULL) {
		simple_command(socket_path, "abort ssl cert ", crt_path, ignored,
		    sizeof(ignored), timeout_s, NULL);
		return err_set(e, "HAProxy refused set ssl cert %s: %.200s", crt_path, ans);
	}
	if (simple_command(socket_path, "commit ssl cert ", crt_path, ans, sizeof(ans),
	    timeout_s, e) == -1)
		return -1;
	if (strstr(ans, "Success!") == NULL) {
		simple_command(socket_path, "abort ssl cert ", crt_path, ignored,
		    sizeof(ignored), timeout_s, NULL);
		return err_set(e, "HAProxy refused commit ssl cert %s: %.200s", crt_path, ans);
	}
	return 0;
}
