#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "collect.h"
#include "danehold.h"
#include "deliver.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "pool.h"
#include "push.h"
#include "serial.h"
#include "sig.h"
#include "statelock.h"
#include "tstate.h"

/* One target's part of a push. */
struct job {
	struct delivery	d;
	struct buf	bundle;
	struct tstate	ts;
	uint8_t		content[32];
	uint64_t	serial;
	struct job	*group;		/* the first job with the same items */
	struct built_items items;	/* group leaders: the items they all get */
	int		 items_ok;
	struct err	 items_err;
	/* DANE and DKIM holds (danehold.h) */
	struct holds	 holds;		/* this target's held items */
	struct built_items own;		/* the items with the held ones' previous entries */
	int		 use_own;
	int		 hold_failed;	/* a held item had nothing to fall back on */
	struct err	 hold_err;
	int		 idle;		/* held, and its bundle has that content already */
	int		 s3;		/* 1 published to s3:, -1 failed, 0 not tried */
	char		 s3_error[512];
};

static int
same_lineage(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (realpath(a, ra) == NULL || realpath(b, rb) == NULL)
		return strcmp(a, b) == 0;
	return strcmp(ra, rb) == 0;
}

static int
receives_lineage(const struct pushconf *c, const struct target *t, const char *lineage)
{
	const struct cert_source *s;
	size_t i;

	for (i = 0; i < t->nitems; i++)
		if ((s = pushconf_cert(c, t->items[i])) != NULL && s->lineage != NULL &&
		    same_lineage(s->lineage, lineage))
			return 1;
	return 0;
}

/* Whether held has a hold of item. */
static int
has_hold(const struct holds *held, const char *item)
{
	size_t i;

	for (i = 0; i < held->n; i++)
		if (strcmp(held->h[i].item, item) == 0)
			return 1;
	return 0;
}

/*
 * Whether a certificate source of t is not whole (collect_sources_whole),
 * a renewal half done or a key that never matches its leaf.  Then t is
 * not pushed and keeps its whole previous bundle, rather than a mix of
 * old and new items; each such item is held (STATE/holds: for status,
 * audit, and the daemon's next look on the retries' backoff), with the
 * holds t had for its other items (their due checks pushed back, as no
 * DNS was asked).  Other targets go ahead.
 */
static int
not_whole(const struct pushconf *c, const struct target *t, const struct err *whole,
    time_t now, int dry_run)
{
	const struct cert_source *s;
	struct holds *prev = calloc(2, sizeof(*prev)), *held = prev + 1;
	struct held_item *h;
	char why[1100];
	struct err e;
	size_t i;
	int broken;

	if (prev == NULL)
		return 0;
	if (holds_load(c->state_dir, t->name, prev, &e) == -1)
		memset(prev, 0, sizeof(*prev));
	for (i = 0; i < t->nitems; i++) {
		if ((s = pushconf_cert(c, t->items[i])) == NULL ||
		    whole[s - c->certs].msg[0] == '\0')
			continue;
		snprintf(why, sizeof(why), "its source is not whole, so the target is not "
		    "pushed and keeps its previous bundle: %s", whole[s - c->certs].msg);
		h = holds_add(held, prev, t->items[i], now, why);
		log_warnx("%s: %s held (since %lld s): %s", t->name, h->item,
		    (long long)(now - h->since), h->reason);
	}
	for (i = 0; held->n > 0 && i < prev->n && held->n < PUSH_MAX_ITEMS; i++) {
		if (has_hold(held, prev->h[i].item))
			continue;
		h = &held->h[held->n++];
		*h = prev->h[i];
		if (h->next <= now)
			h->next = now + (time_t)tstate_backoff(++h->attempts);
	}
	if ((broken = held->n > 0) && !dry_run &&
	    holds_save(c->state_dir, t->name, held, &e) == -1)
		log_warnx("%s", e.msg);
	free(prev);
	return broken;
}

