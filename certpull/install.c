#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "fsutil.h"
#include "install.h"
#include "json.h"
#include "log.h"
#include "nodeverify.h"
#include "reload.h"
#include "render.h"
#include "state.h"
#include "statelock.h"
#include "txn.h"

#define LOCK_WAIT_MS	10000

static int
fail(struct outcome *o, const char *step, const char *msg)
{
	snprintf(o->step, sizeof(o->step), "%s", step);
	snprintf(o->error, sizeof(o->error), "%s", msg);
	o->result = INSTALL_FAILED;
	return -1;
}

/* Takes STATE/lock, waiting up to LOCK_WAIT_MS.  Returns the fd or -1. */
static int
take_lock(const char *state_dir, struct err *e)
{
	int fd;

	if ((fd = state_lock(state_dir, "lock", LOCK_WAIT_MS, e)) == -1 && errno == EWOULDBLOCK)
		err_set(e, "another certpull install holds %s/lock (waited %d s)", state_dir,
		    LOCK_WAIT_MS / 1000);
	return fd;
}

static struct svc_outcome *
svc_out(struct outcome *o, const struct service *s)
{
	size_t i;

	for (i = 0; i < o->nservices; i++)
		if (strcmp(o->services[i].name, s->name) == 0)
			return &o->services[i];
	o->services[o->nservices].name = s->name;
	o->services[o->nservices].result = "unchanged";
	return &o->services[o->nservices++];
}

static int
service_changed(const struct txn *t, const struct service *s)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		if (t->files[i].svc == s && t->files[i].changed)
			return 1;
	return 0;
}

/*
 * After a recovery, makes s load the files now on disk again.  HAProxy
 * may hold the new certificate in memory only (runtime API): it gets the
 * restored files through the same API, or else the reload command.
 */
static int
reload_restored(const struct pullconf *c, const struct service *s, struct err *e)
{
	struct txn *t;
	struct stat st;
	const char *how;
	size_t i;
	int rc = -1;

	if (s->reload == NULL && s->haproxy_socket == NULL)
		return 0;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return err_set(e, "out of memory");
	t->state_dir = c->state_dir;
	for (i = 0; s->haproxy_socket != NULL && i < s->nfiles; i++) {
		struct txn_file *tf = &t->files[t->nfiles];

		if (s->files[i].format != FMT_HAPROXY ||
		    (lstat(s->files[i].path, &st) == -1 && errno == ENOENT))
			continue;
		tf->old.secret = 1;
		if (file_read(s->files[i].path, TXN_FILE_CAP, &tf->old, e) == -1)
			goto out;
		tf->svc = s;
		tf->f = &s->files[i];
		tf->changed = tf->existed = 1;
		t->nfiles++;
	}
	if (s->reload == NULL || (rc = service_check(s, e)) == 0)
		rc = service_reload(s, t, 1, &how, e);
out:
	txn_free(t);
	free(t);
	return rc;
}

/* Logs the recovery, naming the restored services. */
static void
log_recovery(const struct txn_services *svcs)
{
	char names[512] = "";
	size_t i, len = 0;

	/* The message alone may be cut; the list itself never is. */
	for (i = 0; i < svcs->n && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
		    i ? "," : "", svcs->name[i]);
	log_warnx("an interrupted install was found and rolled back (services: %s)",
	    names);
}

int
install_recover(const struct pullconf *c, struct outcome *o, struct err *e)
{
	struct txn_services *svcs = calloc(1, sizeof(*svcs));
	struct err why;
	size_t i;
	int recovered;

	if (svcs == NULL)
		return err_set(e, "out of memory");
	if (txn_recover(c->state_dir, &recovered, svcs, e) == -1) {
		free(svcs);
		return -1;
	}
	if (recovered) {
		o->recovered = 1;
		log_recovery(svcs);
	}
	/* The services may have loaded the new files before the interruption. */
	for (i = 0; recovered && i < c->nservices; i++) {
		const struct service *s = &c->services[i];

		if (txn_services_has(svcs, s->name) &&
		    reload_restored(c, s, &why) == -1)
			log_warnx("after recovery: %s", why.msg);
	}
	free(svcs);
	return 0;
}

