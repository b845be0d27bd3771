#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cert.h"
#include "dane.h"
#include "danehold.h"
#include "escape.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "sig.h"
#include "tstate.h"

#define HOLDS_FILE_MAX	(PUSH_MAX_ITEMS * 1400)
#define TTL_SLACK	2	/* seconds added to a TTL to wait out */

int
danehold_needed(const struct pushconf *c)
{
	size_t i;

	for (i = 0; i < c->ncerts; i++)
		if (c->certs[i].ndane > 0)
			return 1;
	return c->dkim_checks && c->ndkims > 0;
}

/* The entry of item with kind in b, or NULL. */
static const struct bundle_entry *
entry_of(const struct bundle *b, const char *item, uint8_t kind)
{
	size_t i;

	for (i = 0; b != NULL && i < b->nentries; i++)
		if (b->entries[i].kind == kind && strcmp(b->entries[i].item, item) == 0)
			return &b->entries[i];
	return NULL;
}

static STACK_OF(X509) *
chain_of(const struct bundle *b, const char *item)
{
	const struct bundle_entry *en = entry_of(b, item, KIND_CHAIN);
	struct err e;

	return en == NULL ? NULL : cert_parse_chain(en->data, en->len, &e);
}

static EVP_PKEY *
dkim_of(const struct bundle *b, const char *item)
{
	const struct bundle_entry *en = entry_of(b, item, KIND_DKIM);
	struct err e;

	return en == NULL ? NULL : cert_parse_key(en->data, en->len, &e);
}

/* Whether every accepted form of d gives the same data for both chains. */
static int
same_pins(const struct dane_name *d, STACK_OF(X509) *a, STACK_OF(X509) *b)
{
	uint8_t ha[DANE_HASH_MAX], hb[DANE_HASH_MAX];
	size_t i, na, nb;
	int k;

	for (i = 0; i < d->nusages; i++) {
		k = d->usages[i][0] == 2 ? 1 : 0;
		if (k >= sk_X509_num(a) || k >= sk_X509_num(b) ||
		    dane_hash(sk_X509_value(a, k), NULL, d->usages[i][1], d->usages[i][2],
		    ha, &na) == -1 || dane_hash(sk_X509_value(b, k), NULL, d->usages[i][1],
		    d->usages[i][2], hb, &nb) == -1 || na != nb || memcmp(ha, hb, na) != 0)
			return 0;
	}
	return 1;
}

/*
 * Whether certificate s may go from chain old (NULL: none delivered) to
 * new: 1 without DNS (the pins did not change), 2 by DNS (*ttl: the
 * longest TTL of the RRsets asked), or 0 with why.
 */
static int
cert_free_to_go(const struct dnscheck *dc, const struct cert_source *s,
    STACK_OF(X509) *old, STACK_OF(X509) *new, char *why, size_t size,
    unsigned long *ttl)
{
	char w[1100], q[300];
	size_t i;
	int go = 1;

	for (i = 0; i < s->ndane; i++) {
		if (old != NULL && same_pins(&s->dane[i], old, new))
			continue;
		go = 2;
		dane_qname(&s->dane[i], q, sizeof(q));
		if (dnscheck_ttl(dc, q, DNS_TYPE_TLSA) > *ttl)
			*ttl = dnscheck_ttl(dc, q, DNS_TYPE_TLSA);
		if (!dane_published(dc, &s->dane[i], new, w, sizeof(w))) {
			snprintf(why, size, "new key: %s", w);
			return 0;
		}
		if (old != NULL && !dane_published(dc, &s->dane[i], old, w, sizeof(w))) {
			snprintf(why, size, "the record of the key in service is gone, so "
			    "the switch would break DANE: %s", w);
			return 0;
		}
	}
	return go;
}

