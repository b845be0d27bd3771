#include <stdio.h>
#include <string.h>

#include "jsonscan.h"

struct scan {
	const char	*p;
	const char	*end;
	void		(*cb)(void *, const char *, const char *, int);
	void		*arg;
};

static int value(struct scan *s, char *path, size_t plen, int depth);

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
	    *s->p == '\r'))
		s->p++;
}

/* Decodes a string into out (truncating past JSON_VALUE_MAX - 1). */
static int
string(struct scan *s, char *out)
{
	size_t n = 0;

	if (s->p >= s->end || *s->p != '"')
		return -1;
	for (s->p++; s->p < s->end; s->p++) {
		char c = *s->p;

		if (c == '"') {
			s->p++;
			out[n] = '\0';
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return -1;
		if (c == '\\') {
			if (++s->p >= s->end)
				return -1;
			switch (*s->p) {
			case '"': case '\\': case '/': c = *s->p; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				if (s->end - s->p < 5)
					return -1;
				for (int i = 1; i <= 4; i++)
					if (strchr("0123456789abcdefABCDEF", s->p[i]) == NULL ||
					    s->p[i] == '\0')
						return -1;
				s->p += 4;
				c = '?';	/* nothing we read needs non-ASCII */
				break;
			default:
				return -1;
			}
		}
		if (n + 1 < JSON_VALUE_MAX)
			out[n++] = c;
	}
	return -1;
}

static int
scalar(struct scan *s, const char *path)
{
	char text[JSON_VALUE_MAX];
	const char *start = s->p;
	size_t n;

	if (s->p < s->end && *s->p == '"') {
		if (string(s, text) == -1)
			return -1;
		s->cb(s->arg, path, text, 1);
		return 0;
	}
	while (s->p < s->end && strchr("0123456789+-.eEtruefalsn", *s->p) != NULL &&
	    *s->p != '\0')
		s->p++;
	n = (size_t)(s->p - start);
	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, start, n);
	text[n] = '\0';
	if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0 &&
	    strcmp(text, "null") != 0 && strspn(text, "0123456789+-.eE") != n)
		return -1;
	s->cb(s->arg, path, text, 0);
	return 0;
}

static int
object(struct scan *s, char *path, size_t plen, int depth)
{
	char key[JSON_VALUE_MAX];
	size_t base = strlen(path);

	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}')
		return s->p++, 0;
	for (;;) {
		skip_ws(s);
		if (string(s, key) == -1)
			return -1;
		skip_ws(s);
		if (s->p >= s->end || *s->p++ != ':')
			return -1;
		snprintf(path + base, plen - base, "%s%s", base ? "." : "", key);
		if (value(s, path, plen, depth + 1) == -1)
			return -1;
		path[base] = '\0';
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == '}')
			return s->p++, 0;
		return -1;
	}
}

static int
array(struct scan *s, char *path, size_t plen, int depth)
{
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']')
		return s->p++, 0;
	for (;;) {
		if (value(s, path, plen, depth + 1) == -1)
			return -1;
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']')
			return s->p++, 0;
		return -1;
	}
}

static int
value(struct scan *s, char *path, size_t plen, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return -1;
	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == '{')
		return object(s, path, plen, depth);
	if (*s->p == '[')
		return array(s, path, plen, depth);
	return scalar(s, path);
}

int
json_scan(const char *text, size_t len,
    void (*cb)(void *, const char *, const char *, int), void *arg)
{
	struct scan s = { .p = text, .end = text + len, .cb = cb, .arg = arg };
	char path[256] = "";

	if (value(&s, path, sizeof(path), 0) == -1)
		return -1;
	skip_ws(&s);
	return s.p == s.end ? 0 : -1;
}
