/*
 * The audit's lines for keys pinned in DNS (kind "dane"), after the
 * other lines are judged:
 *
 * - for each endpoint of a certificate with a dane: name on its port,
 *   whether the key it serves matches a published, DNSSEC-secure TLSA
 *   record of an accepted form (CRITICAL if not: DANE senders refuse it);
 * - for each TLSA RRset, its DNSSEC state (bogus CRITICAL, insecure
 *   WARNING, no answer UNKNOWN) and each record that matches no key any
 *   more (current, next, or served): stale, a WARNING to remove it;
 * - with a dns: section, each DKIM key's TXT record against the key;
 * - on each target's line, the key changes held and since when.
 */
#ifndef CP_AUDIT_DANE_H
#define CP_AUDIT_DANE_H

#include "audit.h"
#include "pushconf.h"

void	audit_dane(const struct audit_ctx *a, const struct pushconf *c,
	    struct audit_list *l);

#endif