/* The same for DKIM key s, from key old (NULL: none delivered) to new. */
static int
dkim_free_to_go(const struct dnscheck *dc, const struct dkim_source *s,
    EVP_PKEY *old, EVP_PKEY *new, char *why, size_t size, unsigned long *ttl)
{
	char w[1100], q[300];

	if (old != NULL && dane_same_key(old, new))
		return 1;
	dkim_qname(s, q, sizeof(q));
	*ttl = dnscheck_ttl(dc, q, DNS_TYPE_TXT);
	if (dkim_published(dc, s, new, w, sizeof(w)))
		return 2;
	snprintf(why, size, "new DKIM key: %s", w);
	return 0;
}

/*
 * Reads and verifies t's previous bundle into prev (entries point into
 * raw): the outbox's, or for a sealed target the copy in STATE/previous.
 */
static int
previous_bundle(const struct pushconf *c, EVP_PKEY *sk, const struct target *t,
    time_t now, struct buf *raw, struct bundle *prev)
{
	struct verify_policy pol = { 0 };
	struct pubkey pk;
	char path[PATH_MAX];
	struct err e;
	int unchanged;

	if (t->sealed)
		snprintf(path, sizeof(path), "%s/previous/%s.bundle", c->state_dir, t->name);
	else
		snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, t->name);
	if (access(path, F_OK) == -1 || file_read(path, BUNDLE_MAX_SIZE, raw, &e) == -1 ||
	    sig_pubkey_of(sk, &pk, &e) == -1)
		return -1;
	pol.trusted = &pk;
	pol.ntrusted = 1;
	pol.audience = t->name;
	pol.now = now;
	return bundle_verify(raw->data, raw->len, &pol, prev, &unchanged, &e) == BC_OK ?
	    0 : -1;
}

struct held_item *
holds_add(struct holds *out, const struct holds *prev, const char *item, time_t now,
    const char *why)
{
	struct held_item *h = &out->h[out->n++];
	size_t i;

	memset(h, 0, sizeof(*h));
	snprintf(h->item, sizeof(h->item), "%s", item);
	snprintf(h->reason, sizeof(h->reason), "%s", why);
	h->since = now;
	for (i = 0; i < prev->n; i++)
		if (strcmp(prev->h[i].item, item) == 0) {
			h->since = prev->h[i].since;
			h->attempts = prev->h[i].attempts;
		}
	h->attempts++;
	h->next = now + (time_t)tstate_backoff(h->attempts);
	return h;
}

/* prev's hold of item, or NULL. */
static const struct held_item *
hold_of(const struct holds *prev, const char *item)
{
	size_t i;

	for (i = 0; i < prev->n; i++)
		if (strcmp(prev->h[i].item, item) == 0)
			return &prev->h[i];
	return NULL;
}

/* Whether item of t may change: as cert_free_to_go. */
static int
item_free_to_go(const struct pushconf *c, const struct dnscheck *dc, const char *item,
    const struct bundle *old, const struct bundle *new, char *why, size_t size,
    unsigned long *ttl)
{
	const struct cert_source *cs = pushconf_cert(c, item);
	const struct dkim_source *ds = pushconf_dkim(c, item);
	STACK_OF(X509) *oc, *nc;
	EVP_PKEY *ok, *nk;
	int go;

	if (cs != NULL && cs->ndane > 0) {
		oc = chain_of(old, item);
		nc = chain_of(new, item);
		go = nc == NULL ? 0 : cert_free_to_go(dc, cs, oc, nc, why, size, ttl);
		sk_X509_pop_free(oc, X509_free);
		sk_X509_pop_free(nc, X509_free);
		return go;
	}
	if (ds == NULL || !c->dkim_checks)
		return 1;
	ok = dkim_of(old, item);
	nk = dkim_of(new, item);
	go = nk == NULL ? 0 : dkim_free_to_go(dc, ds, ok, nk, why, size, ttl);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(nk);
	return go;
}

