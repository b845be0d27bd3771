/*
 * Byte buffers: a growable writer for encoding and a bounds-checked
 * reader (a cursor) for decoding untrusted input, in the manner of
 * OpenSMTPD's m_get_*: every read checks the remaining length first and
 * fails instead of reading past the end.  Integers are big-endian.
 */
#ifndef CP_BUF_H
#define CP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	int	 secret;	/* wipe on free and on every reallocation */
};

/* All return 0, or -1 when memory is exhausted (buffer left as it was). */
int	buf_add(struct buf *b, const void *data, size_t len);
int	buf_add_u8(struct buf *b, uint8_t v);
int	buf_add_u16(struct buf *b, uint16_t v);
int	buf_add_u32(struct buf *b, uint32_t v);
int	buf_add_u64(struct buf *b, uint64_t v);
int	buf_add_str(struct buf *b, const char *s);
/* Frees the data (wiping it first if b->secret) and resets b to empty. */
void	buf_free(struct buf *b);

struct cursor {
	const uint8_t	*p;
	size_t		 left;
};

void	cur_init(struct cursor *c, const void *data, size_t len);
/* All return 0, or -1 if fewer bytes than needed are left (nothing consumed). */
int	cur_u8(struct cursor *c, uint8_t *v);
int	cur_u16(struct cursor *c, uint16_t *v);
int	cur_u32(struct cursor *c, uint32_t *v);
int	cur_u64(struct cursor *c, uint64_t *v);
/* Points *p at the next len bytes of the input (no copy). */
int	cur_bytes(struct cursor *c, size_t len, const uint8_t **p);

#endif
