/* The "Tun" record of `state`, the same for both roles: see ctl.h. */
#include "ctl/ctl.h"

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

struct json_object *ctl_tun_json(const struct tunio *t)
{
	struct json_object *o = json_object_new_object();
	const struct tunio_stats *s = &t->st;

	json_object_object_add(o, "Offload", json_object_new_string(t->offload_note));
	add_u64(o, "Reads", s->reads);
	add_u64(o, "ReadPackets", s->read_pkts);
	add_u64(o, "SuperPacketsIn", s->super_in);
	add_u64(o, "RefusedType", s->bad_type);
	add_u64(o, "RefusedHeader", s->bad_header);
	add_u64(o, "RefusedLength", s->bad_length);
	add_u64(o, "Writes", s->writes);
	add_u64(o, "WritePackets", s->write_pkts);
	add_u64(o, "SuperPacketsOut", s->super_out);
	add_u64(o, "CoalescedPackets", t->gro.coalesced_pkts);
	add_u64(o, "BadChecksums", t->gro.bad_csum);
	add_u64(o, "WriteErrors", s->write_errors);
	return o;
}
