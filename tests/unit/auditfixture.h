/*
 * What the audit tests share (test_audit.c, test_audit_out.c): the fixed
 * clock and a context on it.  Included by the test files
 * (#include "auditfixture.c").
 */
#ifndef CP_AUDITFIXTURE_H
#define CP_AUDITFIXTURE_H

#include "audit.h"

#define NOW	1795000000L	/* 2026-11-18T11:06:40Z */

/* A context at NOW with the given thresholds and no store. */
struct audit_ctx ctx(long warn, long crit);

#endif