int
install_recover_locked(const struct pullconf *c, struct err *e)
{
	struct outcome *o = calloc(1, sizeof(*o));
	int lock, rc;

	if (o == NULL)
		return err_set(e, "out of memory");
	if ((lock = take_lock(c->state_dir, e)) == -1) {
		free(o);
		return -1;
	}
	rc = install_recover(c, o, e);
	close(lock);
	free(o);
	return rc;
}

/*
 * A pkcs12 file is salted anew at each render: where the file on disk
 * already holds the same certificates and key, keep its bytes, so that an
 * unchanged bundle leaves it (and its service) alone.
 */
static void
keep_equivalent(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++) {
		struct txn_file *tf = &t->files[i];
		struct buf same = { .secret = 1 };

		if (!tf->changed || !tf->existed || tf->f->format != FMT_PKCS12 ||
		    !render_same_content(tf->f, &tf->old, &tf->new))
			continue;
		if (buf_add(&same, tf->old.data, tf->old.len) == -1) {
			buf_free(&same);
			continue;	/* out of memory: rewrite it, as rendered */
		}
		buf_free(&tf->new);
		tf->new = same;
		tf->changed = tf->old_uid != tf->f->uid || tf->old_gid != tf->f->gid ||
		    tf->old_mode != tf->f->mode;
	}
}

/* Renders every configured file from the verified bundle, parsed in kept. */
static int
prepare(const struct pullconf *c, const struct bundle *b,
    const struct bundle_parsed *kept, struct txn *t, struct err *e)
{
	char fpr[CERT_FPR_LEN];
	size_t i, j;

	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nfiles; j++) {
			struct txn_file *tf = &t->files[t->nfiles++];

			tf->svc = &c->services[i];
			tf->f = &c->services[i].files[j];
			if (render_file(b, kept, tf->f, &tf->new, fpr, e) == -1)
				return -1;
		}
	if (txn_compare(t, e) == -1)
		return -1;
	keep_equivalent(t);
	return 0;
}

/* The item endpoint ep must serve: its own, or the service's first certificate. */
static const char *
endpoint_item(const struct service *s, const struct endpoint *ep)
{
	size_t i;

	if (ep->item != NULL)
		return ep->item;
	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].format != FMT_DKIM && s->files[i].format != FMT_KEY)
			return s->files[i].item;
	return NULL;
}

/* Fingerprint of item's leaf as written in the new (or old) files. */
static int
expected_fpr(const struct txn *t, const char *item, int old, char fpr[CERT_FPR_LEN])
{
	size_t i;

	for (i = 0; i < t->nfiles; i++) {
		const struct txn_file *tf = &t->files[i];
		const struct buf *b = old ? &tf->old : &tf->new;
		X509 *x;

		if (strcmp(tf->f->item, item) != 0 || tf->f->format == FMT_DKIM ||
		    tf->f->format == FMT_KEY || tf->f->format == FMT_CHAIN || b->len == 0)
			continue;
		if ((x = render_leaf_of(tf->f, b)) == NULL)
			continue;
		cert_fingerprint(x, fpr);
		X509_free(x);
		return 0;
	}
	return -1;
}

/* Checks every endpoint of the changed services. 0, or -1 with e set. */
static int
check_endpoints(const struct pullconf *c, const struct txn *t, int old,
    struct outcome *o, struct err *e)
{
	char want[CERT_FPR_LEN];
	size_t i, j;
	int rc = 0;

	o->nserved = 0;
	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];

		if (!service_changed(t, s))
			continue;
		for (j = 0; j < s->nendpoints; j++) {
			const struct endpoint *ep = &s->endpoints[j];
			const char *item = endpoint_item(s, ep);
			struct served *sv = &o->served[o->nserved++];
			struct err why;

			if (item == NULL || expected_fpr(t, item, old, want) == -1) {
				snprintf(sv->endpoint, sizeof(sv->endpoint), "%s:%lu",
				    ep->address, ep->port);
				rc = err_set(e, "%s: no certificate to expect at %s", s->name,
				    sv->endpoint);
				continue;
			}
			if (endpoint_wait(ep, want, (unsigned)c->grace, sv, &why) == -1) {
				rc = err_set(e, "%s: %s", s->name, why.msg);
				svc_out(o, s)->result = "failed";
			}
		}
	}
	return rc;
}

