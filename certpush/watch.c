#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "log.h"
#include "source.h"
#include "watch.h"

/*
 * inotify(7) cannot watch one name: a directory's watch reports every
 * entry of it, and each such event wakes the daemon, even if it then
 * drops it.  So a directory is watched for its entries only where the
 * sources are (FILE_EVENTS: a source file or the link to it) or where
 * a name on the way does not exist yet (APPEAR_EVENTS: its creation).
 * Every other directory or link on the way is watched for itself only
 * (SELF_EVENTS: moved, deleted, replaced by a rename over it), so that
 * files coming and going next to /var or /etc/letsencrypt do not wake
 * the daemon.  IN_ATTRIB on a directory would report its entries too:
 * asked for on links only, where it also announces a replacement (the
 * old link's count drops) before IN_DELETE_SELF.
 */
#define PATH_EVENTS	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define FILE_EVENTS	(PATH_EVENTS | IN_CLOSE_WRITE | IN_ATTRIB)
#define APPEAR_EVENTS	(IN_CREATE | IN_MOVED_TO)
#define SELF_EVENTS	(IN_DELETE_SELF | IN_MOVE_SELF)
#define WATCH_NAMES_MAX	65536

/* A name a source depends on: dir/name, as source_trace met it. */
struct wname {
	char		*dir;
	char		*name;
	uint32_t	 mask;	/* events on name, in dir's watch, that matter */
	int		 last;	/* a source file (or the link to one) */
	int		 exists;
	dev_t		 dev;	/* lstat of dir/name when traced */
	ino_t		 ino;
	int		 wd;	/* dir's watch, -1 if dir is not watched */
};

/* One inotify watch: a path and everything asked of it. */
struct wpath {
	char		*path;
	uint32_t	 mask;
	int		 wd;
};

static struct {
	struct wname	*v;
	size_t		 n, cap;
	struct wpath	*p;
	size_t		 np, capp;
	int		 on;	/* inotifytools initialized */
	int		 stale;	/* the tree changed while being watched */
} ws;

static void
names_free(void)
{
	size_t i;

	for (i = 0; i < ws.n; i++) {
		free(ws.v[i].dir);
		free(ws.v[i].name);
	}
	for (i = 0; i < ws.np; i++)
		free(ws.p[i].path);
	free(ws.v);
	free(ws.p);
	ws.v = NULL;
	ws.p = NULL;
	ws.n = ws.cap = ws.np = ws.capp = 0;
	ws.stale = 0;
}

/* dir/name into out (PATH_MAX); -1 if too long. */
static int
join(const char *dir, const char *name, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/",
	    name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Grows *v (of *cap elements of size sz) to hold n + 1; -1 if no memory. */
static int
grow(void *v, size_t *cap, size_t n, size_t sz)
{
	void *nv;

	if (n < *cap)
		return 0;
	if ((nv = reallocarray(*(void **)v, *cap ? *cap * 2 : 32, sz)) == NULL)
		return -1;
	*(void **)v = nv;
	*cap = *cap ? *cap * 2 : 32;
	return 0;
}

/* source_trace callback: records (dir, name) once, with what it was then. */
static int
add_name(const char *dir, const char *name, int last, void *arg)
{
	char path[PATH_MAX];
	struct stat st;
	struct wname *v;
	size_t i;

	(void)arg;
	for (i = 0; i < ws.n; i++)
		if (strcmp(ws.v[i].name, name) == 0 && strcmp(ws.v[i].dir, dir) == 0) {
			ws.v[i].mask |= last ? FILE_EVENTS : PATH_EVENTS;
			ws.v[i].last |= last;
			return 0;
		}
	if (ws.n == WATCH_NAMES_MAX || grow(&ws.v, &ws.cap, ws.n, sizeof(*v)) == -1 ||
	    join(dir, name, path) == -1)
		return -1;
	v = &ws.v[ws.n];
	memset(v, 0, sizeof(*v));
	if ((v->dir = strdup(dir)) == NULL || (v->name = strdup(name)) == NULL) {
		free(v->dir);
		return -1;
	}
	v->mask = last ? FILE_EVENTS : PATH_EVENTS;
	v->last = last;
	if (lstat(path, &st) == 0) {
		v->exists = 1;
		v->dev = st.st_dev;
		v->ino = st.st_ino;
	}
	v->wd = -1;
	ws.n++;
	return 0;
}

/*
 * Adds what path depends on.  A path that cannot be traced (too long, or
 * memory short) is left unwatched and said so: the other sources still
 * are watched.
 */
static void
trace(const char *path, const struct source_opts *o)
{
	if (path != NULL && source_trace(path, o, add_name, NULL) == -1)
		log_warnx("cannot watch %s: path too long or out of memory", path);
}

static void
trace_lineage(const struct cert_source *s)
{
	static const char *const files[] = { "cert.pem", "chain.pem", "fullchain.pem",
	    "privkey.pem" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", s->lineage, files[i]);
		trace(path, &s->opts);
	}
}

/* Asks mask of path's watch (merged with what others asked); -1 if no memory. */
static int
want(const char *path, uint32_t mask)
{
	size_t i;

	for (i = 0; i < ws.np; i++)
		if (strcmp(ws.p[i].path, path) == 0) {
			ws.p[i].mask |= mask;
			return 0;
		}
	if (grow(&ws.p, &ws.capp, ws.np, sizeof(*ws.p)) == -1 ||
	    (ws.p[ws.np].path = strdup(path)) == NULL)
		return -1;
	ws.p[ws.np].mask = mask | SELF_EVENTS | IN_DONT_FOLLOW;
	ws.p[ws.np].wd = -1;
	ws.np++;
	return 0;
}

/* The watches the names need (see the top of this file).  0 or -1. */
static int
plan(struct err *e)
{
	char path[PATH_MAX];
	struct stat st;
	uint32_t mask;
	size_t i;

	for (i = 0; i < ws.n; i++) {
		const struct wname *w = &ws.v[i];

		if (w->last && want(w->dir, FILE_EVENTS | IN_ONLYDIR) == -1)
			return err_set(e, "watch: out of memory");
		if (w->last)
			continue;
		if (!w->exists && want(w->dir, APPEAR_EVENTS | IN_ONLYDIR) == -1)
			return err_set(e, "watch: out of memory");
		if (!w->exists || join(w->dir, w->name, path) == -1)
			continue;
		/* A link (or whatever stopped the trace): its count, owner, mode too. */
		mask = lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) ? IN_ATTRIB : IN_ONLYDIR;
		if (want(path, mask) == -1)
			return err_set(e, "watch: out of memory");
	}
	return 0;
}

