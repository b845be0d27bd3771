#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "source.h"

#define SOURCE_MAX_LINKS	8	/* links followed for one source */

/* Where a walk stopped: at the file, or at a symbolic link on the way. */
struct walk {
	int		fd;			/* the file, open for reading */
	struct stat	st;
	char		link[PATH_MAX];		/* the link met */
	char		target[PATH_MAX];	/* what it points to */
	const char	*rest;			/* the path after the link ("" if last) */
};

/* ---- paths ---- */

/*
 * Appends the components of rel to the absolute, normalized path out
 * (PATH_MAX), resolving "." and ".." by name (an absolute rel replaces
 * out).  The result is then walked from / with every component checked,
 * so the file judged is the file read even where the kernel would have
 * taken a ".." after a link elsewhere.  Returns 0, or -1 if too long.
 */
static int
path_push(char *out, const char *rel)
{
	const char *p = rel, *end;
	size_t len = strlen(out), n;

	if (*rel == '/')
		len = 0;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			;
		else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			len = len > 1 ? len - 1 : 0;
		} else {
			if (len + 1 + n >= PATH_MAX)
				return -1;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p = end;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* The absolute, normalized form of path (relative to the working directory). */
static int
path_abs(const char *path, char out[PATH_MAX], struct err *e)
{
	out[0] = '\0';
	if (path[0] != '/' && getcwd(out, PATH_MAX) == NULL)
		return err_set(e, "%s: cannot find the working directory: %s", path,
		    strerror(errno));
	if (path_push(out, path) == -1)
		return err_set(e, "%s: path too long", path);
	return 0;
}

/* ---- which links an ACME client writes ---- */

/* The last component of path, and the one before it (empty at the top). */
static void
path_tail(const char *path, const char **base, size_t *baselen,
    const char **parent, size_t *parentlen)
{
	const char *slash = strrchr(path, '/');
	const char *p = slash;

	*base = slash + 1;
	*baselen = strlen(*base);
	while (p > path && p[-1] != '/')
		p--;
	*parent = p;
	*parentlen = (size_t)(slash - p);
}

/* True if s (len bytes) is name followed by one to nine digits and ".pem". */
static int
numbered_pem(const char *s, size_t len, const char *name, size_t namelen)
{
	size_t i;

	if (len < namelen + 5 || len > namelen + 13 || strncmp(s, name, namelen) != 0 ||
	    strncmp(s + len - 4, ".pem", 4) != 0)
		return 0;
	for (i = namelen; i < len - 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * certbot: CONFIG/live/NAME/{cert,chain,fullchain,privkey}.pem are
 * relative links to ../../archive/NAME/SAME<version>.pem.
 */
static int
certbot_link(const char *link, const char *target)
{
	static const char *const files[] = { "cert", "chain", "fullchain", "privkey",
	    NULL };
	const char *base, *name, *live, *up, *t;
	size_t baselen, namelen, livelen, uplen, stem, i;
	char dir[PATH_MAX];

	path_tail(link, &base, &baselen, &name, &namelen);
	snprintf(dir, sizeof(dir), "%.*s", (int)(name - link), link);
	if (namelen == 0 || strlen(dir) < 2)
		return 0;
	dir[strlen(dir) - 1] = '\0';	/* CONFIG/live */
	path_tail(dir, &live, &livelen, &up, &uplen);
	if (livelen != 4 || strncmp(live, "live", 4) != 0)
		return 0;
	for (i = 0; files[i] != NULL; i++) {
		stem = strlen(files[i]);
		if (baselen == stem + 4 && strncmp(base, files[i], stem) == 0 &&
		    strcmp(base + stem, ".pem") == 0)
			break;
	}
	if (files[i] == NULL || strncmp(target, "../../archive/", 14) != 0)
		return 0;
	t = target + 14;
	if (strncmp(t, name, namelen) != 0 || t[namelen] != '/')
		return 0;
	t += namelen + 1;
	return numbered_pem(t, strlen(t), files[i], stem);
}

/*
 * The components of the absolute normalized path, from the last: c[0] is
 * the name, c[1] its directory's name, c[2] the one above ("" past /).
 */
struct tail {
	const char	*c[3];
	size_t		 len[3];
};

static void
tail_of(const char *path, struct tail *t)
{
	const char *end = path + strlen(path), *p;
	size_t i;

	for (i = 0; i < 3; i++) {
		for (p = end; p > path && p[-1] != '/'; p--)
			;
		t->c[i] = p;
		t->len[i] = (size_t)(end - p);
		end = p > path ? p - 1 : p;
	}
}

static int
tail_is(const struct tail *t, size_t i, const char *name)
{
	return t->len[i] == strlen(name) && strncmp(t->c[i], name, t->len[i]) == 0;
}

/*
 * Skips over an acmetool identifier at s (lowercase base32: letters and
 * digits, 1 to 64) and returns what follows it, or NULL if there is none.
 */
static const char *
acme_id(const char *s)
{
	size_t n = 0;

	while (n < 64 && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9')))
		n++;
	return n == 0 ? NULL : s + n;
}

/* acmetool: STATE/live/HOST -> ../certs/ID (a directory). */
static int
acmetool_live(const char *link, const char *target)
{
	struct tail t;
	const char *end;

	tail_of(link, &t);
	if (!tail_is(&t, 1, "live") || t.len[0] == 0 || strncmp(target, "../certs/", 9) != 0)
		return 0;
	return (end = acme_id(target + 9)) != NULL && *end == '\0';
}

/* acmetool: STATE/certs/ID/privkey -> ../../keys/KEYID/privkey. */
static int
acmetool_key(const char *link, const char *target)
{
	struct tail t;
	const char *end;

	tail_of(link, &t);
	if (!tail_is(&t, 0, "privkey") || !tail_is(&t, 2, "certs") ||
	    acme_id(t.c[1]) != t.c[1] + t.len[1] || strncmp(target, "../../keys/", 11) != 0)
		return 0;
	return (end = acme_id(target + 11)) != NULL && strcmp(end, "/privkey") == 0;
}

/*
 * dehydrated: BASEDIR/certs/NAME/{cert,chain,fullchain,privkey}.pem ->
 * SAME-TIMESTAMP.pem, beside the link.
 */
static int
dehydrated_link(const char *link, const char *target)
{
	static const char *const files[] = { "cert", "chain", "fullchain", "privkey",
	    NULL };
	struct tail t;
	size_t i, stem, n;

	tail_of(link, &t);
	if (!tail_is(&t, 2, "certs") || t.len[1] == 0)
		return 0;
	for (i = 0; files[i] != NULL; i++) {
		stem = strlen(files[i]);
		if (t.len[0] == stem + 4 && strncmp(t.c[0], files[i], stem) == 0 &&
		    strcmp(t.c[0] + stem, ".pem") == 0)
			break;
	}
	if (files[i] == NULL || strncmp(target, files[i], stem) != 0 || target[stem] != '-')
		return 0;
	for (n = 0; target[stem + 1 + n] >= '0' && target[stem + 1 + n] <= '9'; n++)
		;
	return n >= 1 && n <= 12 && strcmp(target + stem + 1 + n, ".pem") == 0;
}

/*
 * The layouts whose links certpush follows without follow_symlinks: one
 * function per link an ACME client writes, true if it writes a link at
 * link (absolute, normalized) with this target.  A new client is a new
 * line here.  lego (.lego/certificates/NAME.crt, .key) and uacme
 * (/etc/ssl/uacme/NAME/cert.pem, private/NAME/key.pem) write plain files:
 * no line.  Each target is relative and names its directories exactly,
 * so a link that would climb out of the client's tree matches no line.
 */
static const struct {
	const char	*client;
	int		(*writes)(const char *link, const char *target);
} layouts[] = {
	{ "certbot", certbot_link },
	{ "acmetool", acmetool_live },
	{ "acmetool", acmetool_key },
	{ "dehydrated", dehydrated_link },
};

static int
link_allowed(const struct source_rules *r, const char *link, const char *target)
{
	size_t i;

	if (r->opts != NULL && r->opts->follow_symlinks)
		return 1;
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].writes(link, target))
			return 1;
	return 0;
}

/* ---- owners, modes and certpush's own files ---- */

/* "uid 1001 (opendkim)" into out. */
static const char *
uid_desc(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, len, "uid %u (%s)", (unsigned)uid, res->pw_name);
	else
		snprintf(out, len, "uid %u", (unsigned)uid);
	return out;
}

static int
check_owner(const char *path, const char *kind, const struct stat *st,
    const struct source_rules *r, struct err *e)
{
	const struct source_opts *o = r->opts;
	char has[96], may[96];

	if (st->st_uid == 0 || st->st_uid == geteuid() ||
	    (o != NULL && o->has_owner && st->st_uid == o->owner))
		return 0;
	if (o != NULL && o->has_owner)
		uid_desc(o->owner, may, sizeof(may));
	else
		snprintf(may, sizeof(may), "the user certpush runs as (set owner: "
		    "on the source to trust another)");
	return err_set(e, "%s: %s is owned by %s, not by root or %s: refusing it",
	    path, kind, uid_desc(st->st_uid, has, sizeof(has)), may);
}

/* Returns the forbidden entry of list that st is, or NULL. */
static const struct source_forbidden *
forbidden(const struct source_forbidden *list, size_t n, const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].dev == st->st_dev && list[i].ino == st->st_ino)
			return &list[i];
	return NULL;
}