/*
 * For an unchanged install: what every endpoint serves now (one probe
 * each), so that the sender still learns the served fingerprints.
 */
static void
report_served(const struct pullconf *c, const struct bundle *b,
    const struct bundle_parsed *kept, struct outcome *o)
{
	char want[CERT_FPR_LEN];
	size_t i, j;

	o->nserved = 0;
	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nendpoints; j++) {
			const struct endpoint *ep = &c->services[i].endpoints[j];
			const char *item = endpoint_item(&c->services[i], ep);
			struct err why;

			if (item == NULL || render_leaf_fpr(b, kept, item, want) == -1)
				continue;
			if (endpoint_wait(ep, want, 0, &o->served[o->nserved++], &why) == -1)
				log_warnx("%s", why.msg);
		}
}

/* Runs the checks of every changed service, then reloads them. */
static int
apply(const struct pullconf *c, const struct txn *t, struct outcome *o,
    const char **step, struct err *e)
{
	const char *how;
	size_t i;

	*step = "check";
	for (i = 0; i < c->nservices; i++)
		if (service_changed(t, &c->services[i]) &&
		    service_check(&c->services[i], e) == -1) {
			svc_out(o, &c->services[i])->result = "failed";
			return -1;
		}
	txn_crash_point("checked");
	*step = "reload";
	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];
		struct svc_outcome *so;

		if (!service_changed(t, s))
			continue;
		so = svc_out(o, s);
		if (service_reload(s, t, 0, &how, e) == -1) {
			so->result = "failed";
			return -1;
		}
		so->result = strcmp(how, "none") == 0 ? "updated" : "reloaded";
		snprintf(so->detail, sizeof(so->detail), "%s", strcmp(how, "none") == 0 ?
		    "no reload configured" : how);
	}
	txn_crash_point("reloaded");
	*step = "live-check";
	return check_endpoints(c, t, 0, o, e);
}

static int
any_swapped(const struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		if (t->files[i].swapped)
			return 1;
	return 0;
}

/*
 * Removes the journal after a rollback; what o->files reports then.  A
 * journal still there makes the next run restore the same files again.
 */
static enum files_left
finish_rollback(struct txn *t, int touched)
{
	struct err why;
	int synced;

	if (txn_finish(t, &synced, &why) == -1) {
		log_warnx("%s", why.msg);
		return FILES_RESTORE_PENDING;
	}
	if (!synced)
		log_warnx("the removal of the journal may not be durable: %s", why.msg);
	return touched ? FILES_RESTORED : FILES_UNTOUCHED;
}

/*
 * Puts the old files back, reloads, and checks the old leaf is served.
 * The journal is removed only if every file was put back.
 */
static void
roll_back(const struct pullconf *c, struct txn *t, int state_written,
    struct outcome *o)
{
	const char *how;
	struct err why;
	size_t i;
	int restored = 1, touched = state_written || any_swapped(t);

	if (txn_rollback(t, &why) == -1) {
		log_warnx("%s", why.msg);
		restored = 0;
	}
	if (state_written && txn_restore_state(t, &why) == -1) {
		log_warnx("%s", why.msg);
		restored = 0;
	}
	for (i = 0; i < c->nservices; i++) {
		const struct service *s = &c->services[i];
		struct svc_outcome *so;

		if (!service_changed(t, s))
			continue;
		so = svc_out(o, s);
		so->result = "rolled-back";
		if (service_reload(s, t, 1, &how, &why) == -1) {
			log_warnx("rollback: %s", why.msg);
			snprintf(so->detail, sizeof(so->detail), "%s", why.msg);
		}
	}
	if (check_endpoints(c, t, 1, o, &why) == -1)
		log_warnx("after rollback: %s", why.msg);
	/* A file not put back keeps the journal: the next run restores it. */
	o->files = restored ? finish_rollback(t, touched) : FILES_RESTORE_PENDING;
}

/* Verifies the bundle into b, keeping its parsed content in kept. */
static int
verify(const struct pullconf *c, const uint8_t *data, size_t len, unsigned flags,
    struct bundle *b, struct bundle_parsed *kept, int *unchanged, struct outcome *o)
{
	char step[NODE_STEP_LEN];
	struct err e;

