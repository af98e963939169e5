/* Logging: see log.h. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

static int log_verbosity;
static const char *log_prog = "iphttps";

void log_init(const char *progname, int verbosity)
{
	if (progname)
		log_prog = progname;
	log_verbosity = verbosity;
}

int log_debug_enabled(void)
{
	return log_verbosity >= 1;
}

void log_vmsg(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	int saved = errno;
	char msg[1024], ts[32];
	struct timeval tv;
	struct tm tm;

	if (lvl == LOG_LVL_DEBUG && log_verbosity < 1)
		return;
	if (lvl == LOG_LVL_INFO && log_verbosity < 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	if (with_errno)
		fprintf(stderr, "%s.%03ld %s %s: %s: %s\n", ts, (long)tv.tv_usec / 1000,
			log_prog, names[lvl], msg, strerror(saved));
	else
		fprintf(stderr, "%s.%03ld %s %s: %s\n", ts, (long)tv.tv_usec / 1000,
			log_prog, names[lvl], msg);
	errno = saved;
}

#define LOG_FN(name, lvl, err)                          \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		log_vmsg(lvl, err, fmt, ap);            \
		va_end(ap);                             \
	}
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
