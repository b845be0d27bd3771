/*
 * certpush add-node NAME: the front's side of setting up an SSH target
 * of certpush.yaml, and the node's side printed for the operator.  It
 * fetches the node's Ed25519 host key (ssh-keyscan), shows its
 * fingerprint and appends it to known_hosts only once the operator has
 * confirmed it (typed "yes", or --fingerprint as read on the node);
 * creates the SSH identity if it does not exist; and prints the
 * authorized_keys lines (forced command, and the sudo variant) and a
 * starting certpull.yaml with the node name and the trusted key.
 */
#ifndef CP_ADDNODE_H
#define CP_ADDNODE_H

#include "pushconf.h"

/* expected: "SHA256:..." to confirm without asking, or NULL.  Exit status. */
int	add_node(const struct pushconf *c, const char *name, const char *expected);

#endif
