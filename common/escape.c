#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/*
 * Length of the well-formed UTF-8 sequence at s (2 to 4 bytes) that is
 * safe to print, or 0: overlong forms, surrogates, values past U+10FFFF,
 * C1 controls and the bidirectional overrides (which can make a line read
 * differently from what it holds) are not.
 */
static size_t
utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned cp;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if ((size_t)(end - s) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return n;
}

/*
 * The visible form of the character at s (end: one past the last byte)
 * into out[5]; its length in bytes in *used.
 */
static size_t
escape_one(const unsigned char *s, const unsigned char *end, int flags,
    size_t *used, char *out)
{
	size_t n;

	*used = 1;
	if (*s == '\\' && (flags & ESC_BACKSLASH)) {
		memcpy(out, "\\\\", 2);
		return 2;
	}
	if (*s >= 0x20 && *s < 0x7f) {
		out[0] = (char)*s;
		return 1;
	}
	switch (*s) {
	case '\r': memcpy(out, "\\r", 2); return 2;
	case '\n': memcpy(out, "\\n", 2); return 2;
	case '\t': memcpy(out, "\\t", 2); return 2;
	}
	if ((n = utf8_len(s, end)) > 0) {
		memcpy(out, s, n);
		*used = n;
		return n;
	}
	snprintf(out, 5, "\\x%02x", *s);
	return 4;
}

/* The length of src[0..len) escaped. */
static size_t
escaped_len(const unsigned char *s, const unsigned char *end, int flags)
{
	size_t len = 0, used;
	char one[5];

	for (; s < end; s += used)
		len += escape_one(s, end, flags, &used, one);
	return len;
}

char *
str_escape_mem(char *dst, size_t cap, const void *src, size_t len, int flags)
{
	const unsigned char *s = src, *end = s + len;
	/* If all does not fit, keep room for "..." and the NUL. */
	size_t room = escaped_len(s, end, flags) < cap ? cap - 1 : cap - 4, o = 0, used, n;
	char one[5];

	for (; s < end; s += used) {
		n = escape_one(s, end, flags, &used, one);
		if (o + n > room)
			break;
		memcpy(dst + o, one, n);
		o += n;
	}
	memcpy(dst + o, s < end ? "..." : "", s < end ? 4 : 1);
	return dst;
}

char *
str_escape_ctl(char *dst, size_t cap, const char *src)
{
	return str_escape_mem(dst, cap, src, strlen(src), 0);
}

char *
str_escape_inplace(char *s, size_t cap)
{
	char *tmp = malloc(cap);

	if (tmp == NULL) {
		/* Without memory, dropping the text is the only safe output. */
		snprintf(s, cap, "(unprintable)");
		return s;
	}
	str_escape_ctl(tmp, cap, s);
	memcpy(s, tmp, strlen(tmp) + 1);
	free(tmp);
	return s;
}
