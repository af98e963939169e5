/* systemd notifications: see sdnotify.h. */
#include "common/sdnotify.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
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

int notify_listen_fd(char *desc, size_t desclen, char *err)
{
	int n = sd_listen_fds(1), fd = SD_LISTEN_FDS_START;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (n <= 0)
		return -1;
	if (n > 1 || sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(err, ERRLEN, "socket activation: systemd passed %d descriptor%s; the server takes "
			 "one listening TCP socket (ListenStream=)", n, n == 1 ? "" : "s");
		return -2;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(desc, desclen, "[%s]:%u", host, port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(desc, desclen, "%s:%u", host, ntohs(a->sin_port));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
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
