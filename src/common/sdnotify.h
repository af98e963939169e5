/* systemd's service notifications (sd_notify(3) from libsystemd):
 * readiness once set up, a one-line STATUS, RELOADING/STOPPING, and the
 * watchdog keep-alive when the unit asks for one (WatchdogSec=).  Every
 * function does nothing when no service manager listens (no NOTIFY_SOCKET),
 * so the daemons call them unconditionally.
 *
 * Error convention: none; a notification that cannot be sent is dropped
 * (the manager then sees the service as not ready, or kills it on the
 * watchdog, which is the right outcome). */
#ifndef IPHTTPS_SDNOTIFY_H
#define IPHTTPS_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
/* STATUS=...: shown by `systemctl status`; sent only when it changed. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Socket activation: the listening TCP socket systemd passed
 * (iphttps-server.socket; LISTEN_FDS, taken out of the environment so that
 * children do not see it), its address into desc.  Returns the fd, -1 when
 * none was passed, or -2 with err[ERRLEN] when what was passed is not a
 * listening stream socket. */
int notify_listen_fd(char *desc, size_t desclen, char *err);
/* Sends WATCHDOG=1 when half the interval the manager asked for has passed
 * since the last one; returns the milliseconds until the next is due, or -1
 * when there is no watchdog. */
int notify_watchdog(uint64_t now_ms);

#endif
