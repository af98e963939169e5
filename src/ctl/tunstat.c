/* The "Tun" record of `state`, the same for both roles: see ctl.h. */
#include "ctl/ctl.h"
#include "common/json.h"

struct json_object *ctl_tun_json(const struct tunio *t)
{
	struct json_object *o = json_object_new_object();
	const struct tunio_stats *s = &t->st;

	json_put_str(o, "Offload", t->offload_note);
	json_put_u64(o, "Reads", s->reads);
	json_put_u64(o, "ReadPackets", s->read_pkts);
	json_put_u64(o, "SuperPacketsIn", s->super_in);
	json_put_u64(o, "RefusedType", s->bad_type);
	json_put_u64(o, "RefusedHeader", s->bad_header);
	json_put_u64(o, "RefusedLength", s->bad_length);
	json_put_u64(o, "Writes", s->writes);
	json_put_u64(o, "WritePackets", s->write_pkts);
	json_put_u64(o, "SuperPacketsOut", s->super_out);
	json_put_u64(o, "CoalescedPackets", t->gro.coalesced_pkts);
	json_put_u64(o, "BadChecksums", t->gro.bad_csum);
	json_put_u64(o, "WriteErrors", s->write_errors);
	return o;
}
