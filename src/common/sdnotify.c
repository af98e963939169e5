/* systemd notifications: see sdnotify.h. */
#include "common/sdnotify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

static char last_status[256];

void notify_ready(void)
{
	sd_notify(0, "READY=1");
}

/* systemd 253 and later want the monotonic time with RELOADING=1; earlier
 * ones ignore it. */
void notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	char s[sizeof(last_status)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if (!strcmp(s, last_status))
		return;
	memcpy(last_status, s, sizeof(s));
	sd_notifyf(0, "STATUS=%s", s);
}

int notify_watchdog(uint64_t now_ms)
{
	static int checked;
	static uint64_t interval_ms, last_ms;
	uint64_t usec = 0;

	if (!checked) {
		checked = 1;
		/* > 0 when WATCHDOG_USEC is set for this process (WATCHDOG_PID). */
		if (sd_watchdog_enabled(0, &usec) > 0)
			interval_ms = usec / 2000 ? usec / 2000 : 1;
	}
	if (!interval_ms)
		return -1;
	if (!last_ms || now_ms - last_ms >= interval_ms) {
		sd_notify(0, "WATCHDOG=1");
		last_ms = now_ms;
	}
	return (int)(last_ms + interval_ms - now_ms);
}
