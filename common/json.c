#include <inttypes.h>
#include <stdio.h>

#include "json.h"

int
json_str(struct buf *b, const char *s)
{
	char esc[8];
	int rc = 0;

	if (s == NULL)
		return buf_add_str(b, "null");
	rc |= buf_add_u8(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			rc |= buf_add_u8(b, '\\');
			rc |= buf_add_u8(b, c);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc |= buf_add_str(b, esc);
		} else
			rc |= buf_add_u8(b, c);
	}
	rc |= buf_add_u8(b, '"');
	return rc ? -1 : 0;
}

int
json_kv_str(struct buf *b, const char *key, const char *value)
{
	if (json_str(b, key) == -1 || buf_add_u8(b, ':') == -1)
		return -1;
	return json_str(b, value);
}

int
json_kv_u64(struct buf *b, const char *key, uint64_t value)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, value);
	if (json_str(b, key) == -1 || buf_add_u8(b, ':') == -1)
		return -1;
	return buf_add_str(b, num);
}

int
json_kv_i64(struct buf *b, const char *key, int64_t value)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, value);
	if (json_str(b, key) == -1 || buf_add_u8(b, ':') == -1)
		return -1;
	return buf_add_str(b, num);
}