/* Whether t takes part, by the options; loads its state into j. */
static int
selected(const struct pushconf *c, const struct target *t, const struct push_opts *o,
    const struct err *whole, struct job *j, time_t now)
{
	struct err e;

	/*
	 * Unreadable state must not drop the target from a push that then
	 * exits 0: push as to a target never pushed to (the push rewrites
	 * the state).  Only a retry, which needs it, skips the target.
	 */
	if (tstate_load(c->state_dir, t->name, &j->ts, &e) == -1) {
		log_warnx("%s (taken as never pushed)", e.msg);
		memset(&j->ts, 0, sizeof(j->ts));
		if (o->retry)
			return 0;
	}
	if ((o->only != NULL && strcmp(o->only, t->name) != 0) ||
	    (o->lineage != NULL && !receives_lineage(c, t, o->lineage)))
		return 0;
	if (o->retry)
		return j->ts.delivered < j->ts.built &&
		    (!o->due_only || j->ts.next_retry <= now);
	if (whole != NULL && not_whole(c, t, whole, now, o->dry_run))
		return 0;
	if (!o->changed_only)
		return 1;
	if (content_digest(c, t, now, j->content, &e) == -1) {
		log_warnx("%s: renewal refused, nothing pushed: %s", t->name, e.msg);
		if (!o->dry_run)
			holds_settle(c->state_dir, t->name, 0, now);
		return 0;
	}
	if (memcmp(j->content, j->ts.content, sizeof(j->content)) != 0)
		return 1;
	if (!o->dry_run)
		holds_settle(c->state_dir, t->name, 1, now);
	return 0;
}


static int
same_items(const struct target *a, const struct target *b)
{
	size_t i;

	if (a->nitems != b->nitems)
		return 0;
	for (i = 0; i < a->nitems; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return 0;
	return 1;
}

/*
 * Reads, checks and re-encodes the items of each distinct item list
 * once, before the targets are served in parallel: every target gets
 * the same reading of the sources, and a source is parsed once per push
 * instead of three times per target (OpenSSL 3.0 spends 0.3 ms decoding
 * a private key, and more when the pool's threads contend for its locks).
 */
static void
collect_groups(const struct pushconf *c, struct job *j, size_t n, time_t now)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < i && !same_items(j[k].d.t, j[i].d.t); k++)
			;
		j[i].group = &j[k];
		if (k == i)
			j[i].items_ok = build_items(c, j[i].d.t, now, &j[i].items,
			    &j[i].items_err) == 0;
	}
}

/*
 * The DANE and DKIM hold (danehold.h), in the main thread before the
 * pool: one DNS run for the push, then each target's items decided
 * against its previous bundle.  A held item's record to publish is
 * logged; the holds are saved for status, audit and the daemon.
 */
static void
hold_jobs(const struct pushconf *c, EVP_PKEY *sk, struct job *j, size_t n,
    time_t now, int dry_run)
{
	struct dnscheck dc;
	struct holds prev;
	struct err e;
	uint8_t own[32];
	size_t i, k;

	dnscheck_run(c, &dc);
	for (i = 0; i < n; i++) {
		if (!j[i].group->items_ok)
			continue;
		if (holds_load(c->state_dir, j[i].d.t->name, &prev, &e) == -1)
			memset(&prev, 0, sizeof(prev));
		j[i].hold_failed = danehold_decide(c, &dc, sk, j[i].d.t,
		    &j[i].group->items, &prev, now, &j[i].own, &j[i].use_own,
		    &j[i].holds, &j[i].hold_err) == -1;
		for (k = 0; k < j[i].holds.n; k++)
			log_warnx("%s: %s held (since %lld s): %s", j[i].d.t->name,
			    j[i].holds.h[k].item, (long long)(now - j[i].holds.h[k].since),
			    j[i].holds.h[k].reason);
		/* Nothing new to send: no serial, no delivery. */
		target_content(j[i].d.t, j[i].own.content, own);
		j[i].idle = j[i].use_own && j[i].ts.built != 0 &&
		    j[i].ts.delivered >= j[i].ts.built &&
		    memcmp(own, j[i].ts.content, sizeof(j[i].ts.content)) == 0;
		if (!dry_run && holds_save(c->state_dir, j[i].d.t->name, &j[i].holds, &e) == -1)
			log_warnx("%s", e.msg);
	}
	dnscheck_free(&dc);
}

/*
 * Without DANE or DKIM checks, what a target gets is its sources': the
 * holds of an earlier push (a source that was not whole) are over.
 */
static void
clear_holds(const struct pushconf *c, const struct job *j, size_t n)
{
	static const struct holds none;
	struct err e;
	size_t i;

	for (i = 0; i < n; i++)
		if (holds_save(c->state_dir, j[i].d.t->name, &none, &e) == -1)
			log_warnx("%s", e.msg);
}

