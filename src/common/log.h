/* Logging, in the OpenBSD daemons' manner.
 * log_warn() appends strerror(errno); log_warnx() does not; fatal()/fatalx()
 * never return.  Lines go to stderr with a timestamp and a level; the daemon's
 * logs name the peer and the step that failed. */
#ifndef IPHTTPS_LOG_H
#define IPHTTPS_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, int verbosity);   /* verbosity: 0 info, 1 debug, -1 warnings only */
int  log_debug_enabled(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_vmsg(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
