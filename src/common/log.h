/* Logging, in the OpenBSD daemons' manner.
 * log_warn() appends strerror(errno); log_warnx() does not; log_err()/
 * log_errx() report an error the caller goes on from (a daemon that gives
 * up returns after it); fatal()/fatalx() never return.
 *
 * Lines go to stderr.  On a terminal or a file each carries a timestamp, the
 * program and the level; under systemd-journald (JOURNAL_STREAM names our
 * stderr) each line starts with a syslog priority "<N>" instead and carries
 * no timestamp (the journal adds its own), so that `journalctl -p warning`
 * finds the warnings.  The daemon's logs name the peer and the step that
 * failed. */
#ifndef IPHTTPS_LOG_H
#define IPHTTPS_LOG_H

#include <stdarg.h>

/* The syslog priorities (sd-daemon(3)'s "<N>" prefixes). */
enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5, LOG_LVL_INFO = 6,
		 LOG_LVL_DEBUG = 7 };

void log_init(const char *progname, int verbosity);   /* verbosity: 0 info, 1 debug, -1 warnings only */
/* 1 when stderr is the journal's stream (JOURNAL_STREAM), read at log_init. */
int  log_to_journal(void);
int  log_debug_enabled(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A subcommand's error before its daemon runs ("iphttps server: FILE:LINE:
 * ..."): as it is on a terminal, at priority err under the journal. */
void log_cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_vmsg(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
