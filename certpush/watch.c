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
 * A name in a watched directory that a source depends on: a directory
 * or link on the way to a source file (its replacement matters), or the
 * file itself (its content matters too).
 */
#define PATH_EVENTS	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define FILE_EVENTS	(PATH_EVENTS | IN_CLOSE_WRITE | IN_ATTRIB)
#define SELF_EVENTS	(IN_DELETE_SELF | IN_MOVE_SELF)
#define WATCH_NAMES_MAX	65536

struct wname {
	char		*dir;
	char		*name;
	uint32_t	 mask;	/* events on name that matter */
	int		 wd;	/* dir's watch, -1 until watched */
};

static struct {
	struct wname	*v;
	size_t		 n, cap;
	int		 on;	/* inotifytools initialized */
} ws;

static void
names_free(void)
{
	size_t i;

	for (i = 0; i < ws.n; i++) {
		free(ws.v[i].dir);
		free(ws.v[i].name);
	}
	free(ws.v);
	ws.v = NULL;
	ws.n = ws.cap = 0;
}

/* source_trace callback: records (dir, name) once, with the events that matter. */
static int
add_name(const char *dir, const char *name, int last, void *arg)
{
	uint32_t mask = last ? FILE_EVENTS : PATH_EVENTS;
	struct wname *v;
	size_t i;

	(void)arg;
	for (i = 0; i < ws.n; i++)
		if (strcmp(ws.v[i].name, name) == 0 && strcmp(ws.v[i].dir, dir) == 0) {
			ws.v[i].mask |= mask;
			return 0;
		}
	if (ws.n == WATCH_NAMES_MAX)
		return -1;
	if (ws.n == ws.cap) {
		if ((v = reallocarray(ws.v, ws.cap ? ws.cap * 2 : 32, sizeof(*v))) == NULL)
			return -1;
		ws.v = v;
		ws.cap = ws.cap ? ws.cap * 2 : 32;
	}
	v = &ws.v[ws.n];
	if ((v->dir = strdup(dir)) == NULL || (v->name = strdup(name)) == NULL) {
		free(v->dir);
		return -1;
	}
	v->mask = mask;
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

/*
 * Watches each directory of the table once, with the events that matter
 * for any of its names.  A directory gone meanwhile is skipped: its
 * parent is watched and saw it go.  Returns the number watched, or -1.
 */
static int
watch_dirs(struct err *e)
{
	uint32_t mask;
	size_t i, j;
	int n = 0;

	for (i = 0; i < ws.n; i++) {
		if (ws.v[i].wd != -1)
			continue;
		mask = SELF_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW;
		for (j = i; j < ws.n; j++)
			if (strcmp(ws.v[j].dir, ws.v[i].dir) == 0)
				mask |= ws.v[j].mask;
		if (!inotifytools_watch_file(ws.v[i].dir, (int)mask)) {
			if (inotifytools_error() == ENOENT || inotifytools_error() == ENOTDIR)
				continue;
			return err_set(e, "cannot watch %s: %s", ws.v[i].dir,
			    strerror(inotifytools_error()));
		}
		ws.v[i].wd = inotifytools_wd_from_filename(ws.v[i].dir);
		if (ws.v[i].wd == -1) {
			char slashed[PATH_MAX];

			/* libinotifytools names a watched directory with a trailing slash. */
			snprintf(slashed, sizeof(slashed), "%s%s", ws.v[i].dir,
			    strcmp(ws.v[i].dir, "/") == 0 ? "" : "/");
			ws.v[i].wd = inotifytools_wd_from_filename(slashed);
		}
		for (j = i + 1; j < ws.n; j++)
			if (strcmp(ws.v[j].dir, ws.v[i].dir) == 0)
				ws.v[j].wd = ws.v[i].wd;
		log_debug("watching %s", ws.v[i].dir);
		n++;
	}
	return n;
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
	return watch_dirs(e);
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
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s > 0 ? timeout_s : 0;
	for (;;) {
		errno = 0;
		ev = inotifytools_next_event(wait);
		if (ev == NULL)
			return errno == EINTR || inotifytools_error() == EINTR ?
			    WATCH_INTERRUPTED : WATCH_TIMEOUT;
		if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT | SELF_EVENTS))
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
