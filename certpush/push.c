#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "bundle.h"
#include "deliver.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "push.h"
#include "serial.h"
#include "sig.h"
#include "tstate.h"

struct pool {
	struct delivery	*d;
	size_t		 n;
	size_t		 next;		/* taken atomically by the workers */
};

static void *
worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_SEQ_CST)) < p->n)
		deliver(&p->d[i]);
	return NULL;
}

/* Delivers every entry with at most conc threads; a slow one holds one slot. */
static void
deliver_all(struct delivery *d, size_t n, unsigned long conc)
{
	struct pool p = { d, n, 0 };
	pthread_t th[256];
	size_t i, nth = conc < n ? conc : n;

	if (nth > sizeof(th) / sizeof(th[0]))
		nth = sizeof(th) / sizeof(th[0]);
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, &p) != 0)
			break;
	if (i == 0)
		worker(&p);
	nth = i;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
}

static int
write_outbox(const struct pushconf *c, const char *name, const struct buf *b,
    struct err *e)
{
	char path[PATH_MAX];

	if (mkdir(c->state_dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", c->state_dir, strerror(errno));
	if (mkdir(c->outbox, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", c->outbox, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, name);
	return file_write_atomic(path, b->data, b->len, geteuid(), getegid(), 0600, e);
}

static int
selected(const struct pushconf *c, const struct target *t, const struct push_opts *o,
    uint64_t last_serial)
{
	struct tstate ts;
	struct err e;

	if (o->only != NULL)
		return strcmp(o->only, t->name) == 0;
	if (!o->retry_only)
		return 1;
	return tstate_load(c->state_dir, t->name, &ts, &e) == 0 &&
	    ts.delivered < last_serial;
}

/*
 * Retries send the exact bytes built for that serial, from the outbox: a
 * rebuilt bundle would carry the same serial with other bytes, which
 * certpull rightly refuses.
 */
static int
read_outbox(const struct pushconf *c, const char *name, struct buf *b, struct err *e)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, name);
	return file_read(path, BUNDLE_MAX_SIZE, b, e);
}

/* Builds (or, for retries, reads) the bundles; a failure marks that target. */
static void
build_all(const struct pushconf *c, EVP_PKEY *sk, uint64_t serial, int retry,
    struct delivery *d, struct buf *bundles, size_t n)
{
	time_t now = time(NULL);
	struct err e;
	size_t i;

	for (i = 0; i < n; i++) {
		if (retry && read_outbox(c, d[i].t->name, &bundles[i], &e) == -1) {
			snprintf(d[i].error, sizeof(d[i].error), "no bundle to retry: %s",
			    e.msg);
			continue;
		}
		if (!retry && (build_bundle(c, d[i].t, sk, serial, now, &bundles[i],
		    &e) == -1 ||
		    write_outbox(c, d[i].t->name, &bundles[i], &e) == -1)) {
			snprintf(d[i].error, sizeof(d[i].error), "bundle not built: %s", e.msg);
			log_warnx("%s: %s", d[i].t->name, d[i].error);
			continue;
		}
		d[i].bundle = &bundles[i];
	}
}

static void
record(const struct pushconf *c, const struct delivery *d, uint64_t serial,
    int dry_run)
{
	struct tstate ts;
	struct err e;

	if (dry_run || tstate_load(c->state_dir, d->t->name, &ts, &e) == -1)
		return;
	if (d->result == DELIVERY_FAILED) {
		ts.attempts++;
		ts.next_retry = time(NULL) + tstate_backoff(ts.attempts);
		snprintf(ts.error, sizeof(ts.error), "%s", d->error);
	} else {
		ts.delivered = serial;
		ts.success = time(NULL);
		ts.attempts = 0;
		ts.next_retry = 0;
		ts.error[0] = '\0';
	}
	if (tstate_save(c->state_dir, d->t->name, &ts, &e) == -1)
		log_warnx("%s", e.msg);
}

static void
report_text(const struct delivery *d, size_t n, uint64_t serial)
{
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		printf("%-16s %-10s serial %-12" PRIu64 " %-8s %.2fs%s%s\n", d[i].t->name,
		    delivery_result_name(d[i].result), d[i].serial ? d[i].serial : serial,
		    d[i].fingerprint[0] ? d[i].fingerprint : "-", d[i].ms / 1000.0,
		    d[i].error[0] ? "  error: " : "", d[i].error);
		ok += d[i].result != DELIVERY_FAILED;
	}
	printf("serial %" PRIu64 ": %zu of %zu targets ok, %zu failed\n", serial, ok, n,
	    n - ok);
}

static void
report_json(const struct delivery *d, size_t n, uint64_t serial)
{
	struct buf b = { 0 };
	size_t i, ok = 0;

	buf_add_u8(&b, '{');
	json_kv_u64(&b, "serial", serial);
	buf_add_str(&b, ",\"targets\":[");
	for (i = 0; i < n; i++) {
		buf_add_str(&b, i ? ",{" : "{");
		json_kv_str(&b, "name", d[i].t->name);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "result", delivery_result_name(d[i].result));
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "serial", d[i].serial);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "fingerprint", d[i].fingerprint[0] ? d[i].fingerprint : NULL);
		buf_add_u8(&b, ',');
		json_kv_i64(&b, "ms", d[i].ms);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "error", d[i].error[0] ? d[i].error : NULL);
		buf_add_u8(&b, '}');
		ok += d[i].result != DELIVERY_FAILED;
	}
	buf_add_str(&b, "],");
	json_kv_u64(&b, "ok", ok);
	buf_add_u8(&b, ',');
	json_kv_u64(&b, "failed", n - ok);
	buf_add_str(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

int
push_now(const struct pushconf *c, const struct push_opts *o)
{
	struct delivery *d = calloc(c->ntargets, sizeof(*d));
	struct buf *bundles = calloc(c->ntargets, sizeof(*bundles));
	EVP_PKEY *sk = NULL;
	uint64_t serial = 0, last = 0;
	struct err e;
	size_t i, n = 0, failed = 0;
	int rc = 1;

	if (d == NULL || bundles == NULL || serial_last(c->state_dir, &last, &e) == -1 ||
	    (sk = sig_load_secret(c->signing_key, &e)) == NULL) {
		log_warnx("%s", d && bundles ? e.msg : "out of memory");
		goto out;
	}
	for (i = 0; i < c->ntargets; i++)
		if (selected(c, &c->targets[i], o, last)) {
			d[n].t = &c->targets[i];
			d[n++].dry_run = o->dry_run;
		}
	if (n == 0) {
		log_warnx(o->only ? "no target named \"%s\"" : "no target to push to%s",
		    o->only ? o->only : "");
		rc = o->only ? 1 : 0;
		goto out;
	}
	if (o->retry_only)
		serial = last;
	else if (serial_next(c->state_dir, time(NULL), &serial, &e) == -1) {
		log_warnx("%s", e.msg);
		goto out;
	}
	build_all(c, sk, serial, o->retry_only, d, bundles, n);
	deliver_all(d, n, c->concurrency);
	for (i = 0; i < n; i++) {
		record(c, &d[i], serial, o->dry_run);
		failed += d[i].result == DELIVERY_FAILED;
	}
	if (o->json)
		report_json(d, n, serial);
	else
		report_text(d, n, serial);
	rc = failed ? 1 : 0;
out:
	for (i = 0; bundles != NULL && i < c->ntargets; i++)
		buf_free(&bundles[i]);
	free(bundles);
	free(d);
	EVP_PKEY_free(sk);
	return rc;
}

int
push_status(const struct pushconf *c, int json)
{
	struct buf b = { 0 };
	struct tstate ts;
	uint64_t current;
	struct err e;
	size_t i;

	if (serial_last(c->state_dir, &current, &e) == -1) {
		log_warnx("%s", e.msg);
		return 1;
	}
	buf_add_u8(&b, '{');
	json_kv_u64(&b, "current_serial", current);
	buf_add_str(&b, ",\"targets\":[");
	if (!json)
		printf("current serial %" PRIu64 "\n", current);
	for (i = 0; i < c->ntargets; i++) {
		const char *name = c->targets[i].name;

		if (tstate_load(c->state_dir, name, &ts, &e) == -1)
			snprintf(ts.error, sizeof(ts.error), "%s", e.msg);
		if (!json)
			printf("%-16s delivered %-12" PRIu64 " %-8s last success %lld  "
			    "next retry %lld%s%s\n", name, ts.delivered,
			    ts.delivered >= current ? "current" : "BEHIND",
			    (long long)ts.success, (long long)ts.next_retry,
			    ts.error[0] ? "  error: " : "", ts.error);
		buf_add_str(&b, i ? ",{" : "{");
		json_kv_str(&b, "name", name);
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "delivered", ts.delivered);
		buf_add_str(&b, ts.delivered >= current ? ",\"current\":true," :
		    ",\"current\":false,");
		json_kv_i64(&b, "last_success", (int64_t)ts.success);
		buf_add_u8(&b, ',');
		json_kv_u64(&b, "attempts", ts.attempts);
		buf_add_u8(&b, ',');
		json_kv_i64(&b, "next_retry", (int64_t)ts.next_retry);
		buf_add_u8(&b, ',');
		json_kv_str(&b, "error", ts.error[0] ? ts.error : NULL);
		buf_add_u8(&b, '}');
	}
	buf_add_str(&b, "]}\n");
	if (json)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	return 0;
}