	if (node_verify(c, data, len, flags, b, kept, unchanged, step, &e) == -1)
		return fail(o, step, e.msg);
	o->serial = b->serial;
	return 0;
}

static int
record(const struct pullconf *c, const struct bundle *b, struct err *e)
{
	struct pullstate st = { .have = 1, .serial = b->serial };

	memcpy(st.digest, b->digest, sizeof(st.digest));
	memcpy(st.keyid, b->keyid, sizeof(st.keyid));
	return pullstate_save(c->state_dir, &st, e);
}

/* Steps 2 to 7 on a verified bundle; t is filled and released by the caller. */
static enum install_result
transact(const struct pullconf *c, const struct bundle *b,
    const struct bundle_parsed *kept, struct txn *t, struct outcome *o)
{
	const char *step = "render";
	struct err e;
	int synced;

	if (prepare(c, b, kept, t, &e) == -1)
		return fail(o, step, e.msg), INSTALL_FAILED;
	if (txn_stage(t, &e) == -1)
		return fail(o, "stage", e.msg), INSTALL_FAILED;
	txn_crash_point("staged");
	if (txn_swap(t, &e) == -1) {
		fail(o, "swap", e.msg);
		roll_back(c, t, 0, o);
		return INSTALL_FAILED;
	}
	if (apply(c, t, o, &step, &e) == -1) {
		fail(o, step, e.msg);
		roll_back(c, t, 0, o);
		return INSTALL_FAILED;
	}
	/*
	 * The new state is recorded while the journal still exists: a crash
	 * (or a failure) before the journal is gone makes the next run put
	 * back the files and the state together; after it, both are new.
	 */
	if (record(c, b, &e) == -1) {
		/* The new state may be in place if only a sync failed. */
		fail(o, "state", e.msg);
		roll_back(c, t, 1, o);
		return INSTALL_FAILED;
	}
	txn_crash_point("recorded");
	/*
	 * A journal that cannot be removed would make the next run restore
	 * the previous files: do it now, and report the install failed.
	 */
	if (txn_finish(t, &synced, &e) == -1) {
		fail(o, "finish", e.msg);
		roll_back(c, t, 1, o);
		return INSTALL_FAILED;
	}
	/* Gone but perhaps not on disk: installed all the same. */
	if (!synced)
		log_warnx("installed, but the removal of the journal may not be durable: %s",
		    e.msg);
	txn_crash_point("finished");
	return INSTALL_OK;
}

static int
any_changed(const struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		if (t->files[i].changed)
			return 1;
	return 0;
}

/*
 * The items whose files this install changed, each once, with the leaf
 * fingerprint of a certificate item: the front shows them per node.
 */
static void
note_changed(const struct txn *t, const struct bundle *b,
    const struct bundle_parsed *kept, struct outcome *o)
{
	size_t i, k;

	for (i = 0; i < t->nfiles; i++) {
		const char *item = t->files[i].f->item;

		if (!t->files[i].changed)
			continue;
		for (k = 0; k < o->nchanged && strcmp(o->changed[k].item, item) != 0; k++)
			;
		if (k < o->nchanged || o->nchanged == OUTCOME_MAX_CHANGED)
			continue;
		snprintf(o->changed[k].item, sizeof(o->changed[k].item), "%s", item);
		render_leaf_fpr(b, kept, item, o->changed[k].fingerprint);
		o->nchanged++;
	}
}

/* Informational: replaced atomically but not synced (one fsync less). */
static void
save_outcome(const struct pullconf *c, const struct outcome *o)
{
	char path[PATH_MAX];
	struct buf b = { 0 };
	struct err e;

	snprintf(path, sizeof(path), "%s/last-outcome.json", c->state_dir);
	if (outcome_json(o, &b) == 0 && buf_add_u8(&b, '\n') == 0 &&
	    file_replace_unsynced(path, b.data, b.len, &e) == -1)
		log_warnx("%s", e.msg);
	buf_free(&b);
}

