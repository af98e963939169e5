/* One message and at most one descriptor over a connected AF_UNIX socket
 * (SCM_RIGHTS): the privilege-separation channel (privsep.c) and the
 * supervisor's channels to its workers (server/workers.c).
 *
 * Error convention: a byte count or 0, or -1 with errno set.  A message
 * that came with more than one descriptor or was cut short (MSG_TRUNC,
 * MSG_CTRUNC) is refused with EMSGSIZE and every descriptor it brought is
 * closed: a peer cannot leave descriptors behind in the receiver. */
#ifndef IPHTTPS_FDPASS_H
#define IPHTTPS_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* len bytes of buf, and fd with them when fd >= 0; flags: 0 or
 * MSG_DONTWAIT (MSG_NOSIGNAL always; EINTR retried).  0 when the whole
 * message went, -1 otherwise. */
int fdpass_send(int sock, const void *buf, size_t len, int fd, int flags);
/* One message into buf (at most cap bytes), its descriptor into *fd (-1
 * when none; close-on-exec); flags as above.  Its length, or -1. */
ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fd, int flags);

#endif
