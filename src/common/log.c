/* Logging: see log.h. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

static int log_verbosity;
static int log_journal;
static const char *log_prog = "iphttps";

/* systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the
 * journal; it counts only while fd 2 is still that stream (a child whose
 * stderr was redirected inherits the variable). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, int verbosity)
{
	if (progname)
		log_prog = progname;
	log_verbosity = verbosity;
	log_journal = stderr_is_journal();
}

int log_to_journal(void)
{
	return log_journal;
}

int log_debug_enabled(void)
{
	return log_verbosity >= 1;
}

static const char *level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERR: return "error";
	case LOG_LVL_WARN: return "warning";
	case LOG_LVL_NOTICE: return "notice";
	case LOG_LVL_INFO: return "info";
	default: return "debug";
	}
}

void log_vmsg(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[1024], ts[32];
	struct timeval tv;
	struct tm tm;

	if (lvl == LOG_LVL_DEBUG && log_verbosity < 1)
		return;
	if (lvl >= LOG_LVL_NOTICE && lvl != LOG_LVL_DEBUG && log_verbosity < 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		/* One write per line: the journal reads the priority from it. */
		fprintf(stderr, "<%d>%s%s%s\n", (int)lvl, msg, with_errno ? ": " : "",
			with_errno ? strerror(saved) : "");
		errno = saved;
		return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s %s: %s%s%s\n", ts, (long)tv.tv_usec / 1000, log_prog,
		level_name(lvl), msg, with_errno ? ": " : "", with_errno ? strerror(saved) : "");
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
LOG_FN(log_notice, LOG_LVL_NOTICE, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_err, LOG_LVL_ERR, 1)
LOG_FN(log_errx, LOG_LVL_ERR, 0)

void log_cmd_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s: %s\n", stderr_is_journal() ? "<3>" : "", cmd, msg);
}

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