/* The descriptor libinotifytools gave path (named with a / if a directory). */
static int
wd_of(const char *path)
{
	char slashed[PATH_MAX];
	int wd;

	if ((wd = inotifytools_wd_from_filename(path)) != -1)
		return wd;
	snprintf(slashed, sizeof(slashed), "%s%s", path, strcmp(path, "/") == 0 ? "" : "/");
	return inotifytools_wd_from_filename(slashed);
}

/*
 * Adds every planned watch.  A path gone or replaced meanwhile makes the
 * set stale: watch_next asks for a rescan at once.  Returns the number of
 * watches, or -1.
 */
static int
watch_paths(struct err *e)
{
	size_t i, j;
	int err, n = 0;

	for (i = 0; i < ws.np; i++) {
		if (!inotifytools_watch_file(ws.p[i].path, (int)ws.p[i].mask)) {
			err = inotifytools_error();
			if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
				ws.stale = 1;
				continue;
			}
			return err_set(e, "cannot watch %s: %s", ws.p[i].path, strerror(err));
		}
		ws.p[i].wd = wd_of(ws.p[i].path);
		for (j = 0; j < ws.n; j++)
			if (strcmp(ws.v[j].dir, ws.p[i].path) == 0)
				ws.v[j].wd = ws.p[i].wd;
		log_debug("watching %s", ws.p[i].path);
		n++;
	}
	return n;
}

/*
 * Whether a name on the way changed between its trace and its watch
 * (created, removed, replaced): no event would tell of it.
 */
static int
changed_since_trace(void)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int now;

	for (i = 0; i < ws.n; i++) {
		if (ws.v[i].last || join(ws.v[i].dir, ws.v[i].name, path) == -1)
			continue;
		now = lstat(path, &st) == 0;
		if (now != ws.v[i].exists ||
		    (now && (st.st_dev != ws.v[i].dev || st.st_ino != ws.v[i].ino)))
			return 1;
	}
	return 0;
}

/*
 * libinotifytools opens its inotify descriptor without close-on-exec and
 * does not tell which it is: find it in /proc/self/fd.  run.c closes
 * every descriptor in the commands it starts anyway; this is defence in
 * depth for any other exec.
 */
static void
inotify_cloexec(void)
{
	char path[64], target[64];
	struct dirent *de;
	ssize_t n;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0)
			fcntl(atoi(de->d_name), F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
}

