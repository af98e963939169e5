/* Tests of the child-process supervisor (src/common/proc.c) with /bin/sh,
 * cat and sleep as the children, driven by a real event loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"

struct seen {
	int exits;
	int last_status;
};

static void count_exit(struct proc *p, int st, void *arg)
{
	struct seen *s = arg;

	s->exits++;
	s->last_status = st;
}

/* Run the loop until *flag >= want or ms pass; returns 1 when reached. */
static int run_until(struct evloop *ev, const int *flag, int want, int ms)
{
	uint64_t end = ev_now_ms() + (uint64_t)ms;

	while (*flag < want && ev_now_ms() < end)
		ev_run_once(ev, 50);
	return *flag >= want;
}

static void sh(struct proc *p, const char *name, const char *script)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->argv[0] = (char *)"sh";
	p->argv[1] = (char *)"-c";
	p->argv[2] = (char *)script;
}

static void test_exit_status_and_last_line(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN], d[512];

	assert_int_equal(ev_init(&ev), 0);
	sh(&p, "t1", "echo first; echo 'the last words'; exit 3");
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_int_equal(p.state, PROC_RUNNING);
	assert_true(p.pid > 0);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	assert_int_equal(p.state, PROC_EXITED);
	assert_true(WIFEXITED(s.last_status));
	assert_int_equal(WEXITSTATUS(s.last_status), 3);
	assert_string_equal(p.last_line, "the last words");
	assert_string_equal(p.last_exit_text, "exited with status 3");
	proc_describe(&p, d, sizeof(d));
	assert_non_null(strstr(d, "exited (0 restarts; last exit: exited with status 3 at "));
	assert_non_null(strstr(d, ": the last words)"));
	proc_release(&p);
	ev_free(&ev);
}

/* Only PATH, LANG and the entries asked for reach the child. */
static void test_clean_environment(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN];

	setenv("IPH_SECRET", "leaked", 1);
	assert_int_equal(ev_init(&ev), 0);
	sh(&p, "env", "echo \"[$IPH_SECRET][$HOME][$X][$LANG][$(env | wc -l)]\"");
	p.env[0] = (char *)"X=given";
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	/* sh adds PWD (and may add SHLVL and _): at most 6 lines. */
	assert_memory_equal(p.last_line, "[][][given][C.UTF-8][", 21);
	assert_true(atoi(p.last_line + 21) >= 3 && atoi(p.last_line + 21) <= 6);
	proc_release(&p);
	ev_free(&ev);
	unsetenv("IPH_SECRET");
}

/* A child that keeps dying is started again, each time later. */
static void test_restart_with_backoff(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN], d[512];
	uint64_t t0;

	assert_int_equal(ev_init(&ev), 0);
	sh(&p, "crasher", "echo dying; exit 1");
	p.restart = 1;
	p.backoff_min_ms = 40;
	p.backoff_max_ms = 160;
	p.on_exit = count_exit;
	p.arg = &s;
	t0 = ev_now_ms();
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_true(run_until(&ev, &s.exits, 5, 10000));
	/* Waits of 40, 80, 160, 160 ms before starts 2..5. */
	assert_true(ev_now_ms() - t0 >= 40 + 80 + 160 + 160);
	assert_int_equal(p.starts, 5);
	assert_int_equal(p.restarts, 4);
	assert_int_equal(p.backoff_ms, 160);
	assert_int_equal(p.state, PROC_WAITING);
	proc_describe(&p, d, sizeof(d));
	assert_non_null(strstr(d, "restarting (in 160 ms, 4 restarts so far; last exit: exited with status 1"));
	assert_non_null(strstr(d, ": dying)"));
	proc_stop(&p);
	assert_int_equal(p.state, PROC_IDLE);
	/* Stopped while waiting: nothing starts any more. */
	ev_run_once(&ev, 300);
	assert_int_equal(p.starts, 5);
	proc_release(&p);
	ev_free(&ev);
}

/* proc_stop: SIGTERM ends a well-behaved child, no restart follows. */
static void test_stop_sigterm(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN];

	assert_int_equal(ev_init(&ev), 0);
	memset(&p, 0, sizeof(p));
	p.name = "sleeper";
	p.argv[0] = (char *)"sleep";
	p.argv[1] = (char *)"30";
	p.restart = 1;
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	proc_stop(&p);
	assert_int_equal(p.state, PROC_STOPPING);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	assert_int_equal(p.state, PROC_IDLE);
	assert_true(WIFSIGNALED(s.last_status));
	assert_int_equal(WTERMSIG(s.last_status), SIGTERM);
	assert_string_equal(p.last_exit_text, "killed by signal 15 (TERM)");
	ev_run_once(&ev, 200);
	assert_int_equal(p.starts, 1);
	proc_release(&p);
	ev_free(&ev);
}