/*
 * A key change DNS allows: 1 once the records have been published for
 * their TTL since first found so; else 0, with a hold in out that says
 * how long is left and comes back when it is over.
 */
static int
ttl_waited(struct holds *out, const struct holds *prev, const char *item, time_t now,
    unsigned long ttl)
{
	const struct held_item *p = hold_of(prev, item);
	time_t seen = p != NULL && p->seen != 0 ? p->seen : now;
	struct held_item *h;
	char why[200];

	/*
	 * The TTL of the first sighting: later answers come from caches,
	 * counting down.  Caches count whole seconds and round up (Postfix
	 * adds one).
	 */
	if (p != NULL && p->seen != 0 && p->ttl > ttl)
		ttl = p->ttl;
	ttl += TTL_SLACK;
	if (now >= seen + (time_t)ttl)
		return 1;
	snprintf(why, sizeof(why), "published; waiting %lld s more (the records' TTL "
	    "of %lu s, and %d) for caches to drop the previous ones", (long long)(seen +
	    (time_t)ttl - now), ttl - TTL_SLACK, TTL_SLACK);
	h = holds_add(out, prev, item, now, why);
	h->seen = seen;
	h->ttl = ttl - TTL_SLACK;
	h->next = seen + (time_t)ttl;
	return 0;
}

/* Copies entry en into own's next slot.  0 or -1. */
static int
copy_entry(struct built_items *own, const struct bundle_entry *en, struct err *e)
{
	struct buf *b = &own->col.data[own->col.bundle.nentries];

	b->secret = en->kind != KIND_CHAIN;
	if (buf_add(b, en->data, en->len) == -1)
		return err_set(e, "out of memory");
	return bundle_add_entry(&own->col.bundle, en->item, en->kind, b->data, b->len, e);
}

/* The earliest notAfter of the chains in b (0 if none). */
static time_t
earliest_expiry(const struct bundle *b)
{
	STACK_OF(X509) *chain;
	time_t min = 0, t;
	size_t i;
	int k;

	for (i = 0; i < b->nentries; i++) {
		if (b->entries[i].kind != KIND_CHAIN ||
		    (chain = chain_of(b, b->entries[i].item)) == NULL)
			continue;
		for (k = 0; k < sk_X509_num(chain); k++)
			if ((t = cert_not_after(sk_X509_value(chain, k))) != 0 &&
			    (min == 0 || t < min))
				min = t;
		sk_X509_pop_free(chain, X509_free);
	}
	return min;
}

/* own = new, but the held items' entries taken from old. */
static int
build_own(const struct pushconf *c, const struct bundle *new, const struct bundle *old,
    const struct holds *h, time_t now, struct built_items *own, struct err *e)
{
	const struct bundle *from;
	size_t i, k;

	memset(own, 0, sizeof(*own));
	own->col.bundle = *new;
	own->col.bundle.nentries = 0;
	for (i = 0; i < new->nentries; i++) {
		from = new;
		for (k = 0; k < h->n; k++)
			if (strcmp(h->h[k].item, new->entries[i].item) == 0)
				from = old;
		if (from == new && copy_entry(own, &new->entries[i], e) == -1)
			return -1;
	}
	for (i = 0; i < old->nentries; i++)
		for (k = 0; k < h->n; k++)
			if (strcmp(h->h[k].item, old->entries[i].item) == 0 &&
			    copy_entry(own, &old->entries[i], e) == -1)
				return -1;
	own->col.earliest_expiry = earliest_expiry(&own->col.bundle);
	return build_seal(c, own, now, e);
}

