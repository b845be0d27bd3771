#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nodeverify.h"
#include "older.h"
#include "seal.h"
#include "state.h"

int
node_verify(const struct pullconf *c, const uint8_t *data, size_t len,
    unsigned flags, struct bundle *b, struct bundle_parsed *kept, int *unchanged,
    char step[NODE_STEP_LEN], struct err *e)
{
	struct verify_policy pol = { 0 };
	struct pullstate st;
	struct seal_key key;
	enum bundle_check r;
	int have_key;

	if (pullstate_load(c->state_dir, &st, e) == -1) {
		snprintf(step, NODE_STEP_LEN, "state");
		return -1;
	}
	if ((have_key = pullconf_open_key(c, &key, e)) == -1) {
		snprintf(step, NODE_STEP_LEN, "verify:seal");
		return -1;
	}
	pol.trusted = c->trusted;
	pol.ntrusted = c->ntrusted;
	pol.audience = c->node;
	pol.now = time(NULL);
	pol.have_installed = st.have;
	pol.installed_serial = st.serial;
	memcpy(pol.installed_digest, st.digest, sizeof(st.digest));
	pol.keep = kept;
	pol.open_key = have_key ? &key : NULL;
	r = bundle_verify(data, len, &pol, b, unchanged, e);
	if (have_key)
		seal_key_wipe(&key);
	if (r != BC_OK) {
		snprintf(step, NODE_STEP_LEN, "verify:%s", bundle_check_name(r));
		return -1;
	}
	/*
	 * The installed bundle itself replaces nothing.  Before the first
	 * install, the files hold what the operator put there (a placeholder
	 * made today, say), not a certificate certpull stands behind.
	 */
	if (*unchanged || !st.have || (flags & NODE_ALLOW_OLDER) ||
	    older_check(c, b, kept, e) == 0)
		return 0;
	/* Nothing of b may be used: the caller releases it as on any failure. */
	snprintf(step, NODE_STEP_LEN, "verify:older");
	return -1;
}