/* A child that ignores SIGTERM gets SIGKILL after stop_timeout_ms. */
static void test_stop_sigkill_after_timeout(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN];
	uint64_t t0;

	assert_int_equal(ev_init(&ev), 0);
	sh(&p, "stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done");
	p.stop_timeout_ms = 300;
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	/* Wait for the trap to be in place. */
	for (int i = 0; i < 100 && strcmp(p.last_line, "ready"); i++)
		ev_run_once(&ev, 50);
	assert_string_equal(p.last_line, "ready");
	t0 = ev_now_ms();
	proc_stop(&p);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	assert_true(ev_now_ms() - t0 >= 300);
	assert_true(WIFSIGNALED(s.last_status));
	assert_int_equal(WTERMSIG(s.last_status), SIGKILL);
	proc_release(&p);
	ev_free(&ev);
}

/* stdin from the caller's descriptor. */
/* A one-shot child still running at run_timeout_ms is stopped with what it
 * started (its process group), and says it timed out. */
static void test_run_timeout_stops_the_group(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN];
	long grandchild;
	uint64_t t0 = ev_now_ms();

	assert_int_equal(ev_init(&ev), 0);
	sh(&p, "hanging-script", "sleep 30 & echo $!; wait");
	p.run_timeout_ms = 300;
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	assert_true(ev_now_ms() - t0 >= 300);
	assert_int_equal(p.timed_out, 1);
	assert_int_equal(p.state, PROC_IDLE);
	assert_true(WIFSIGNALED(s.last_status));
	grandchild = strtol(p.last_line, NULL, 10);
	assert_true(grandchild > 1);
	for (int i = 0; i < 100 && kill((pid_t)grandchild, 0) == 0; i++)
		usleep(20000);  /* reaped by init once killed */
	assert_int_equal(kill((pid_t)grandchild, 0), -1);
	proc_release(&p);
	/* A run that ends in time is not marked. */
	sh(&p, "quick-script", "exit 0");
	p.run_timeout_ms = 5000;
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_true(run_until(&ev, &s.exits, 2, 5000));
	assert_int_equal(p.timed_out, 0);
	assert_true(WIFEXITED(s.last_status) && WEXITSTATUS(s.last_status) == 0);
	proc_release(&p);
	ev_free(&ev);
}

static void test_stdin_fd(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN];
	int fds[2];

	assert_int_equal(ev_init(&ev), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "nameserver fd00::53\n", 20), 20);
	close(fds[1]);
	memset(&p, 0, sizeof(p));
	p.name = "cat";
	p.argv[0] = (char *)"cat";
	p.stdin_fd = fds[0];
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	close(fds[0]);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	assert_string_equal(p.last_line, "nameserver fd00::53");
	assert_int_equal(WEXITSTATUS(s.last_status), 0);
	proc_release(&p);
	ev_free(&ev);
}

static void test_not_found_and_exec_failure(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN], path[] = "/tmp/iph-proc-XXXXXX";
	int fd;

	assert_int_equal(ev_init(&ev), 0);
	memset(&p, 0, sizeof(p));
	p.name = "ghost";
	p.argv[0] = (char *)"iphttps-no-such-program";
	assert_int_equal(proc_start(&ev, &p, err), -1);
	assert_non_null(strstr(err, "iphttps-no-such-program not found in PATH"));
	proc_release(&p);

	/* Executable but not a program: the exec fails in the child. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x01\x02garbage", 9), 9);
	close(fd);
	chmod(path, 0755);
	memset(&p, 0, sizeof(p));
	p.name = "garbage";
	p.argv[0] = path;
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	assert_int_equal(WEXITSTATUS(s.last_status), 127);
	assert_string_equal(p.last_line, "cannot execute the program (errno 8)");
	proc_release(&p);
	unlink(path);
	ev_free(&ev);
}

static void test_run_sync(void **state)
{
	char out[64], err[ERRLEN];
	char *cat[] = { (char *)"cat", NULL };
	char *sleeper[] = { (char *)"sleep", (char *)"10", NULL };
	char *fail[] = { (char *)"sh", (char *)"-c", (char *)"echo oops >&2; exit 4", NULL };
	char *none[] = { (char *)"iphttps-no-such-program", NULL };
	uint64_t t0;
	int st;

	st = proc_run_sync(cat, "table inet x\n", 5000, out, sizeof(out), err);
	assert_int_equal(st, 0);
	assert_string_equal(out, "table inet x\n");
	st = proc_run_sync(fail, NULL, 5000, out, sizeof(out), err);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 4);
	assert_string_equal(out, "oops\n");
	/* Output beyond the buffer is read and dropped, never blocks. */
	st = proc_run_sync((char *[]){ (char *)"sh", (char *)"-c", (char *)"seq 1 20000", NULL },
			   NULL, 5000, out, 8, err);
	assert_int_equal(st, 0);
	assert_string_equal(out, "1\n2\n3\n4");
	t0 = ev_now_ms();
	assert_int_equal(proc_run_sync(sleeper, NULL, 300, out, sizeof(out), err), -1);
	assert_true(ev_now_ms() - t0 < 5000);
	assert_non_null(strstr(err, "not done within 300 ms; killed"));
	assert_int_equal(proc_run_sync(none, NULL, 300, out, sizeof(out), err), -1);
	assert_non_null(strstr(err, "not found in PATH"));
}

