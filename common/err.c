#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "err.h"

int
err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
err_ssl(struct err *e, const char *fmt, ...)
{
	unsigned long code = ERR_peek_last_error();
	char reason[256] = "";
	size_t n;
	va_list ap;

	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	ERR_clear_error();
	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (reason[0] != '\0' && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, " (%s)", reason);
	return -1;
}
