/*
 * A bounded reader for the small JSON documents certpull sends back
 * (untrusted: they come from the target).  It validates the whole text
 * and calls back for every scalar with its key path ("served.fingerprint"
 * for a key inside objects inside an array under "served").
 */
#ifndef CP_JSONSCAN_H
#define CP_JSONSCAN_H

#include <stddef.h>

#define JSON_MAX_DEPTH	8
#define JSON_VALUE_MAX	1024

/*
 * cb gets the path, the decoded value (strings unescaped, other scalars
 * as written) and whether it was a string.  Returns 0 if text is one
 * valid JSON value within the limits, -1 otherwise.
 */
int	json_scan(const char *text, size_t len,
	    void (*cb)(void *arg, const char *path, const char *value, int is_string),
	    void *arg);

#endif
