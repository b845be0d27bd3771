/*
 * certpull audit: this node's view: each installed file of
 * certpull.yaml's services (certificate dates, chain, key match, the
 * same certificate in every file of an item) and what the services'
 * live endpoints serve.  Or, given files or directories, an audit of
 * those certificate files.  See certpull(8), AUDIT.
 */
#ifndef CP_AUDIT_PULL_H
#define CP_AUDIT_PULL_H

/*
 * Runs the audit command; argv[0] is "audit".  Returns the exit status:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors included).
 */
int	pull_audit(const char *config, int argc, char **argv);

#endif