/*
 * Signs (or, for retries, reads) a job's bundle; the items come from its
 * group's leader, only read here.  0, or -1 with d.error set.
 */
static int
prepare_job(const struct pushconf *c, EVP_PKEY *sk, uint64_t serial, int retry,
    int dry_run, int settled, struct job *j)
{
	const struct job *g = j->group;
	struct err e;

	if (retry) {
		j->serial = j->ts.built;
		if (outbox_read(c, j->d.t->name, &j->bundle, &e) == -1)
			goto fail;
	} else {
		j->serial = serial;
		if (!g->items_ok || j->hold_failed) {
			e = g->items_ok ? j->hold_err : g->items_err;
			goto fail;
		}
		if (build_sign(j->use_own ? &j->own : &g->items, j->d.t, sk, serial,
		    &j->bundle, &e) == -1 ||
		    (!dry_run && (outbox_write(c, j->d.t, &j->bundle, sk, settled, &e) == -1 ||
		    outbox_write_previous(c, j->use_own ? &j->own : &g->items, j->d.t, sk,
		    serial, &e) == -1)))
			goto fail;
		j->ts.built = serial;
		target_content(j->d.t, j->use_own ? j->own.content : g->items.content,
		    j->ts.content);
	}
	j->d.bundle = &j->bundle;
	return 0;
fail:
	snprintf(j->d.error, sizeof(j->d.error), "%s: %s", retry ?
	    "no bundle to retry" : "bundle not built", e.msg);
	log_warnx("%s: %s", j->d.t->name, j->d.error);
	return -1;
}

static void
record(const struct pushconf *c, struct job *j, int dry_run)
{
	struct tstate *ts = &j->ts;
	struct err e;

	if (dry_run)
		return;
	if (j->d.result == DELIVERY_FAILED) {
		ts->attempts++;
		ts->next_retry = time(NULL) + tstate_backoff(ts->attempts);
		snprintf(ts->error, sizeof(ts->error), "%s", j->d.error);
	} else {
		ts->delivered = j->serial;
		ts->success = time(NULL);
		ts->attempts = 0;
		ts->next_retry = 0;
		ts->error[0] = '\0';
	}
	if (tstate_save(c->state_dir, j->d.t->name, ts, &e) == -1)
		log_warnx("%s", e.msg);
}

/*
 * The items the node changed, with the start of their leaf fingerprint
 * ("www=E4:B8:49:A1,dkim-2026"), or "-": after one renewal, the nodes
 * that got it show it whichever certificate their first endpoint serves.
 */
