#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "buf.h"
#include "escape.h"
#include "fsutil.h"
#include "tstate.h"

#define BACKOFF_BASE_S	5
#define BACKOFF_MAX_S	900

static void
state_path(const char *state_dir, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/targets/%s", state_dir, name);
}

int
tstate_load(const char *state_dir, const char *name, struct tstate *ts,
    struct err *e)
{
	char path[PATH_MAX], *line, *save = NULL;
	struct buf b = { 0 };
	long long v;

	memset(ts, 0, sizeof(*ts));
	state_path(state_dir, name, path, sizeof(path));
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (file_read(path, 4096, &b, e) == -1 || buf_add_u8(&b, '\0') == -1) {
		buf_free(&b);
		return -1;
	}
	for (line = strtok_r((char *)b.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "content ", 8) == 0 && strlen(line + 8) == 64) {
			for (size_t i = 0; i < 32; i++) {
				unsigned x;

				if (sscanf(line + 8 + 2 * i, "%2x", &x) == 1)
					ts->content[i] = (uint8_t)x;
			}
			continue;
		}
		if (sscanf(line, "built %" SCNu64, &ts->built) == 1 ||
		    sscanf(line, "delivered %" SCNu64, &ts->delivered) == 1 ||
		    sscanf(line, "attempts %u", &ts->attempts) == 1)
			continue;
		if (sscanf(line, "success %lld", &v) == 1)
			ts->success = (time_t)v;
		else if (sscanf(line, "next_retry %lld", &v) == 1)
			ts->next_retry = (time_t)v;
		else if (strncmp(line, "error ", 6) == 0)
			/* The file may predate the escaping, or have been edited. */
			str_escape_ctl(ts->error, sizeof(ts->error), line + 6);
	}
	buf_free(&b);
	return 0;
}

int
tstate_save(const char *state_dir, const char *name, const struct tstate *ts,
    struct err *e)
{
	char path[PATH_MAX], dir[PATH_MAX], text[2048], error[sizeof(ts->error)];
	char content[65];
	size_t i;

	snprintf(dir, sizeof(dir), "%s/targets", state_dir);
	if ((mkdir(state_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST))
		return err_set(e, "%s: %s", dir, strerror(errno));
	/* One line per field: a newline from a remote answer must not split it. */
	str_escape_ctl(error, sizeof(error), ts->error);
	for (i = 0; i < 32; i++)
		snprintf(content + 2 * i, 3, "%02x", ts->content[i]);
	state_path(state_dir, name, path, sizeof(path));
	snprintf(text, sizeof(text), "built %" PRIu64 "\ncontent %s\ndelivered %" PRIu64
	    "\nsuccess %lld\nattempts %u\nnext_retry %lld\nerror %s\n", ts->built,
	    content, ts->delivered,
	    (long long)ts->success, ts->attempts, (long long)ts->next_retry, error);
	return file_write_atomic(path, text, strlen(text), geteuid(), getegid(),
	    0600, e);
}

unsigned
tstate_backoff(unsigned attempts)
{
	unsigned delay = BACKOFF_BASE_S, jitter = 0;
	unsigned char r[2];

	while (attempts-- > 1 && delay < BACKOFF_MAX_S)
		delay *= 2;
	if (delay > BACKOFF_MAX_S)
		delay = BACKOFF_MAX_S;
	if (RAND_bytes(r, sizeof(r)) == 1)
		jitter = (unsigned)((r[0] << 8 | r[1]) % (delay / 5 + 1));
	return delay + jitter;
}