/* The daemon killed with SIGKILL takes its children with it
 * (PR_SET_PDEATHSIG): a helper process plays the daemon. */
static void test_children_die_with_the_daemon(void **state)
{
	int fds[2], st;
	pid_t helper, child = 0;

	assert_int_equal(pipe(fds), 0);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		struct evloop ev;
		struct proc p;
		char err[ERRLEN];

		memset(&p, 0, sizeof(p));
		p.name = "orphan";
		p.argv[0] = (char *)"sleep";
		p.argv[1] = (char *)"60";
		if (ev_init(&ev) < 0 || proc_start(&ev, &p, err) < 0)
			_exit(1);
		if (write(fds[1], &p.pid, sizeof(p.pid)) != sizeof(p.pid))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &child, sizeof(child)), sizeof(child));
	close(fds[0]);
	assert_int_equal(kill(child, 0), 0);
	kill(helper, SIGKILL);
	assert_int_equal(waitpid(helper, &st, 0), helper);
	/* The orphan is reparented (to init or a subreaper) and must end. */
	for (int i = 0; i < 100 && kill(child, 0) == 0; i++) {
		char path[64], buf[256] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
		if ((f = fopen(path, "r"))) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		if (strstr(buf, ") Z "))
			break;      /* a zombie waiting for its new parent */
		usleep(50000);
	}
	{
		char path[64], buf[256] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
		if ((f = fopen(path, "r"))) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		int gone = buf[0] == 0 || strstr(buf, ") Z ") != NULL;
		if (!gone)
			kill(child, SIGKILL);   /* leave nothing behind, then fail */
		assert_true(gone);
	}
}

/* A child as another user keeps only the capabilities asked for, as
 * ambient ones (what a daemon gives a resolver that binds port 53). */
static void test_child_user_and_caps(void **state)
{
	struct evloop ev;
	struct proc p;
	struct seen s = { 0 };
	char err[ERRLEN];

	if (getuid() != 0)
		skip();
	assert_int_equal(ev_init(&ev), 0);
	sh(&p, "as-nobody", "echo \"$(id -u):$(id -g) $(grep CapEff /proc/self/status | cut -f2)\"");
	p.user = (struct proc_user){ 1, 65534, 65534 };
	p.caps = 1ull << 10;    /* CAP_NET_BIND_SERVICE */
	p.on_exit = count_exit;
	p.arg = &s;
	assert_int_equal(proc_start(&ev, &p, err), 0);
	assert_true(run_until(&ev, &s.exits, 1, 5000));
	/* sh itself is the program: the capability stays effective in it */
	assert_string_equal(p.last_line, "65534:65534 0000000000000400");
	proc_release(&p);
	ev_free(&ev);
}

static void test_find_program(void **state)
{
	char out[512];

	assert_int_equal(proc_find_program("sh", out, sizeof(out)), 0);
	assert_true(out[0] == '/');
	assert_int_equal(proc_find_program("/bin/sh", out, sizeof(out)), 0);
	assert_string_equal(out, "/bin/sh");
	assert_int_equal(proc_find_program("/nonexistent/sh", out, sizeof(out)), -1);
	assert_int_equal(proc_find_program("", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_and_last_line),
		cmocka_unit_test(test_clean_environment),
		cmocka_unit_test(test_restart_with_backoff),
		cmocka_unit_test(test_stop_sigterm),
		cmocka_unit_test(test_stop_sigkill_after_timeout),
		cmocka_unit_test(test_run_timeout_stops_the_group),
		cmocka_unit_test(test_stdin_fd),
		cmocka_unit_test(test_not_found_and_exec_failure),
		cmocka_unit_test(test_run_sync),
		cmocka_unit_test(test_children_die_with_the_daemon),
		cmocka_unit_test(test_child_user_and_caps),
		cmocka_unit_test(test_find_program),
	};

	log_init("test_proc", -1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
