/*
 * Logging in the manner of OpenSMTPD: stderr in the foreground, syslog
 * once log_to_syslog() was called by a daemon.  log_warn appends
 * strerror(errno); log_warnx does not.  A message is one line: control
 * characters in it are written visibly (str_escape_ctl).
 */
#ifndef CP_LOG_H
#define CP_LOG_H

#include <stdarg.h>

void log_init(const char *progname, int verbose);
void log_to_syslog(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
