#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

static int
buf_grow(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *n;

	if (need <= b->cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	/* realloc could leave a copy of a secret behind: move it by hand. */
	if ((n = malloc(cap)) == NULL)
		return -1;
	if (b->len > 0)
		memcpy(n, b->data, b->len);
	if (b->data != NULL && b->secret)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = n;
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX - b->len || buf_grow(b, b->len + len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int
buf_add_u8(struct buf *b, uint8_t v)
{
	return buf_add(b, &v, 1);
}

int
buf_add_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { v >> 8, v };

	return buf_add(b, x, sizeof(x));
}

int
buf_add_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	return buf_add(b, x, sizeof(x));
}

int
buf_add_u64(struct buf *b, uint64_t v)
{
	if (buf_add_u32(b, v >> 32) == -1)
		return -1;
	return buf_add_u32(b, (uint32_t)v);
}

int
buf_add_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL && b->secret)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
cur_init(struct cursor *c, const void *data, size_t len)
{
	c->p = data;
	c->left = len;
}

int
cur_bytes(struct cursor *c, size_t len, const uint8_t **p)
{
	if (len > c->left)
		return -1;
	*p = c->p;
	c->p += len;
	c->left -= len;
	return 0;
}

int
cur_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *p;

	if (cur_bytes(c, 1, &p) == -1)
		return -1;
	*v = p[0];
	return 0;
}

int
cur_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p;

	if (cur_bytes(c, 2, &p) == -1)
		return -1;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

int
cur_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p;

	if (cur_bytes(c, 4, &p) == -1)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
cur_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (c->left < 8)
		return -1;
	cur_u32(c, &hi);
	cur_u32(c, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}
