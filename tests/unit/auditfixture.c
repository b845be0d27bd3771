/* What the audit tests share: see auditfixture.h. */
#include <string.h>

#include "auditfixture.h"

struct audit_ctx
ctx(long warn, long crit)
{
	struct audit_ctx a;

	memset(&a, 0, sizeof(a));
	a.o.warn_days = warn;
	a.o.crit_days = crit;
	a.o.timeout_s = 5;
	a.prog = "certpush";
	a.now = NOW;
	return a;
}
