/* The TUN side of the data path: see tunio.h. */
#include "net/tunio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "net/tun.h"

static const uint8_t zero_hdr[VNET_HDR_LEN];

/* gro's output: one writev per packet or super-packet. */
static int gro_out(void *arg, const struct iovec *iov, int iovcnt, void *owner, unsigned npkts,
		   int is_super)
{
	struct tunio *t = arg;
	ssize_t n = writev(t->fd, iov, iovcnt);

	t->st.writes++;
	if (n >= 0) {
		t->st.write_pkts += npkts;
		t->st.super_out += is_super ? 1 : 0;
		return 0;
	}
	if (is_super && errno == EINVAL) {
		/* The kernel takes no GSO writes: gro writes these packets
		 * one by one, and every later one goes that way at once. */
		if (t->coalesce)
			log_warnx("tun: the kernel refused a TCP super-packet (%s); writing packet by packet",
			  strerror(errno));
		snprintf(t->offload_note, sizeof(t->offload_note),
			 "reads only (the kernel refused super-packet writes)");
		t->coalesce = 0;
		return -1;
	}
	t->st.write_errors += npkts;
	if (t->write_failed)
		t->write_failed(t->arg, owner, npkts);
	return -1;
}

int tunio_attach(struct tunio *t, int fd, int vnet, unsigned mtu, tunio_fail_fn write_failed, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->mtu = mtu;
	t->write_failed = write_failed;
	t->arg = arg;
	snprintf(t->offload_note, sizeof(t->offload_note), vnet ? "on" : "off");
	if (!(t->rbuf = malloc(TUNIO_READ_BUF)))
		return -1;
	if (vnet && gro_init(&t->gro, gro_out, t) < 0) {
		free(t->rbuf);
		t->rbuf = NULL;
		return -1;
	}
	t->vnet = t->coalesce = vnet != 0;
	return 0;
}

int tunio_open(struct tunio *t, char *name, int offload, unsigned mtu,
	       tunio_fail_fn write_failed, void *arg, char *err)
{
	char e[ERRLEN], note[96] = "off";
	int fd = -1;

	if (offload) {
		if ((fd = tun_open_offload(name, e)) >= 0) {
			if (tunio_attach(t, fd, 1, mtu, write_failed, arg) == 0)
				return fd;
			snprintf(e, sizeof(e), "out of memory");
			close(fd);
		}
		log_warnx("tun %s: no offload (%s); packet by packet", name, e);
		snprintf(note, sizeof(note), "off (%.80s)", e);
	}
	if ((fd = tun_open(name, err)) < 0)
		return -1;
	if (tunio_attach(t, fd, 0, mtu, write_failed, arg) < 0) {
		close(fd);
		snprintf(err, ERRLEN, "tun %s: out of memory", name);
		return -1;
	}
	snprintf(t->offload_note, sizeof(t->offload_note), "%s", note);
	return fd;
}

void tunio_close(struct tunio *t)
{
	if (t->fd >= 0) {
		tunio_flush(t);
		close(t->fd);
	}
	t->fd = -1;
	gro_free(&t->gro);
	free(t->rbuf);
	t->rbuf = NULL;
}

static void count_refused(struct tunio *t, int rc)
{
	if (rc == GSO_ERR_TYPE)
		t->st.bad_type++;
	else if (rc == GSO_ERR_HEADER)
		t->st.bad_header++;
	else if (rc == GSO_ERR_LENGTH)
		t->st.bad_length++;
	if (rc != GSO_ERR_EMIT && (t->st.bad_type + t->st.bad_header + t->st.bad_length) == 1)
		log_warnx("tun: a read refused: %s (counted, later ones silently)", gso_strerror(rc));
}

struct read_ctx {
	struct tunio *t;
	tunio_packet_fn fn;
	void *arg;
};

static int one_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct read_ctx *r = arg;

	r->t->st.read_pkts++;
	return r->fn(r->arg, pkt, len);
}

int tunio_read(struct tunio *t, tunio_packet_fn fn, void *arg)
{
	ssize_t n = read(t->fd, t->rbuf, TUNIO_READ_BUF);
	struct read_ctx r = { t, fn, arg };
	int rc;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	t->st.reads++;
	if (!t->vnet) {
		one_packet(&r, t->rbuf, (size_t)n);
		return 1;
	}
	rc = gso_split(t->rbuf, (size_t)n, t->mtu, one_packet, &r);
	if (rc < 0)
		count_refused(t, rc);
	else if (rc > 1)
		t->st.super_in++;
	return 1;
}

void tunio_write(struct tunio *t, const uint8_t *pkt, size_t len, void *owner)
{
	struct iovec iov[2] = { { (void *)zero_hdr, VNET_HDR_LEN }, { (void *)pkt, len } };
	ssize_t n;

	if (t->coalesce) {
		gro_add(&t->gro, pkt, len, owner);
		return;
	}
	n = t->vnet ? writev(t->fd, iov, 2) : write(t->fd, pkt, len);
	t->st.writes++;
	if (n >= 0) {
		t->st.write_pkts++;
		return;
	}
	t->st.write_errors++;
	if (t->write_failed)
		t->write_failed(t->arg, owner, 1);
}

void tunio_flush(struct tunio *t)
{
	if (t->vnet && !gro_empty(&t->gro))
		gro_flush(&t->gro);
}
