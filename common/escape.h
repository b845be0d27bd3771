/*
 * Making untrusted text safe to print on one line: what a target or a
 * network peer sends reaches reports, logs and terminals only through
 * this.
 */
#ifndef CP_ESCAPE_H
#define CP_ESCAPE_H

#include <stddef.h>

/*
 * Copies the NUL-terminated src into dst (cap bytes, cap >= 4, always
 * NUL terminated) with every byte that is not printable written visibly:
 * CR, LF, tab and backslash as \r \n \t \\, other control characters,
 * DEL, C1 controls, Unicode direction overrides and bytes that are not
 * well-formed UTF-8 as \xNN (one per byte).  Printable ASCII and
 * well-formed UTF-8 pass unchanged.  If the result does not fit, it is
 * cut at a character boundary and ends in "...".  Returns dst.
 */
char	*str_escape_ctl(char *dst, size_t cap, const char *src);
/* Escapes s in place (the result cut to cap bytes, s's buffer size).  Returns s. */
char	*str_escape_inplace(char *s, size_t cap);

#endif
