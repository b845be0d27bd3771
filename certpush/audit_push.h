/*
 * certpush audit: the front's view of every certificate it manages: its
 * sources (certificates and DKIM keys), what each target installed (its
 * serial and files, asked over SSH or of the local certpull), and what
 * each target's live endpoints serve.  Or, given files or directories,
 * an audit of those certificate files.  See certpush(8), AUDIT.
 */
#ifndef CP_AUDIT_PUSH_H
#define CP_AUDIT_PUSH_H

/*
 * Runs the audit command; argv[0] is "audit".  Returns the exit status:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors included).
 */
int	push_audit(const char *config, int argc, char **argv);

#endif
