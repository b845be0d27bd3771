/*
 * certpush check-config beyond the syntax: the files the configuration
 * names (the signing key, each SSH target's identity and its entry in
 * known_hosts, each source), and for a local target, whose certpull.yaml
 * is at hand, that it trusts the signing key.
 */
#ifndef CP_CHECKCONF_H
#define CP_CHECKCONF_H

#include "pushconf.h"

/* Logs each problem ("certpush: ...") and warning; returns the number of problems. */
int	checkconf_push(const struct pushconf *c);

#endif
