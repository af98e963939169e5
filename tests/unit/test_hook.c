/* Tests of the administrators' scripts (src/common/hook.c) with real shell
 * scripts driven by a real event loop: the environment, the outcomes, the
 * timeout, the queue beyond HOOK_MAX_RUNNING, chaining and forgetting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hook.h"
#include "common/log.h"

static char dir[64];

struct outcome {
	int calls, ok;
};

static void done(struct hook_job *j, int ok, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->ok = ok;
}

static const char *script(const char *name, const char *body)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static int run_until(struct evloop *ev, const int *flag, int want, int ms)
{
	uint64_t end = ev_now_ms() + (uint64_t)ms;

	while (*flag < want && ev_now_ms() < end)
		ev_run_once(ev, 50);
	return *flag >= want;
}

static char *slurp(const char *name)
{
	static char buf[4096];
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "r")))
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_environment_and_outcomes(void **state)
{
	struct evloop ev;
	struct hooks h;
	struct hook_stats st = { 0 };
	struct outcome ok = { 0 }, bad = { 0 }, missing = { 0 };
	struct hook_job *j;
	char *env;

	assert_int_equal(ev_init(&ev), 0);
	hooks_init(&h, &ev, 5000, &st);
	j = hook_new(script("env.sh", "env > \"$(dirname \"$0\")/env.out\""), "connect", "connect-script #1");
	hook_env(j, "IPHTTPS_SUBJECT", "%s", "CN=bob,O=Example Org");
	hook_env(j, "IPHTTPS_ID", "%d", 7);
	hook_submit(&h, j, done, &ok);
	hook_submit(&h, hook_new(script("fail.sh", "echo oops; exit 3"), "connect", "c2"), done, &bad);
	hook_submit(&h, hook_new("/nonexistent/script", "connect", "c3"), done, &missing);
	assert_int_equal(missing.calls, 1);     /* at once: it cannot start */
	assert_int_equal(missing.ok, 0);
	assert_true(run_until(&ev, &bad.calls, 1, 5000));
	assert_true(run_until(&ev, &ok.calls, 1, 5000));
	assert_int_equal(ok.ok, 1);
	assert_int_equal(bad.ok, 0);
	env = slurp("env.out");
	assert_non_null(env);
	assert_non_null(strstr(env, "IPHTTPS_EVENT=connect\n"));
	assert_non_null(strstr(env, "IPHTTPS_SUBJECT=CN=bob,O=Example Org\n"));
	assert_non_null(strstr(env, "IPHTTPS_ID=7\n"));
	assert_non_null(strstr(env, "PATH="));
	assert_int_equal(st.started, 3);
	assert_int_equal(st.succeeded, 1);
	assert_int_equal(st.failed, 2);
	assert_int_equal(h.running, 0);
	ev_free(&ev);
}

static void test_timeout(void **state)
{
	struct evloop ev;
	struct hooks h;
	struct hook_stats st = { 0 };
	struct outcome o = { 0 };

	assert_int_equal(ev_init(&ev), 0);
	hooks_init(&h, &ev, 300, &st);
	hook_submit(&h, hook_new(script("hang.sh", "sleep 30"), "up", "up-script"), done, &o);
	assert_true(run_until(&ev, &o.calls, 1, 5000));
	assert_int_equal(o.ok, 0);
	assert_int_equal(st.timed_out, 1);
	ev_free(&ev);
}

/* More scripts than slots: the rest wait and run; none is lost. */
static void test_queue(void **state)
{
	struct evloop ev;
	struct hooks h;
	struct hook_stats st = { 0 };
	struct outcome o[HOOK_MAX_RUNNING + 8];
	const char *s = script("short.sh", "sleep 0.2");
	int all = 0;

	memset(o, 0, sizeof(o));
	assert_int_equal(ev_init(&ev), 0);
	hooks_init(&h, &ev, 5000, &st);
	for (size_t i = 0; i < HOOK_MAX_RUNNING + 8; i++)
		hook_submit(&h, hook_new(s, "connect", "c"), done, &o[i]);
	assert_int_equal(h.running, HOOK_MAX_RUNNING);
	assert_int_equal(h.queued, 8);
	for (int t = 0; t < 200 && all < HOOK_MAX_RUNNING + 8; t++) {
		ev_run_once(&ev, 50);
		all = 0;
		for (size_t i = 0; i < HOOK_MAX_RUNNING + 8; i++)
			all += o[i].calls == 1 && o[i].ok;
	}
	assert_int_equal(all, HOOK_MAX_RUNNING + 8);
	assert_int_equal(st.succeeded, HOOK_MAX_RUNNING + 8);
	ev_free(&ev);
}

/* A disconnect script waits for its connect script and runs only if it
 * succeeded; a forgotten job reports nothing. */
static void test_after_and_forget(void **state)
{
	struct evloop ev;
	struct hooks h;
	struct hook_stats st = { 0 };
	struct outcome first = { 0 }, second = { 0 };
	struct hook_job *a, *b;

	assert_int_equal(ev_init(&ev), 0);
	hooks_init(&h, &ev, 5000, &st);
	a = hook_new(script("a.sh", "sleep 0.3; echo connect >> \"$(dirname \"$0\")/order\""), "connect", "a");
	b = hook_new(script("b.sh", "echo disconnect >> \"$(dirname \"$0\")/order\""), "disconnect", "b");
	hook_submit(&h, a, done, &first);
	hook_forget(a);
	hook_after(a, b);
	hooks_drain(&h, 5000);
	assert_int_equal(first.calls, 0);
	assert_string_equal(slurp("order"), "connect\ndisconnect\n");
	/* After a failure, nothing chained runs. */
	a = hook_new(script("f.sh", "exit 1"), "connect", "a");
	b = hook_new(script("b.sh", "echo ran >> \"$(dirname \"$0\")/order2\""), "disconnect", "b");
	h.draining = 0;
	hook_submit(&h, a, done, &second);
	hook_after(a, b);
	assert_true(run_until(&ev, &second.calls, 1, 5000));
	ev_run_once(&ev, 300);
	assert_null(slurp("order2"));
	ev_free(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environment_and_outcomes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_after_and_forget),
	};
	int rc;

	log_init("test_hook", -1);
	snprintf(dir, sizeof(dir), "/tmp/iphttps-hook-XXXXXX");
	assert_non_null(mkdtemp(dir));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}