enum install_result
install_bundle(const struct pullconf *c, const uint8_t *data, size_t len,
    unsigned flags, struct outcome *o)
{
	struct bundle *b = calloc(1, sizeof(*b));
	struct txn *t = calloc(1, sizeof(*t));
	struct bundle_parsed kept = { 0 };
	struct err e;
	int lock = -1, unchanged = 0;

	memset(o, 0, sizeof(*o));
	o->node = c->node;
	if (b == NULL || t == NULL) {
		fail(o, "memory", "out of memory");
		goto out;
	}
	t->state_dir = c->state_dir;
	if ((lock = take_lock(c->state_dir, &e)) == -1) {
		fail(o, "lock", e.msg);
		goto out;
	}
	if (install_recover(c, o, &e) == -1) {
		fail(o, "recover", e.msg);
		goto out;
	}
	if (verify(c, data, len, flags, b, &kept, &unchanged, o) == -1)
		goto out;
	t->serial = b->serial;
	if (unchanged) {
		o->result = INSTALL_UNCHANGED;
		report_served(c, b, &kept, o);
		goto out;
	}
	o->result = transact(c, b, &kept, t, o);
	if (o->result == INSTALL_OK && !any_changed(t)) {
		o->result = INSTALL_UNCHANGED;
		report_served(c, b, &kept, o);
	} else if (o->result == INSTALL_OK)
		note_changed(t, b, &kept, o);
out:
	if (o->result == INSTALL_FAILED)
		log_warnx("install failed at %s: %s", o->step, o->error);
	if (lock != -1) {
		save_outcome(c, o);
		close(lock);
	}
	if (t != NULL)
		txn_free(t);
	free(t);
	if (b != NULL)
		bundle_release(b);
	bundle_parsed_free(&kept);
	free(b);
	return o->result;
}

static const char *
result_name(enum install_result r)
{
	return r == INSTALL_OK ? "installed" : r == INSTALL_UNCHANGED ? "unchanged" :
	    "failed";
}

const char *
files_left_name(enum files_left f)
{
	return f == FILES_RESTORED ? "restored" : f == FILES_RESTORE_PENDING ?
	    "restore-pending" : "untouched";
}

int
outcome_json(const struct outcome *o, struct buf *b)
{
	size_t i;
	int rc = 0;

	rc |= buf_add_u8(b, '{');
	rc |= json_kv_str(b, "node", o->node);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_u64(b, "serial", o->serial);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "result", result_name(o->result));
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_i64(b, "time", (int64_t)time(NULL));
	rc |= buf_add_str(b, ",\"services\":[");
	for (i = 0; i < o->nservices; i++) {
		rc |= buf_add_str(b, i ? ",{" : "{");
		rc |= json_kv_str(b, "name", o->services[i].name);
		rc |= buf_add_u8(b, ',');
		rc |= json_kv_str(b, "result", o->services[i].result);
		rc |= buf_add_u8(b, ',');
		rc |= json_kv_str(b, "detail", o->services[i].detail);
		rc |= buf_add_u8(b, '}');
	}
	rc |= buf_add_str(b, "],\"served\":[");
	for (i = 0; i < o->nserved; i++) {
		rc |= buf_add_str(b, i ? ",{" : "{");
		rc |= json_kv_str(b, "endpoint", o->served[i].endpoint);
		rc |= buf_add_u8(b, ',');
		rc |= json_kv_str(b, "fingerprint", o->served[i].fingerprint);
		rc |= buf_add_str(b, o->served[i].ok ? ",\"ok\":true}" : ",\"ok\":false}");
	}
	rc |= buf_add_str(b, "],\"changed\":[");
	for (i = 0; i < o->nchanged; i++) {
		rc |= buf_add_str(b, i ? ",{" : "{");
		rc |= json_kv_str(b, "item", o->changed[i].item);
		rc |= buf_add_u8(b, ',');
		rc |= json_kv_str(b, "fingerprint", o->changed[i].fingerprint[0] ?
		    o->changed[i].fingerprint : NULL);
		rc |= buf_add_u8(b, '}');
	}
	rc |= buf_add_str(b, "],");
	rc |= json_kv_str(b, "step", o->result == INSTALL_FAILED ? o->step : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "error", o->result == INSTALL_FAILED ? o->error : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "files", o->result == INSTALL_FAILED ?
	    files_left_name(o->files) : NULL);
	rc |= buf_add_str(b, o->recovered ? ",\"recovered\":true}" : ",\"recovered\":false}");
	return rc ? -1 : 0;
}