static void
changed_text(const struct delivery *d, char *out, size_t size)
{
	size_t i, n = 0;
	int w;

	snprintf(out, size, "-");
	for (i = 0; i < d->nchanged; i++) {
		w = snprintf(out + n, size - n, "%s%s%s%.11s", i ? "," : "",
		    d->changed[i].item, d->changed[i].fingerprint[0] ? "=" : "",
		    d->changed[i].fingerprint);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

/*
 * How a job ended, for the summary: failed, held (delivered or not, a
 * held key change is not done: the exit status is 1), or ok.
 */
enum outcome { OUT_OK, OUT_HELD, OUT_FAILED };

static enum outcome
outcome(const struct job *j)
{
	/* A failed s3: upload leaves that target's mirror copy behind. */
	if (j->d.result == DELIVERY_FAILED || j->s3 == -1)
		return OUT_FAILED;
	return j->holds.n > 0 ? OUT_HELD : OUT_OK;
}

/* "  held: www: REASON; dkim: REASON", or "" when nothing is held. */
static void
held_text(const struct job *j, char *out, size_t size)
{
	size_t i, n = 0;
	int w;

	out[0] = '\0';
	if (j->d.result == DELIVERY_FAILED)
		return;		/* its error says why */
	for (i = 0; i < j->holds.n; i++) {
		w = snprintf(out + n, size - n, "%s%s: %s", i ? "; " : "  held: ",
		    j->holds.h[i].item, j->holds.h[i].reason);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

/* The summary line: "N of M targets ok[, H held], F failed". */
static void
summary_text(const struct job *j, size_t n, char *out, size_t size)
{
	size_t i, count[3] = { 0, 0, 0 };

	for (i = 0; i < n; i++)
		count[outcome(&j[i])]++;
	if (count[OUT_HELD] == 0)
		snprintf(out, size, "%zu of %zu targets ok, %zu failed", count[OUT_OK], n,
		    count[OUT_FAILED]);
	else
		snprintf(out, size, "%zu of %zu targets ok, %zu held, %zu failed (a held "
		    "item keeps its previous content on the node until it is released: "
		    "see each held target's line)",
		    count[OUT_OK], n, count[OUT_HELD], count[OUT_FAILED]);
}

/* One line per target and a summary, on stdout or (to_log) in the log. */
static void
report_text(const struct job *j, size_t n, int to_log)
{
	char line[4800], changed[DELIVERY_MAX_CHANGED * 80], held[2300];
	size_t i, ok = 0;

	for (i = 0; i <= n; i++) {
		const struct delivery *d = &j[i < n ? i : 0].d;

		if (i == n && d->dry_run)
			snprintf(line, sizeof(line), "%zu of %zu targets would install the "
			    "bundle, %zu would not (dry run: nothing installed)", ok, n,
			    n - ok);
		else if (i == n)
			summary_text(j, n, line, sizeof(line));
		else {
			changed_text(d, changed, sizeof(changed));
			held_text(&j[i], held, sizeof(held));
			snprintf(line, sizeof(line), "%-16s %-10s serial %-12" PRIu64
			    " %-8s %.2fs%s%s%s%s%s", d->t->name, delivery_result_name(d->result),
			    d->serial ? d->serial : j[i].serial, changed, d->ms / 1000.0,
			    d->error[0] ? "  error: " : "", d->error,
			    j[i].s3 == 1 ? "  s3: published" : j[i].s3 == -1 ?
			    "  s3 error: " : "", j[i].s3_error, held);
		}
		if (i < n)
			ok += d->result != DELIVERY_FAILED;
		if (to_log)
			log_info("%s", line);
		else
			puts(line);
	}
	fflush(stdout);
}

/* ,"changed":[{"item":...,"fingerprint":...}]: full fingerprints. */
static void
report_json_changed(struct buf *b, const struct delivery *d)
{
	size_t i;

	buf_add_str(b, ",\"changed\":[");
	for (i = 0; i < d->nchanged; i++) {
		buf_add_str(b, i ? ",{" : "{");
		json_kv_str(b, "item", d->changed[i].item);
		buf_add_u8(b, ',');
		json_kv_str(b, "fingerprint", d->changed[i].fingerprint[0] ?
		    d->changed[i].fingerprint : NULL);
		buf_add_u8(b, '}');
	}
	buf_add_u8(b, ']');
}

static void
report_json(const struct job *j, size_t n)
{
	struct buf b = { 0 };
	size_t i, count[3] = { 0, 0, 0 };

	buf_add_str(&b, "{\"targets\":[");
	for (i = 0; i < n; i++) {
		const struct delivery *d = &j[i].d;

		buf_add_str(&b, i ? ",{" : "{");
		json_kv_str(&b, "name", d->t->name);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "result", delivery_result_name(d->result));
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "serial", d->serial ? d->serial : j[i].serial);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "fingerprint", d->fingerprint[0] ? d->fingerprint : NULL);
		report_json_changed(&b, d);
		buf_add_u8(&b, ',');
		json_kv_i64(&b, "ms", d->ms);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "error", d->error[0] ? d->error : NULL);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "s3", j[i].s3 == 1 ? "published" : j[i].s3 == -1 ?
		    "failed" : NULL);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "s3_error", j[i].s3_error[0] ? j[i].s3_error : NULL);
		buf_add_u8(&b, ',');
		holds_json(&b, &j[i].holds);
		buf_add_u8(&b, '}');
		count[outcome(&j[i])]++;
	}
	buf_add_str(&b, "],");
	json_kv_u64(&b, "ok", count[OUT_OK]);
	buf_add_u8(&b, ',');
	json_kv_u64(&b, "held", count[OUT_HELD]);
	buf_add_u8(&b, ',');
	json_kv_u64(&b, "failed", count[OUT_FAILED]);
	buf_add_str(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
}

/*
 * The bucket gets the bundle the outbox holds, after the delivery: a
 * failure is the target's "s3 error", and the delivery's result stands.
 */
static void
publish_s3(const struct pushconf *c, struct job *j)
{
	struct err e;

	if (outbox_publish_s3(c, j->d.t->name, &j->bundle, &e) == 0) {
		j->s3 = 1;
		return;
	}
	j->s3 = -1;
	snprintf(j->s3_error, sizeof(j->s3_error), "%s", e.msg);
	log_warnx("%s: %s", j->d.t->name, e.msg);
}

