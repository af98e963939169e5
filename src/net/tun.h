/* TUN devices and their configuration through netlink (libmnl) and the
 * per-device sysctls.  See ../shared/LINUX-TUN.md for what the kernel does on
 * a TUN by itself: open the fd and set sysctls before link up; add addresses
 * after link up; set the MTU with netlink, not the sysctl.
 *
 * Error convention: 0 / fd on success, -1 with errno set and a message in
 * err[ERRLEN] naming the step that failed. */
#ifndef IPHTTPS_TUN_H
#define IPHTTPS_TUN_H

#include "common/errbuf.h"

#include <netinet/in.h>
#include <stddef.h>

/* The transmit queue both roles give their TUN (measured: the default 500
 * drops bursts of a single TCP flow, see docs/performance.md). */
#define TUN_TXQUEUELEN 4000

/* Open (create) an IFF_TUN|IFF_NO_PI device, non-blocking, close-on-exec.
 * name is in/out (IFNAMSIZ).  Fails if the device exists and is in use. */
/* 1 if the kernel takes name for a network device (dev_valid_name): 1 to
 * 15 characters, no '/', ':' or white space, not "." or "..". */
int tun_name_ok(const char *name);
int tun_open(char *name, char *err);
/* The same with IFF_VNET_HDR and TCP segmentation offload (TUN_F_CSUM,
 * TUN_F_TSO6): every read and write starts with a 10-byte virtio-net
 * header (net/gso.h). */
int tun_open_offload(char *name, char *err);
/* Write /proc/sys/net/ipv6/conf/<dev>/<key> (or "all"/"default" as dev). */
int sysctl_v6_set(const char *dev, const char *key, const char *value, char *err);
int sysctl_set_path(const char *path, const char *value, char *err);
/* Link state, MTU, carrier (TUNSETCARRIER on the tun fd). */
int tun_set_up(const char *dev, int up, char *err);
int tun_set_mtu(const char *dev, unsigned mtu, char *err);
int tun_set_carrier(int tun_fd, int on, char *err);
/* Packets the kernel queues toward the reader (default 500). */
int tun_set_txqueuelen(const char *dev, unsigned len, char *err);
/* Addresses and routes via rtnetlink. nodad: IFA_F_NODAD. */
int tun_addr_add(const char *dev, const struct in6_addr *addr, unsigned plen, int nodad, char *err);
int tun_addr_del(const char *dev, const struct in6_addr *addr, unsigned plen, char *err);
/* Remove every address of dev inside prefix/64 and the on-link route of
 * that prefix (what the kernel learned from an RA of a previous link). */
int tun_forget_prefix(const char *dev, const struct in6_addr *prefix, char *err);
int tun_route_add(const char *dev, const struct in6_addr *dst, unsigned plen,
		  const struct in6_addr *gw /* NULL = on-link */, unsigned metric, char *err);
int tun_route_del(const char *dev, const struct in6_addr *dst, unsigned plen, char *err);
/* An IPv4 route dst/plen on dev (on-link), main table; existing is fine. */
int tun_route4_add(const char *dev, const struct in_addr *dst, unsigned plen, char *err);
/* List the global/unique-local/link-local addresses and routes of dev as
 * text lines ("fd00::1/64", "fd00:99::/48 via fe80::1") into out, separated by
 * '\n'.  Returns the number of entries, or -1. */
int tun_list_addrs(const char *dev, char *out, size_t outlen, char *err);
int tun_list_routes(const char *dev, char *out, size_t outlen, char *err);
/* The first link-local address of dev, 0 if found. */
int tun_link_local(const char *dev, struct in6_addr *out);

#endif
