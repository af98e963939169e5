/* libFuzzer harness for the kept prefix file (pki_ensure_prefix,
 * src/tls/pki.c): the file is read at every start.  Checks that a prefix
 * read from it is a /64 (its interface identifier zero), that a file it
 * refuses is named in the message, and that a file it finds (taken or
 * refused) is left as it was. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls/pki.h"

/* The file still holds exactly the size bytes of data. */
static void assert_unchanged(const char *path, const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size + 1);
	FILE *f = fopen(path, "r");
	size_t n;

	assert(buf && f);
	n = fread(buf, 1, size + 1, f);
	fclose(f);
	assert(n == size && !memcmp(buf, data, size));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	struct pki_paths p;
	struct in6_addr prefix;
	char err[ERRLEN];
	int created = 0, r;
	FILE *f;

	if (!dir[0]) {
		/* in memory (/dev/shm) when there is one: a file per run */
		snprintf(dir, sizeof(dir), access("/dev/shm", W_OK) == 0 ? "/dev/shm/fuzz-prefix-XXXXXX"
									 : "/tmp/fuzz-prefix-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	pki_paths_init(&p, dir);
	if (size == 0) {
		unlink(p.prefix_file);  /* missing: a new one is made */
	} else {
		if (!(f = fopen(p.prefix_file, "w")))
			abort();
		fwrite(data, 1, size, f);
		fclose(f);
	}
	r = pki_ensure_prefix(&p, &prefix, &created, err);
	if (r == 0) {
		for (int i = 8; i < 16; i++)
			assert(prefix.s6_addr[i] == 0);
		assert(created == (size == 0));
	} else {
		assert(strstr(err, p.prefix_file));
		assert(!created);
	}
	if (size)       /* read or refused, never rewritten */
		assert_unchanged(p.prefix_file, data, size);
	return 0;
}
