#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "log.h"
#include "watch.h"

#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | \
	IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static int watching;

/* Watches dir if it exists; 1 if added, 0 if absent, -1 on error. */
static int
watch_dir(const char *dir, struct err *e)
{
	char slashed[PATH_MAX];
	struct stat st;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	/* libinotifytools names a watched directory with a trailing slash. */
	snprintf(slashed, sizeof(slashed), "%s/", dir);
	if (inotifytools_wd_from_filename(dir) != -1 ||
	    inotifytools_wd_from_filename(slashed) != -1)
		return 0;
	if (!inotifytools_watch_file(dir, WATCH_EVENTS))
		return err_set(e, "cannot watch %s: %s", dir,
		    strerror(inotifytools_error()));
	log_debug("watching %s", dir);
	return 1;
}

/* Watches the directory holding path (through its links too). */
static int
watch_parent_of(const char *path, struct err *e)
{
	char copy[PATH_MAX], real[PATH_MAX];
	int n = 0, r;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((r = watch_dir(dirname(copy), e)) == -1)
		return -1;
	n += r;
	if (realpath(path, real) != NULL) {
		if ((r = watch_dir(dirname(real), e)) == -1)
			return -1;
		n += r;
	}
	return n;
}

static int
watch_lineage(const char *lineage, struct err *e)
{
	char cert[PATH_MAX];
	int parent, self, archive;

	snprintf(cert, sizeof(cert), "%s/cert.pem", lineage);
	if ((parent = watch_parent_of(lineage, e)) == -1 ||
	    (self = watch_dir(lineage, e)) == -1 ||
	    (archive = watch_parent_of(cert, e)) == -1)
		return -1;
	return parent + self + archive;
}

static int
watch_files(const struct cert_source *s, struct err *e)
{
	int cert, key, chain = 0;

	if ((cert = watch_parent_of(s->cert, e)) == -1 ||
	    (key = watch_parent_of(s->key, e)) == -1 ||
	    (s->chain != NULL && (chain = watch_parent_of(s->chain, e)) == -1))
		return -1;
	return cert + key + chain;
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
	size_t i;
	int n = 0, r;

	watch_close();
	if (!inotifytools_initialize())
		return err_set(e, "inotify: %s", strerror(inotifytools_error()));
	inotify_cloexec();
	watching = 1;
	for (i = 0; i < c->ncerts; i++) {
		r = c->certs[i].lineage ? watch_lineage(c->certs[i].lineage, e) :
		    watch_files(&c->certs[i], e);
		if (r == -1)
			return -1;
		n += r;
	}
	for (i = 0; i < c->ndkims; i++) {
		if ((r = watch_parent_of(c->dkims[i].key, e)) == -1)
			return -1;
		n += r;
	}
	return n;
}

enum watch_event
watch_next(long timeout_s)
{
	struct inotify_event *ev;

	errno = 0;
	ev = inotifytools_next_event(timeout_s);
	if (ev == NULL)
		return errno == EINTR || inotifytools_error() == EINTR ?
		    WATCH_INTERRUPTED : WATCH_TIMEOUT;
	if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
		return WATCH_RESCAN;
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return WATCH_RESCAN;
	/* A link replaced in live/NAME may point into a new archive directory. */
	if (ev->mask & (IN_CREATE | IN_MOVED_TO))
		return WATCH_RESCAN;
	return WATCH_CHANGE;
}

void
watch_close(void)
{
	if (watching)
		inotifytools_cleanup();
	watching = 0;
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
