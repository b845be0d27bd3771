/*
 * certpull status: what this node has installed (serial, signer), each
 * configured file with its certificate's subject, names, notAfter and
 * fingerprint (or its key's type), and the last install's outcome.
 */
#ifndef CP_STATUS_H
#define CP_STATUS_H

#include "pullconf.h"

/* Prints the status as text or JSON.  Returns 0, or 1 if it cannot be read. */
int	print_status(const struct pullconf *c, int json);

#endif
