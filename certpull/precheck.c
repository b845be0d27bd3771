#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "json.h"
#include "nodeverify.h"
#include "precheck.h"
#include "render.h"
#include "state.h"

void
precheck_fail(struct precheck *p, const char *step, const char *msg)
{
	p->ok = 0;
	snprintf(p->step, sizeof(p->step), "%s", step);
	snprintf(p->error, sizeof(p->error), "%s", msg);
}

/* The checks of an install's verify step, against the recorded state. */
static int
check_bundle(const struct pullconf *c, const uint8_t *data, size_t len,
    struct bundle *b, struct precheck *p)
{
	char step[NODE_STEP_LEN];
	struct err e;

	if (node_verify(c, data, len, 0, b, NULL, &p->unchanged, step, &e) == -1)
		return precheck_fail(p, step, e.msg), -1;
	p->serial = b->serial;
	return 0;
}

/*
 * The directory f is written into exists, is a directory and takes new
 * files (access(2) as the real user, who is the one installing: root
 * is refused only by a read-only file system).  0, or -1 with p set.
 */
static int
check_dir(const struct svc_file *f, struct precheck *p)
{
	char dir[PATH_MAX], msg[PATH_MAX + 64];
	const char *why;
	struct stat sb;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", f->path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &sb) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(sb.st_mode))
		why = "not a directory";
	else if (access(dir, W_OK) == -1)
		why = strerror(errno);
	else
		return 0;
	snprintf(msg, sizeof(msg), "%s: directory %s: %s", f->path, dir, why);
	return precheck_fail(p, "path", msg), -1;
}

int
precheck_bundle(const struct pullconf *c, const uint8_t *data, size_t len,
    struct precheck *p)
{
	struct bundle *b = calloc(1, sizeof(*b));
	struct buf out = { .secret = 1 };
	char fpr[CERT_FPR_LEN];
	struct err e;
	size_t i, j;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	p->node = c->node;
	if (b == NULL)
		return precheck_fail(p, "memory", "out of memory"), -1;
	if (check_bundle(c, data, len, b, p) == -1)
		goto out;
	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nfiles; j++) {
			const struct svc_file *f = &c->services[i].files[j];

			if (render_file(b, NULL, f, &out, fpr, &e) == -1) {
				precheck_fail(p, "render", e.msg);
				goto out;
			}
			buf_free(&out);
			if (check_dir(f, p) == -1)
				goto out;
		}
	p->ok = 1;
	rc = 0;
out:
	buf_free(&out);
	bundle_release(b);
	free(b);
	return rc;
}

int
precheck_json(const struct precheck *p, struct buf *b)
{
	int rc = 0;

	rc |= buf_add_u8(b, '{');
	rc |= json_kv_str(b, "node", p->node);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_u64(b, "serial", p->serial);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "result", p->ok ? "verified" : "failed");
	rc |= buf_add_str(b, p->unchanged ? ",\"unchanged\":true," : ",\"unchanged\":false,");
	rc |= json_kv_str(b, "step", p->ok ? NULL : p->step);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "error", p->ok ? NULL : p->error);
	rc |= buf_add_u8(b, '}');
	return rc ? -1 : 0;
}