/*
 * A directory on the way: trusted owner; not writable by others or by a
 * group other than root's, unless sticky and owned by root (as /tmp: no
 * one else can then rename or remove what root or the owner put there);
 * not certpush's state_dir or outbox.
 */
static int
check_dir(const char *dir, const struct stat *st, const struct source_rules *r,
    struct err *e)
{
	const struct source_forbidden *f;
	int sticky_root = (st->st_mode & S_ISVTX) && st->st_uid == 0;

	if (check_owner(dir, "directory", st, r, e) == -1)
		return -1;
	if ((st->st_mode & S_IWOTH) && !sticky_root)
		return err_set(e, "%s: directory is writable by others (mode %04o): "
		    "refusing what lies below it", dir, (unsigned)(st->st_mode & 07777));
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !sticky_root)
		return err_set(e, "%s: directory is writable by group %u (mode %04o): "
		    "refusing what lies below it", dir, (unsigned)st->st_gid,
		    (unsigned)(st->st_mode & 07777));
	if (r->guard != NULL &&
	    (f = forbidden(r->guard->dirs, r->guard->ndirs, st)) != NULL)
		return err_set(e, "%s: is %s %s: refusing to bundle what lies in it",
		    dir, f->what, f->path);
	return 0;
}

static const char *
file_type(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/* The file itself, from the fstat of the descriptor that will be read. */
static int
check_file(const char *path, const struct stat *st, const struct source_rules *r,
    struct err *e)
{
	const struct source_forbidden *f;

	if (!S_ISREG(st->st_mode))
		return err_set(e, "%s: is %s, not a regular file: refusing it", path,
		    file_type(st->st_mode));
	if (r->guard != NULL &&
	    (f = forbidden(r->guard->files, r->guard->nfiles, st)) != NULL)
		return err_set(e, "%s: is %s: refusing to bundle it", path, f->what);
	if (check_owner(path, "file", st, r, e) == -1)
		return -1;
	if (r->secret && (st->st_mode & 007) != 0)
		return err_set(e, "%s: private key is readable by others (mode %04o): "
		    "refusing it", path, (unsigned)(st->st_mode & 07777));
	/* Another name could be a link planted to a key in another place. */
	if (r->secret && st->st_nlink > 1)
		return err_set(e, "%s: private key has %lu hard links: refusing it "
		    "(a key must have one name)", path, (unsigned long)st->st_nlink);
	if ((uintmax_t)st->st_size > SOURCE_CAP)
		return err_set(e, "%s: larger than %d bytes", path, SOURCE_CAP);
	return 0;
}

/* ---- walking a path ---- */

/* What a failed open means for the caller: not there, not allowed, or an error. */
static int
errno_rc(int err)
{
	if (err == ENOENT)
		return SOURCE_ABSENT;
	return err == EACCES ? SOURCE_DENIED : -1;
}

/*
 * Opens the last component of dfd, of which pst is the lstat: a regular
 * file is opened (nothing else: opening a device can have effects), then
 * checked on the fstat of the descriptor that will be read.
 */
static int
open_last(int dfd, const char *name, const char *path, const struct stat *pst,
    struct walk *w, const struct source_rules *r, struct err *e)
{
	if (!S_ISREG(pst->st_mode))
		return check_file(path, pst, r, e);
	/* O_NONBLOCK: if it became a FIFO meanwhile, do not wait for a writer. */
	w->fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (w->fd == -1) {
		int saved = errno;

		err_set(e, "%s: %s", path, strerror(saved));
		return errno_rc(saved);
	}
	if (fstat(w->fd, &w->st) == -1 || w->st.st_dev != pst->st_dev ||
	    w->st.st_ino != pst->st_ino) {
		err_set(e, "%s: replaced while being checked: refusing it", path);
		goto fail;
	}
	if (check_file(path, &w->st, r, e) == -1)
		goto fail;
	return 0;
fail:
	close(w->fd);
	w->fd = -1;
	return -1;
}

/* Records the link at cur/name (dfd) and its target in w.  Returns 1. */
static int
met_link(int dfd, const char *name, const char *cur, const char *rest,
    struct walk *w, struct err *e)
{
	ssize_t n;

	snprintf(w->link, sizeof(w->link), "%s", cur);
	n = readlinkat(dfd, name, w->target, sizeof(w->target) - 1);
	if (n <= 0 || (size_t)n >= sizeof(w->target) - 1)
		return err_set(e, "%s: cannot read the symbolic link", cur);
	w->target[n] = '\0';
	w->rest = rest;
	return 1;
}

/*
 * One pass from / along the absolute normalized path.  Returns 0 with
 * w->fd open on the file, 1 at a symbolic link (w->link, w->target,
 * w->rest), -1, SOURCE_ABSENT or SOURCE_DENIED with e set.
 */
static int
walk(const char *path, const struct source_rules *r, struct walk *w, struct err *e)
{
	char cur[PATH_MAX], name[NAME_MAX + 1];
	const char *p = path, *end;
	struct stat st;
	int dfd, fd, rc = -1;

	w->fd = -1;
	if ((dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 || fstat(dfd, &st) == -1) {
		if (dfd != -1)
			close(dfd);
		return err_set(e, "/: %s", strerror(errno));
	}
	if (check_dir("/", &st, r, e) == -1)
		goto out;
	cur[0] = '\0';
	for (;;) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		if ((size_t)(end - p) > NAME_MAX) {
			err_set(e, "%s: name too long", path);
			goto out;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
		snprintf(cur + strlen(cur), sizeof(cur) - strlen(cur), "/%s", name);
		if ((fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			rc = errno_rc(errno);
			err_set(e, "%s: %s", cur, strerror(errno));
			goto out;
		}
		if (fstat(fd, &st) == -1) {
			err_set(e, "%s: %s", cur, strerror(errno));
			close(fd);
			goto out;
		}
		while (*end == '/')
			end++;
		if (S_ISLNK(st.st_mode) || *end == '\0' || !S_ISDIR(st.st_mode))
			close(fd);
		/* A link is followed only if its owner could choose the file. */
		if (S_ISLNK(st.st_mode)) {
			if (check_owner(cur, "symbolic link", &st, r, e) == 0)
				rc = met_link(dfd, name, cur, end, w, e);
			goto out;
		}
		if (*end == '\0') {
			rc = open_last(dfd, name, cur, &st, w, r, e);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			err_set(e, "%s: not a directory", cur);
			goto out;
		}
		/* The O_PATH descriptor checked is the one the walk goes on from. */
		close(dfd);
		dfd = fd;
		if (check_dir(cur, &st, r, e) == -1)
			goto out;
		p = end;
	}
out:
	close(dfd);
	return rc;
}

/* The path a followed link leads to: link's directory + target + rest. */
static int
follow(const struct walk *w, char next[PATH_MAX], struct err *e)
{
	snprintf(next, PATH_MAX, "%s", w->link);
	if (path_push(next, "..") == -1 || path_push(next, w->target) == -1 ||
	    path_push(next, w->rest) == -1)
		return err_set(e, "%s: the link leads to a path too long", w->link);
	return 0;
}

/* Appends " (reached from PATH)" to e (when there is room). */
static void
reached_from(const char *path, struct err *e)
{
	size_t len = strlen(e->msg);

	snprintf(e->msg + len, sizeof(e->msg) - len, " (reached from %s)", path);
}

int
source_open(const char *path, const struct source_rules *r, int *fd,
    struct stat *st, struct err *e)
{
	char cur[PATH_MAX], next[PATH_MAX];
	struct walk *w;
	int hops, rc = -1;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return err_set(e, "out of memory");
	if (path_abs(path, cur, e) == -1)
		goto out;
	for (hops = 0; (rc = walk(cur, r, w, e)) == 1; hops++) {
		rc = -1;
		if (!link_allowed(r, w->link, w->target)) {
			err_set(e, "%s: is a symbolic link to %s: refusing to follow it "
			    "(certpush follows only the links certbot, acmetool and "
			    "dehydrated write, in their own trees; set follow_symlinks: true "
			    "on the source to follow others)", w->link, w->target);
			goto out;
		}
		if (hops == SOURCE_MAX_LINKS) {
			err_set(e, "%s: more than %d symbolic links", path, SOURCE_MAX_LINKS);
			goto out;
		}
		if (follow(w, next, e) == -1)
			goto out;
		memcpy(cur, next, sizeof(cur));
	}
	/* Past a link, the message names a path the operator did not write. */
	if (rc != 0 && hops > 0)
		reached_from(path, e);
	if (rc == 0) {
		*fd = w->fd;
		*st = w->st;
	}
out:
	free(w);
	return rc;
}

int
source_read(const char *path, const struct source_rules *r, struct buf *out,
    struct err *e)
{
	char why[sizeof(e->msg)];
	struct stat st;
	int fd, rc;

	if (r->secret)
		out->secret = 1;
	if (source_open(path, r, &fd, &st, e) != 0)
		return -1;
	rc = fd_read_capped(fd, SOURCE_CAP, out, e);
	close(fd);
	if (rc == -1) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, "%s: %s", path, why);
	}
	return 0;
}

/* ---- what a read depends on, for watching ---- */

/* dir/name into out: the entry met at one step of a trace. */
static int
entry_path(const char *dir, const char *name, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/*
 * One pass along the absolute normalized path cur: fn for each entry,
 * until the file, a missing entry, or a link (1, with cur set to the
 * path it leads to when it is followed; 0 when it is not).
 */
static int
trace_pass(char cur[PATH_MAX], const struct source_rules *r, source_trace_fn fn,
    void *arg)
{
	char dir[PATH_MAX] = "/", name[NAME_MAX + 1], entry[PATH_MAX], target[PATH_MAX];
	char rest[PATH_MAX];
	const char *p = cur, *end;
	struct stat st;
	ssize_t n;

	for (;;) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		if (*p == '\0' || (size_t)(end - p) > NAME_MAX)
			return 0;
		snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
		while (*end == '/')
			end++;
		if (fn(dir, name, *end == '\0', arg) == -1 ||
		    entry_path(dir, name, entry) == -1)
			return -1;
		if (lstat(entry, &st) == -1)
			return 0;
		if (S_ISLNK(st.st_mode)) {
			if ((n = readlink(entry, target, sizeof(target) - 1)) <= 0)
				return 0;
			target[n] = '\0';
			if (!link_allowed(r, entry, target))
				return 0;
			/* end points into cur, which is rewritten. */
			snprintf(rest, sizeof(rest), "%s", end);
			snprintf(cur, PATH_MAX, "%s", entry);
			return path_push(cur, "..") == -1 || path_push(cur, target) == -1 ||
			    path_push(cur, rest) == -1 ? -1 : 1;
		}
		if (*end == '\0' || !S_ISDIR(st.st_mode))
			return 0;
		snprintf(dir, sizeof(dir), "%s", entry);
		p = end;
	}
}

int
source_trace(const char *path, const struct source_opts *o, source_trace_fn fn,
    void *arg)
{
	struct source_rules r = { o, 0, NULL };
	char cur[PATH_MAX];
	struct err e;
	int hops, rc;

	if (path_abs(path, cur, &e) == -1)
		return -1;
	for (hops = 0; (rc = trace_pass(cur, &r, fn, arg)) == 1; hops++)
		if (hops == SOURCE_MAX_LINKS)
			return 0;
	return rc;
}

/* ---- certpush's own files ---- */

int
source_guard_add(struct source_guard *g, const char *path, const char *what, int dir)
{
	struct source_forbidden *list = dir ? g->dirs : g->files;
	size_t *n = dir ? &g->ndirs : &g->nfiles;
	size_t max = dir ? sizeof(g->dirs) / sizeof(g->dirs[0]) : SOURCE_GUARD_MAX;
	struct stat st;

	/* stat, not lstat: what is refused is the file a link would reach. */
	if (path == NULL || stat(path, &st) == -1)
		return 0;
	if (*n == max)
		return -1;
	list[*n] = (struct source_forbidden){ st.st_dev, st.st_ino, what, path };
	(*n)++;
	return 0;
}

/* True if a target before i has the same identity path (one stat each). */
static int
same_identity_before(const struct pushconf *c, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (c->targets[j].identity != NULL &&
		    strcmp(c->targets[j].identity, c->targets[i].identity) == 0)
			return 1;
	return 0;
}

void
source_guard_init(struct source_guard *g, const struct pushconf *c)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	source_guard_add(g, c->signing_key, "certpush's signing key", 0);
	for (i = 0; i < c->ntargets; i++)
		if (c->targets[i].identity != NULL &&
		    !same_identity_before(c, i))
			source_guard_add(g, c->targets[i].identity,
			    "the SSH identity of a target", 0);
	source_guard_add(g, c->state_dir, "certpush's state_dir", 1);
	source_guard_add(g, c->outbox, "certpush's outbox", 1);
}