int
danehold_decide(const struct pushconf *c, const struct dnscheck *dc, EVP_PKEY *sk,
    const struct target *t, const struct built_items *bi,
    const struct holds *prev_holds, time_t now, struct built_items *own,
    int *use_own, struct holds *out, struct err *e)
{
	const struct bundle *new = &bi->col.bundle;
	struct buf raw = { 0 };
	struct bundle *old = calloc(1, sizeof(*old));
	char why[1200];
	unsigned long ttl;
	size_t i;
	int have_old, in_service, go, rc = 0;

	*use_own = 0;
	memset(out, 0, sizeof(*out));
	if (old == NULL)
		return err_set(e, "out of memory");
	have_old = previous_bundle(c, sk, t, now, &raw, old) == 0;
	for (i = 0; i < t->nitems; i++) {
		in_service = have_old && (entry_of(old, t->items[i], KIND_CHAIN) != NULL ||
		    entry_of(old, t->items[i], KIND_DKIM) != NULL);
		ttl = 0;
		go = item_free_to_go(c, dc, t->items[i], have_old ? old : NULL, new, why,
		    sizeof(why), &ttl);
		/* A first key has no cached predecessor to wait out. */
		if (go == 1 || (go == 2 && (!in_service ||
		    ttl_waited(out, prev_holds, t->items[i], now, ttl))))
			continue;
		if (go == 2)
			continue;	/* ttl_waited recorded the hold */
		holds_add(out, prev_holds, t->items[i], now, why);
		if (!in_service) {
			rc = err_set(e, "%s held, with no previous bundle to keep in "
			    "service: %s", t->items[i], why);
			break;
		}
	}
	if (rc == 0 && out->n > 0) {
		rc = build_own(c, new, old, out, now, own, e);
		*use_own = rc == 0;
	}
	buf_free(&raw);
	free(old);
	return rc;
}

/* ---- STATE/holds/TARGET ---- */

static void
holds_path(const char *state_dir, const char *target, char *out, size_t size)
{
	snprintf(out, size, "%s/holds/%s", state_dir, target);
}

/* "hold ITEM SINCE ATTEMPTS NEXT REASON...": one line per held item. */
int
holds_load(const char *state_dir, const char *target, struct holds *h, struct err *e)
{
	char path[PATH_MAX], item[BUNDLE_NAME_MAX + 1], *line, *save = NULL;
	struct buf b = { 0 };
	long long since, next, seen;
	unsigned long ttl;
	unsigned attempts;
	int off;

	memset(h, 0, sizeof(*h));
	holds_path(state_dir, target, path, sizeof(path));
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (file_read(path, HOLDS_FILE_MAX, &b, e) == -1 || buf_add_u8(&b, '\0') == -1) {
		buf_free(&b);
		return -1;
	}
	for (line = strtok_r((char *)b.data, "\n", &save); line != NULL &&
	    h->n < PUSH_MAX_ITEMS; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "hold %64s %lld %u %lld %lld %lu %n", item, &since, &attempts,
		    &next, &seen, &ttl, &off) != 6 || bundle_name_ok(item) == -1)
			continue;
		h->h[h->n].seen = (time_t)seen;
		h->h[h->n].ttl = ttl;
		snprintf(h->h[h->n].item, sizeof(h->h[h->n].item), "%s", item);
		h->h[h->n].since = (time_t)since;
		h->h[h->n].attempts = attempts;
		h->h[h->n].next = (time_t)next;
		str_escape_ctl(h->h[h->n].reason, sizeof(h->h[h->n].reason), line + off);
		h->n++;
	}
	buf_free(&b);
	return 0;
}

int
holds_save(const char *state_dir, const char *target, const struct holds *h,
    struct err *e)
{
	char path[PATH_MAX], dir[PATH_MAX], reason[1024];
	struct buf b = { 0 };
	size_t i;
	int rc;

