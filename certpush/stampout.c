#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "bundle.h"
#include "fsutil.h"
#include "log.h"
#include "outbox.h"
#include "s3.h"
#include "sig.h"
#include "stamp.h"
#include "stampout.h"

int
stampout_write(const struct pushconf *c, const char *name, const uint8_t *data,
    size_t len, EVP_PKEY *sk, time_t now, struct err *e)
{
	char path[PATH_MAX];
	struct stamp s;
	struct stat st;
	struct buf out = { 0 };
	int rc;

	memset(&s, 0, sizeof(s));
	snprintf(s.node, sizeof(s.node), "%s", name);
	if (stamp_bundle_serial(data, len, &s.serial) == -1)
		return err_set(e, "timestamp for %s: the outbox bundle is not a bundle", name);
	SHA256(data, len, s.digest);
	s.created = (uint64_t)now;
	s.expires = s.created + 2 * (uint64_t)c->freshness;
	/* The timestamp is readable by exactly those who read the bundle. */
	snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, name);
	if (lstat(path, &st) == -1)
		return err_set(e, "timestamp for %s: %s: %s", name, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(e, "timestamp for %s: %s: not a regular file", name, path);
	if (stamp_encode(&s, sk, &out, e) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.timestamp", c->outbox, name);
	rc = file_write_atomic(path, out.data, out.len, geteuid(), st.st_gid,
	    st.st_mode & 0640, e);
	buf_free(&out);
	return rc;
}

/* One target's timestamp, from the bundle in the outbox; none if no bundle. */
static int
refresh_one(const struct pushconf *c, const char *name, EVP_PKEY *sk, time_t now,
    int *written)
{
	char path[PATH_MAX];
	struct buf b = { 0 };
	struct err e;
	int rc;

	*written = 0;
	snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, name);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	rc = file_read(path, BUNDLE_MAX_SIZE, &b, &e) == -1 ? -1 :
	    stampout_write(c, name, b.data, b.len, sk, now, &e);
	buf_free(&b);
	if (rc == -1)
		log_warnx("freshness: %s", e.msg);
	*written = rc == 0;
	return rc;
}

int
stampout_publish(const struct pushconf *c, const char *name, struct err *e)
{
	char path[PATH_MAX];
	struct buf b = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/%s.timestamp", c->outbox, name);
	rc = file_read(path, STAMP_MAX_SIZE, &b, e) == -1 ? -1 :
	    s3_publish_ext(&c->s3, name, ".timestamp", &b, e);
	buf_free(&b);
	return rc;
}

int
stampout_refresh(const struct pushconf *c, time_t now)
{
	EVP_PKEY *sk;
	struct err e;
	size_t i;
	int lock, failed = 0, *written;

	if ((written = calloc(c->ntargets + 1, sizeof(*written))) == NULL ||
	    (sk = sig_load_secret(c->signing_key, &e)) == NULL) {
		log_warnx("freshness: %s", written ? e.msg : "out of memory");
		free(written);
		return (int)c->ntargets;
	}
	/* The bundles' lock: a timestamp never names a bundle being replaced. */
	if ((lock = outbox_lock(c, &e)) == -1) {
		log_warnx("freshness: %s", e.msg);
		EVP_PKEY_free(sk);
		free(written);
		return (int)c->ntargets;
	}
	for (i = 0; i < c->ntargets; i++)
		failed += refresh_one(c, c->targets[i].name, sk, now, &written[i]) == -1;
	outbox_unlock(lock);
	EVP_PKEY_free(sk);
	/* Uploads outside the lock: a slow bucket must not hold up a push. */
	for (i = 0; c->s3.endpoint != NULL && i < c->ntargets; i++)
		if (written[i] && stampout_publish(c, c->targets[i].name, &e) == -1) {
			log_warnx("freshness: %s: %s", c->targets[i].name, e.msg);
			failed++;
		}
	free(written);
	if (failed == 0)
		log_debug("freshness: timestamps re-signed");
	return failed;
}
