/* libFuzzer harness for the daemon-helper protocol (src/common/privsep.c)
 * and the configuration it carries (src/common/cfgpack.c): each side
 * parses what the other sends before it reads a field, and the helper
 * trusts nothing of the daemon's.  Checks that a message ps_parse takes
 * is exactly what the builders make of its fields (rebuilt byte for
 * byte: no byte unaccounted for, every field inside the datagram), that
 * its getters stay inside it, that it is refused with a reason otherwise,
 * and that a PS_RELOADED message unpacked into the server's configuration
 * either gives values within the option table's bounds or a message
 * naming the option (everything it took then freed). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfgpack.h"
#include "common/privsep.h"
#include "server/config.h"

static struct ps_msg m;
static struct ps_out out;

static void rebuild(const uint8_t *data, size_t size)
{
	ps_begin(&out, m.type, m.id);
	for (unsigned i = 0; i < m.n; i++) {
		assert(m.f[i].p >= data && m.f[i].p + m.f[i].len <= data + size);
		ps_put_bytes(&out, m.f[i].tag, m.f[i].p, m.f[i].len);
	}
	assert(!out.overflow && out.len == size && !memcmp(out.b, data, size));
}

static void getters(const uint8_t *data, size_t size)
{
	char s[64];
	size_t len;
	unsigned line;

	for (unsigned i = 0; i < m.n; i++) {
		uint16_t tag = m.f[i].tag;
		size_t k = ps_count(&m, tag) - 1;
		const uint8_t *p = ps_bytes(&m, tag, k, &len);
		int n = ps_str(&m, tag, k, s, sizeof(s));
		assert(p >= data && p + len <= data + size && n == (int)len);
		assert(strlen(s) <= len && strlen(s) < sizeof(s));   /* (a u32 may hold a NUL) */
		(void)ps_lstr(&m, tag, 0, &line, s, sizeof(s));
		(void)ps_u32(&m, tag, 0);
		(void)ps_u64(&m, tag, 0);
	}
	assert(!ps_bytes(&m, 0, 0, &len) && len == 0);
}

static void reloaded(void)
{
	struct server_cfg *c = calloc(1, sizeof(*c));
	char err[ERRLEN] = "";

	if (!c)
		abort();
	if (cfgpack_get(&m, server_opts, c, &c->origin, err) == 0) {
		for (unsigned i = 0; server_opts[i].name; i++)
			if (server_opts[i].type == OPT_INT) {
				long v = *(long *)((char *)c + server_opts[i].off);
				assert(v >= server_opts[i].min && v <= server_opts[i].max);
			}
	} else {
		assert(strstr(err, "option "));
	}
	server_cfg_free(c);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[ERRLEN] = "";

	if (ps_parse(data, size, &m, why) < 0) {
		assert(why[0]);
		return 0;
	}
	assert(m.type > PS_NONE && m.type < PS_TYPE_MAX && m.n <= PS_FIELDS_MAX);
	rebuild(data, size);
	getters(data, size);
	if (m.type == PS_RELOADED)
		reloaded();
	return 0;
}
