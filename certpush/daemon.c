#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "daemon.h"
#include "stampout.h"
#include "danehold.h"
#include "log.h"
#include "push.h"
#include "pushconf.h"
#include "watch.h"

#define DEBOUNCE_MAX_S	60	/* a source that never goes quiet is pushed anyway */

/* A source seen half renewed (links or files that do not agree). */
struct stuck {
	time_t	since;		/* first seen so; 0: every source whole */
	int	reported;	/* logged as an error */
};

static volatile sig_atomic_t got_hup, got_term;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: interrupt the wait */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void
rewatch(const struct pushconf *c)
{
	struct err e;
	int n;

	if ((n = watch_setup(c, &e)) == -1)
		log_warnx("%s", e.msg);
	else
		log_debug("watching %d directories and links", n);
}

static void
reload_config(const char *path, struct pushconf *c)
{
	struct pushconf fresh;
	struct err e;

	if (pushconf_load(path, &fresh, &e) == -1) {
		log_warnx("SIGHUP: %s; keeping the running configuration", e.msg);
		return;
	}
	pushconf_free(c);
	*c = fresh;
	log_info("SIGHUP: configuration reloaded from %s", path);
	rewatch(c);
}

/* Waits until no event came for the quiet period (bounded). */
static void
debounce(const struct pushconf *c)
{
	time_t start = time(NULL);

	while (!got_term && !got_hup && time(NULL) - start < DEBOUNCE_MAX_S) {
		enum watch_event ev = watch_next((long)c->quiet_period);

		if (ev == WATCH_TIMEOUT)
			return;
		if (ev == WATCH_RESCAN)
			rewatch(c);
	}
}

/*
 * Reads each certificate source's wholeness (collect_sources_whole) for
 * the push that follows, which leaves out only the targets that receive
 * a source not whole; logs the first such source, as an error once it
 * has lasted inconsistent_after.  The array, or NULL (free it).
 */
static struct err *
sources_ready(const struct pushconf *c, struct stuck *st)
{
	struct err *whole = collect_sources_whole(c);
	time_t now = time(NULL);
	size_t i;

	for (i = 0; whole != NULL && i < c->ncerts; i++) {
		if (whole[i].msg[0] == '\0')
			continue;
		if (st->since == 0)
			st->since = now;
		if (now - st->since >= (time_t)c->inconsistent_after) {
			log_warnx("not pushing, still inconsistent after %lld s: %s",
			    (long long)(now - st->since), whole[i].msg);
			st->reported = 1;
		} else
			log_info("waiting for the next change: %s", whole[i].msg);
		return whole;
	}
	st->since = 0;
	st->reported = 0;
	return whole;
}

/*
 * Gives back to the system the heap a push freed (the one arena its
 * threads share): the daemon then sleeps, often for weeks, in what it keeps.
 */
static void
settle(void)
{
	malloc_trim(0);
}

/* A push of what changed (whole: sources_ready), or the due retries. */
static void
push(const struct pushconf *c, int retry, const struct err *whole)
{
	struct push_opts o = { .changed_only = !retry, .retry = retry, .due_only = retry,
	    .to_log = 1, .whole = whole };

	push_now(c, &o);
	settle();
}

/* Seconds until the next retry is due; -1 if none is scheduled. */
static long
retry_wait(const struct pushconf *c)
{
	time_t next = push_next_retry(c), now = time(NULL);

	if (next == 0)
		return -1;
	return next > now ? (long)(next - now) : 0;
}

/*
 * Seconds until a held key change (danehold.h) is checked again; -1 if
 * none is held.  The check is a push of the changed targets: DNS is asked
 * again, on the retries' backoff schedule.
 */
static long
hold_wait(const struct pushconf *c)
{
	time_t next = holds_next_check(c), now = time(NULL);

	if (next == 0)
		return -1;
	return next > now ? (long)(next - now) : 0;
}

/*
 * Seconds until an inconsistent source becomes an error; -1 if none is
 * pending.  The daemon wakes up once for it, so that the error is logged
 * when it is due, not at the next event.
 */
static long
stuck_wait(const struct pushconf *c, const struct stuck *st)
{
	time_t due = st->since + (time_t)c->inconsistent_after, now = time(NULL);

	if (st->since == 0 || st->reported)
		return -1;
	return due > now ? (long)(due - now) : 0;
}

/*
 * Seconds until the timestamps are due for re-signing; -1 without
 * freshness, so that the daemon then has no timer at all.
 */
static long
fresh_wait(const struct pushconf *c, time_t due)
{
	time_t now = time(NULL);

	if (c->freshness == 0)
		return -1;
	return due > now ? (long)(due - now) : 0;
}

/* The sooner of two waits in seconds, where -1 is forever. */
static long
sooner(long a, long b)
{
	if (a == -1)
		return b;
	return b == -1 || a < b ? a : b;
}

int
daemon_run(const char *config_path)
{
	struct pushconf c;
	struct push_opts behind = { .retry = 1, .to_log = 1 };
	struct err e;
	struct stuck stuck = { 0, 0 };
	struct err *whole;
	long wait;
	time_t fresh_due = 0;
	int pending = 1, lock;

	/*
	 * One malloc arena for every thread: each push thread would otherwise
	 * leave an arena of its own behind (about 64 KiB resident each, one
	 * per thread of the pool, that malloc_trim cannot give back), and the
	 * daemon idles between pushes (issue 16).  Pushes wait on the network,
	 * not on malloc's lock.  Before any thread starts.
	 */
	mallopt(M_ARENA_MAX, 1);
	if (pushconf_load(config_path, &c, &e) == -1) {
		log_warnx("%s", e.msg);
		return 1;
	}
	if ((lock = push_daemon_lock(&c, &e)) == -1)
		log_warnx("%s", e.msg);
	install_signals();
	rewatch(&c);
	log_info("watching %zu certificates and %zu DKIM keys for %zu targets",
	    c.ncerts, c.ndkims, c.ntargets);
	push_now(&c, &behind);		/* every target behind its bundle */
	settle();
	while (!got_term) {
		if (got_hup) {
			got_hup = 0;
			reload_config(config_path, &c);
			pending = 1;
		}
		if (pending) {
			debounce(&c);
			if (got_term || got_hup)
				continue;
			pending = 0;
			/* A source not whole holds back its own targets only. */
			whole = sources_ready(&c, &stuck);
			push(&c, 0, whole);
			free(whole);
		}
		wait = sooner(sooner(retry_wait(&c), stuck_wait(&c, &stuck)),
		    sooner(hold_wait(&c), fresh_wait(&c, fresh_due)));
		switch (watch_next(wait)) {
		case WATCH_TIMEOUT:
			if (retry_wait(&c) == 0)
				push(&c, 1, NULL);
			if (stuck_wait(&c, &stuck) == 0 || hold_wait(&c) == 0)
				pending = 1;
			break;
		case WATCH_RESCAN:
			rewatch(&c);
			pending = 1;
			break;
		case WATCH_CHANGE:
			pending = 1;
			break;
		case WATCH_INTERRUPTED:
			break;
		}
		/* Whatever woke the daemon, so that events cannot starve the timer. */
		if (fresh_wait(&c, fresh_due) == 0) {
			stampout_refresh(&c, time(NULL));
			fresh_due = time(NULL) + (time_t)c.freshness;
		}
	}
	log_info("stopping");
	watch_close();
	if (lock != -1)
		close(lock);
	pushconf_free(&c);
	return 0;
}