	holds_path(state_dir, target, path, sizeof(path));
	if (h->n == 0) {
		if (unlink(path) == -1 && errno != ENOENT)
			return err_set(e, "%s: %s", path, strerror(errno));
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/holds", state_dir);
	if ((mkdir(state_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST))
		return err_set(e, "%s: %s", dir, strerror(errno));
	for (i = 0; i < h->n; i++) {
		char line[1400];

		str_escape_ctl(reason, sizeof(reason), h->h[i].reason);
		snprintf(line, sizeof(line), "hold %s %lld %u %lld %lld %lu %s\n",
		    h->h[i].item, (long long)h->h[i].since, h->h[i].attempts,
		    (long long)h->h[i].next, (long long)h->h[i].seen, h->h[i].ttl, reason);
		buf_add_str(&b, line);
	}
	rc = file_write_atomic(path, b.data, b.len, geteuid(), getegid(), 0600, e);
	buf_free(&b);
	return rc;
}

time_t
holds_next_check(const struct pushconf *c)
{
	struct holds h;
	struct err e;
	time_t next = 0;
	size_t i, k;

	for (i = 0; i < c->ntargets; i++)
		if (holds_load(c->state_dir, c->targets[i].name, &h, &e) == 0)
			for (k = 0; k < h.n; k++)
				if (next == 0 || h.h[k].next < next)
					next = h.h[k].next;
	return next;
}

void
holds_settle(const char *state_dir, const char *target, int clear, time_t now)
{
	struct holds h;
	struct err e;
	size_t i;

	if (holds_load(state_dir, target, &h, &e) == -1 || h.n == 0)
		return;
	if (clear)
		h.n = 0;
	for (i = 0; i < h.n; i++)
		if (h.h[i].next <= now)
			h.h[i].next = now + (time_t)tstate_backoff(++h.h[i].attempts);
	if (holds_save(state_dir, target, &h, &e) == -1)
		log_warnx("%s", e.msg);
}

void
holds_print(const struct holds *h, time_t now)
{
	char since[32], next[32];
	struct tm tm;
	size_t i;

	for (i = 0; i < h->n; i++) {
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&h->h[i].since, &tm));
		strftime(next, sizeof(next), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&h->h[i].next, &tm));
		printf("  HELD %s since %s (%lld s, %u checks, next %s): %s\n",
		    h->h[i].item, since, (long long)(now - h->h[i].since),
		    h->h[i].attempts, next, h->h[i].reason);
	}
}

void
holds_json(struct buf *b, const struct holds *h)
{
	size_t i;

	buf_add_str(b, "\"holds\":[");
	for (i = 0; i < h->n; i++) {
		buf_add_str(b, i ? ",{" : "{");
		json_kv_str(b, "item", h->h[i].item);
		buf_add_u8(b, ',');
		json_kv_i64(b, "since", (int64_t)h->h[i].since);
		buf_add_u8(b, ',');
		json_kv_u64(b, "checks", h->h[i].attempts);
		buf_add_u8(b, ',');
		json_kv_i64(b, "next_check", (int64_t)h->h[i].next);
		buf_add_u8(b, ',');
		json_kv_str(b, "reason", h->h[i].reason);
		buf_add_u8(b, '}');
	}
	buf_add_u8(b, ']');
}

int
danehold_bundle(const struct pushconf *c, EVP_PKEY *sk, const struct target *t,
    uint64_t serial, time_t now, struct buf *out, struct holds *held, struct err *e)
{
	struct built_items bi, own = { 0 };
	struct dnscheck dc;
	struct holds prev;
	int use_own = 0, rc;

	memset(held, 0, sizeof(*held));
	if ((rc = build_items(c, t, now, &bi, e)) == 0 && danehold_needed(c)) {
		if (holds_load(c->state_dir, t->name, &prev, e) == -1)
			memset(&prev, 0, sizeof(prev));
		dnscheck_run(c, &dc);
		rc = danehold_decide(c, &dc, sk, t, &bi, &prev, now, &own, &use_own, held, e);
		dnscheck_free(&dc);
	}
	if (rc == 0)
		rc = build_sign(use_own ? &own : &bi, t, sk, serial, out, e);
	built_items_free(&bi);
	built_items_free(&own);
	return rc;
}