int
watch_setup(const struct pushconf *c, struct err *e)
{
	const struct cert_source *s;
	size_t i;
	int n;

	watch_close();
	if (!inotifytools_initialize())
		return err_set(e, "inotify: %s", strerror(inotifytools_error()));
	inotify_cloexec();
	ws.on = 1;
	for (i = 0; i < c->ncerts; i++) {
		s = &c->certs[i];
		if (s->lineage != NULL)
			trace_lineage(s);
		else {
			trace(s->cert, &s->opts);
			trace(s->key, &s->opts);
			trace(s->chain, &s->opts);
		}
	}
	for (i = 0; i < c->ndkims; i++)
		trace(c->dkims[i].key, &c->dkims[i].opts);
	if (plan(e) == -1 || (n = watch_paths(e)) == -1)
		return -1;
	if (changed_since_trace())
		ws.stale = 1;
	return n;
}

/* The table's entry for an event on a name in a watched directory, or NULL. */
static const struct wname *
lookup(const struct inotify_event *ev)
{
	size_t i;

	if (ev->len == 0)
		return NULL;
	for (i = 0; i < ws.n; i++)
		if (ws.v[i].wd == ev->wd && strcmp(ws.v[i].name, ev->name) == 0)
			return &ws.v[i];
	return NULL;
}

/* Whether ev is about a link on the way itself (watched with IN_ATTRIB). */
static int
link_changed(const struct inotify_event *ev)
{
	size_t i;

	if (ev->len != 0 || !(ev->mask & IN_ATTRIB))
		return 0;
	for (i = 0; i < ws.np; i++)
		if (ws.p[i].wd == ev->wd && (ws.p[i].mask & IN_ATTRIB) &&
		    !(ws.p[i].mask & IN_ONLYDIR))
			return 1;
	return 0;
}

/* Seconds from now to deadline, rounded up (never early); 0 if past. */
static long
seconds_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : (ms + 999) / 1000;
}

enum watch_event
watch_next(long timeout_s)
{
	struct inotify_event *ev;
	const struct wname *w;
	struct timespec deadline;
	long wait = timeout_s;

	/*
	 * libinotifytools blocks without end on a timeout of 0: a timer due
	 * now (a retry, a freshness signature) is served first, and pending
	 * events are read on the next call.
	 */
	if (timeout_s == 0)
		return WATCH_TIMEOUT;
	/* What changed while the set was built is not in the queue. */
	if (ws.stale) {
		ws.stale = 0;
		return WATCH_RESCAN;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s > 0 ? timeout_s : 0;
	for (;;) {
		errno = 0;
		ev = inotifytools_next_event(wait);
		if (ev == NULL)
			return errno == EINTR || inotifytools_error() == EINTR ?
			    WATCH_INTERRUPTED : WATCH_TIMEOUT;
		if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT | SELF_EVENTS) ||
		    link_changed(ev))
			return WATCH_RESCAN;
		/* A link or directory replaced: what the path leads to may differ. */
		if ((w = lookup(ev)) != NULL && (ev->mask & w->mask & PATH_EVENTS))
			return WATCH_RESCAN;
		if (w != NULL && (ev->mask & w->mask))
			return WATCH_CHANGE;
		/* Another name in a directory on the way: not ours, keep waiting. */
		if (timeout_s >= 0 && (wait = seconds_left(&deadline)) == 0)
			return WATCH_TIMEOUT;
	}
}

void
watch_close(void)
{
	if (ws.on)
		inotifytools_cleanup();
	ws.on = 0;
	names_free();
}

/* The archive version N of a link target ".../certN.pem"; -1 if none. */
static long
link_version(const char *lineage, const char *name, char *target, size_t len)
{
	char link[PATH_MAX];
	const char *base, *p;
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s.pem", lineage, name);
	if ((n = readlink(link, target, len - 1)) == -1)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strncmp(base, name, strlen(name)) != 0)
		return -1;
	p = base + strlen(name);
	if (*p < '0' || *p > '9')
		return -1;
	return strtol(p, NULL, 10);
}

int
lineage_consistent(const char *lineage, struct err *e)
{
	static const char *const links[] = { "cert", "chain", "fullchain", "privkey" };
	char target[PATH_MAX];
	long v[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		if ((v[i] = link_version(lineage, links[i], target, sizeof(target))) == -1)
			return err_set(e, "%s/%s.pem is missing or not an archive link "
			    "(renewal in progress?)", lineage, links[i]);
	}
	for (i = 1; i < 4; i++)
		if (v[i] != v[0])
			return err_set(e, "%s: links point to archive versions %ld, %ld, "
			    "%ld, %ld (cert, chain, fullchain, privkey): renewal in "
			    "progress", lineage, v[0], v[1], v[2], v[3]);
	return 0;
}
