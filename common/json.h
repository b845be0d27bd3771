/*
 * A small JSON writer appending to a buf.  Strings are escaped per
 * RFC 8259; the caller writes the structure (commas, braces) itself.
 */
#ifndef CP_JSON_H
#define CP_JSON_H

#include <stdint.h>

#include "buf.h"

/* Appends s as a JSON string (with quotes); NULL becomes null. 0 or -1. */
int	json_str(struct buf *b, const char *s);
/* Appends "key": and the string value. */
int	json_kv_str(struct buf *b, const char *key, const char *value);
int	json_kv_u64(struct buf *b, const char *key, uint64_t value);
int	json_kv_i64(struct buf *b, const char *key, int64_t value);

#endif
