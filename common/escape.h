/*
 * Making untrusted text safe to print on one line: what a target or a
 * network peer sends reaches reports, logs and terminals only through
 * this.
 */
#ifndef CP_ESCAPE_H
#define CP_ESCAPE_H

#include <stddef.h>

#define ESC_BACKSLASH	1	/* also write a backslash as \\ */

/*
 * Copies len bytes of src (which may hold NULs) into dst (cap bytes,
 * cap >= 4, always NUL terminated) with every character that is not
 * printable written visibly: CR, LF and tab as \r \n \t, other control
 * characters (NUL included), DEL, C1 controls, Unicode direction
 * overrides and bytes that are not well-formed UTF-8 as \xNN (one per
 * byte).  Printable ASCII and well-formed UTF-8 pass unchanged, and so
 * does a backslash unless flags has ESC_BACKSLASH.  If the result does
 * not fit, it is cut at a character boundary and ends in "...".
 * Returns dst.
 */
char	*str_escape_mem(char *dst, size_t cap, const void *src, size_t len, int flags);
/*
 * str_escape_mem of the NUL-terminated src, backslashes unchanged: applied
 * to its own output it changes nothing, so every layer that prints text
 * from elsewhere (a parser, the state file, the log) can apply it again.
 */
char	*str_escape_ctl(char *dst, size_t cap, const char *src);
/* str_escape_ctl of s in place (cut to cap, the size of s's buffer).  Returns s. */
char	*str_escape_inplace(char *s, size_t cap);

#endif