/* What the jobs of one push share. */
struct push_run {
	const struct pushconf	*c;
	const struct push_opts	*o;
	EVP_PKEY		*sk;
	uint64_t		 serial;
	struct job		*j;
	int			 settled;	/* the outbox, once for the push */
};

/*
 * One target from start to end, in a pool thread: build (or read) its
 * bundle and write it to the outbox, deliver it, record the outcome.
 * Per target rather than in three phases, so no target waits for the
 * others' builds and fsyncs (two per outbox file, two per state file)
 * before its delivery starts, nor for their state files after it ends.
 * A bundle that could not be built leaves d.bundle NULL: deliver() then
 * fails the target with the error prepare_job set.
 */
static void
run_job(void *arg, size_t i)
{
	struct push_run *r = arg;
	struct job *j = &r->j[i];

	if (j->idle) {
		/* Its held bundle is the one it has: nothing to deliver. */
		j->d.result = DELIVERY_UNCHANGED;
		j->d.serial = j->serial = j->ts.built;
		return;
	}
	prepare_job(r->c, r->sk, r->serial, r->o->retry, r->o->dry_run, r->settled, j);
	deliver(&j->d);
	record(r->c, j, r->o->dry_run);
	if (r->c->s3.endpoint != NULL && !r->o->dry_run && j->d.bundle != NULL)
		publish_s3(r->c, j);
}

int
push_now(const struct pushconf *c, const struct push_opts *o)
{
	struct job *j = calloc(c->ntargets, sizeof(*j));
	const struct err *whole = o->retry ? NULL : o->whole;
	struct push_run run;
	EVP_PKEY *sk = NULL;
	uint64_t serial = 0;
	time_t now = time(NULL);
	struct err e;
	size_t i, n = 0, failed = 0;

	for (i = 0; j != NULL && i < c->ntargets; i++) {
		j[n].d.t = &c->targets[i];
		j[n].d.dry_run = o->dry_run;
		if (selected(c, &c->targets[i], o, whole, &j[n], now))
			n++;
		else
			memset(&j[n], 0, sizeof(j[n]));
	}
	if (j == NULL)
		return 1;
	if (n == 0) {
		if (o->only != NULL)
			log_warnx("no target named \"%s\" to push to", o->only);
		free(j);
		return o->only != NULL ? 1 : 0;
	}
	/* A dry run builds with the next serial but does not consume it. */
	if (!o->retry && ((sk = sig_load_secret(c->signing_key, &e)) == NULL ||
	    (o->dry_run ? serial_last(c->state_dir, &serial, &e) :
	    serial_next(c->state_dir, now, c->front_id, &serial, &e)) == -1 ||
	    (o->dry_run && serial_after(serial, now, c->front_id, &serial, &e) == -1))) {
		log_warnx("%s", e.msg);
		EVP_PKEY_free(sk);
		free(j);
		return 1;
	}
	if (!o->retry)
		collect_groups(c, j, n, now);
	if (!o->retry && danehold_needed(c))
		hold_jobs(c, sk, j, n, now, o->dry_run);
	else if (!o->retry && !o->dry_run)
		clear_holds(c, j, n);
	/*
	 * libcurl is loaded only for s3: uploads, before the pool's threads
	 * (they run them).  If it cannot be, each upload says so.
	 */
	if (c->s3.endpoint != NULL && !o->dry_run && http_global_init(&e) == -1)
		log_warnx("s3: %s", e.msg);
	run = (struct push_run){ c, o, sk, serial, j,
	    !o->retry && !o->dry_run && outbox_settle(c, &e) == 0 };
	pool_run(n, c->concurrency, run_job, &run);
	/*
	 * A held key change is not done: exit 1 until it is delivered.  A
	 * failed s3: upload leaves the mirror behind: exit 1 too.
	 */
	for (i = 0; i < n; i++)
		failed += j[i].d.result == DELIVERY_FAILED || j[i].holds.n > 0 ||
		    j[i].s3 == -1;
	if (o->json)
		report_json(j, n);
	else
		report_text(j, n, o->to_log);
	for (i = 0; i < n; i++) {
		buf_free(&j[i].bundle);
		built_items_free(&j[i].items);
		built_items_free(&j[i].own);
	}
	free(j);
	EVP_PKEY_free(sk);
	return failed ? 1 : 0;
}

