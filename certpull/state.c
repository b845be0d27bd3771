#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "state.h"

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void
tohex(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int
pullstate_load(const char *state_dir, struct pullstate *st, struct err *e)
{
	char path[PATH_MAX], text[256], digest[65], keyid[17];
	struct buf b = { 0 };
	unsigned long long serial;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/installed", state_dir);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (file_read(path, sizeof(text) - 1, &b, e) == -1)
		return -1;
	snprintf(text, sizeof(text), "%.*s", (int)b.len, (char *)b.data);
	buf_free(&b);
	if (sscanf(text, "serial %llu\ndigest %64s\nkeyid %16s\n", &serial, digest,
	    keyid) != 3 || unhex(digest, st->digest, 32) == -1 ||
	    unhex(keyid, st->keyid, SIG_KEYID_LEN) == -1)
		return err_set(e, "%s: corrupt state file", path);
	st->serial = serial;
	st->have = 1;
	return 0;
}

int
pullstate_save(const char *state_dir, const struct pullstate *st, struct err *e)
{
	char path[PATH_MAX], text[256], digest[65], keyid[17];

	snprintf(path, sizeof(path), "%s/installed", state_dir);
	tohex(st->digest, 32, digest);
	tohex(st->keyid, SIG_KEYID_LEN, keyid);
	snprintf(text, sizeof(text), "serial %" PRIu64 "\ndigest %s\nkeyid %s\n",
	    st->serial, digest, keyid);
	return file_write_atomic(path, text, strlen(text), geteuid(), getegid(), 0600, e);
}
