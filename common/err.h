/*
 * A caller-owned error message.  Modules that fail for reasons the
 * operator must read (config, bundle, certificate checks) fill one of
 * these instead of logging, so that the caller decides where it goes.
 */
#ifndef CP_ERR_H
#define CP_ERR_H

#include <stddef.h>

struct err {
	char msg[1024];
};

/* Sets the message; always returns -1 so that "return err_set(...)" reads well. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds OpenSSL's queued error reason (and clears the queue). Returns -1. */
int err_ssl(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