time_t
push_next_retry(const struct pushconf *c)
{
	struct tstate ts;
	struct err e;
	time_t next = 0;
	size_t i;

	for (i = 0; i < c->ntargets; i++)
		if (tstate_load(c->state_dir, c->targets[i].name, &ts, &e) == 0 &&
		    ts.delivered < ts.built && ts.next_retry != 0 &&
		    (next == 0 || ts.next_retry < next))
			next = ts.next_retry;
	return next;
}

int
push_daemon_lock(const struct pushconf *c, struct err *e)
{
	char why[sizeof(e->msg)];
	int fd;

	if ((fd = state_lock(c->state_dir, "daemon.lock", 0, e)) == -1 && errno == EWOULDBLOCK) {
		memcpy(why, e->msg, sizeof(why));
		err_set(e, "%.400s (is another certpush run watching the same state?)", why);
	}
	return fd;
}

int
push_status(const struct pushconf *c, int json)
{
	struct buf b = { 0 };
	struct tstate ts;
	struct holds holds;
	uint64_t current;
	struct err e;
	size_t i, waiting = 0;
	int daemon = state_lock_held(c->state_dir, "daemon.lock");

	if (serial_last(c->state_dir, &current, &e) == -1) {
		log_warnx("%s", e.msg);
		return 1;
	}
	buf_add_u8(&b, '{');
	json_kv_u64(&b, "last_serial", current);
	buf_add_str(&b, daemon ? ",\"daemon\":true" : ",\"daemon\":false");
	buf_add_str(&b, ",\"targets\":[");
	if (!json)
		printf("%-16s %-12s %-12s %-7s %-20s %-20s %s\n", "TARGET", "DELIVERED",
		    "CURRENT", "STATE", "LAST SUCCESS", "NEXT RETRY", "LAST ERROR");
	for (i = 0; i < c->ntargets; i++) {
		const char *name = c->targets[i].name;
		char ok[32], retry[32];
		struct tm tm;

		if (tstate_load(c->state_dir, name, &ts, &e) == -1)
			snprintf(ts.error, sizeof(ts.error), "%s", e.msg);
		strftime(ok, sizeof(ok), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ts.success, &tm));
		strftime(retry, sizeof(retry), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&ts.next_retry, &tm));
		/* Without a daemon, nobody makes a scheduled retry. */
		if (ts.next_retry != 0 && ts.delivered < ts.built && !daemon) {
			snprintf(retry, sizeof(retry), "none: no daemon");
			waiting++;
		}
		if (holds_load(c->state_dir, name, &holds, &e) == -1)
			holds.n = 0;
		if (!json)
			printf("%-16s %-12" PRIu64 " %-12" PRIu64 " %-7s %-20s %-20s %s\n",
			    name, ts.delivered, ts.built, ts.built == 0 ? "NEVER" :
			    ts.delivered >= ts.built ? "ok" : "BEHIND", ts.success ? ok : "never",
			    ts.next_retry ? retry : "-", ts.error[0] ? ts.error : "-");
		if (!json)
			holds_print(&holds, time(NULL));
		buf_add_str(&b, i ? ",{" : "{");
		json_kv_str(&b, "name", name);
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "delivered", ts.delivered);
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "current", ts.built);
		buf_add_str(&b, ts.built != 0 && ts.delivered >= ts.built ?
		    ",\"behind\":false," : ",\"behind\":true,");
		json_kv_i64(&b, "last_success", (int64_t)ts.success);
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "attempts", ts.attempts);
		buf_add_u8(&b, ',');
		json_kv_i64(&b, "next_retry", (int64_t)ts.next_retry);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "error", ts.error[0] ? ts.error : NULL);
		buf_add_u8(&b, ',');
		holds_json(&b, &holds);
		buf_add_u8(&b, '}');
	}
	buf_add_str(&b, "],");
	json_kv_str(&b, "version", CP_VERSION);
	buf_add_str(&b, "}\n");
	if (json)
		fwrite(b.data, 1, b.len, stdout);
	else if (waiting > 0)
		printf("no certpush run (the daemon) is running for %s: %zu target%s behind "
		    "will be retried only by the next certpush --now, or once the daemon "
		    "is started\n", c->state_dir, waiting, waiting == 1 ? "" : "s");
	buf_free(&b);
	return 0;
}
