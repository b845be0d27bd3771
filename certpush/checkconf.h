/*
 * certpush check-config beyond the syntax: the files the configuration
 * names (the signing key, each SSH target's identity and its entry in
 * known_hosts, each source), and for a local target, whose certpull.yaml
 * is at hand, that it trusts the signing key.
 */
#ifndef CP_CHECKCONF_H
#define CP_CHECKCONF_H

#include "cfgcheck.h"
#include "pushconf.h"

/* Logs and counts each problem and warning in r; returns r->problems. */
int	checkconf_push(const struct pushconf *c, struct cfgreport *r);

#endif
