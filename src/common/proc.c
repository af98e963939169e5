/* Child processes run and watched from the event loop: see proc.h. */
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define ENV_SLOTS (PROC_MAX_ENV + 3)

static unsigned or_default(unsigned v, unsigned d)
{
	return v ? v : d;
}

int proc_find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;

	if (!name || !*name)
		return -1;
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	for (p = path && *path ? path : PROC_DEFAULT_PATH; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		if (dl && (size_t)snprintf(out, len, "%.*s/%s", (int)dl, p, name) < len &&
		    access(out, X_OK) == 0)
			return 0;
		p = colon ? colon + 1 : NULL;
	}
	return -1;
}

/* The clean environment: PATH, LANG and the caller's entries (pointers into
 * storage that outlives the fork). */
static void build_env(char *const extra[], char *envp[ENV_SLOTS], char *pathbuf, size_t plen)
{
	const char *path = getenv("PATH");
	size_t n = 0;

	snprintf(pathbuf, plen, "PATH=%s", path && *path ? path : PROC_DEFAULT_PATH);
	envp[n++] = pathbuf;
	envp[n++] = (char *)"LANG=C.UTF-8";
	for (size_t i = 0; extra && i < PROC_MAX_ENV && extra[i]; i++)
		envp[n++] = extra[i];
	envp[n] = NULL;
}

/* Give the child the ambient capabilities asked for that we still hold
 * (inheritable first: ambient needs permitted and inheritable). */
static void child_caps(uint64_t caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (!caps || syscall(SYS_capget, &h, d) < 0)
		return;
	d[0].inheritable |= (uint32_t)caps & d[0].permitted;
	d[1].inheritable |= (uint32_t)(caps >> 32) & d[1].permitted;
	syscall(SYS_capset, &h, d);
	for (unsigned cap = 0; cap < 64; cap++)
		if (caps & (1ULL << cap))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/* "WHAT (errno N)\n" on stderr, async-signal-safe. */
static void child_say(const char *what, int e)
{
	char num[16];
	int i = sizeof(num);

	num[--i] = '\n';
	num[--i] = ')';
	do
		num[--i] = (char)('0' + e % 10);
	while ((e /= 10) && i > 0);
	(void)!write(2, what, strlen(what));
	(void)!write(2, " (errno ", 8);
	(void)!write(2, num + i, sizeof(num) - (size_t)i);
}

/* Become u (keeping the permitted capabilities for child_caps), or exit. */
static void child_user(const struct proc_user *u)
{
	if (!u || !u->set || getuid() == u->uid)
		return;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(1, &u->gid) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
		child_say("cannot become the program's user", errno);
		_exit(126);
	}
}

/* After fork, in the child: only async-signal-safe calls (the parent may
 * have threads). Never returns. */
static void child_exec(const char *path, char *const argv[], char *const envp[], int in_fd,
		       int out_fd, pid_t parent, uint64_t caps, const struct proc_user *u)
{
	static const char msg[] = "cannot execute the program (errno ";
	struct sigaction sa;
	sigset_t none;
	char num[16];
	int e, i = sizeof(num);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)
		_exit(127);     /* the daemon died before we got here */
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	child_user(u);
	child_caps(caps);
	execve(path, argv, envp);
	e = errno;
	num[--i] = '\n';
	num[--i] = ')';
	do
		num[--i] = (char)('0' + e % 10);
	while ((e /= 10) && i > 0);
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, num + i, sizeof(num) - (size_t)i);
	_exit(127);
}

/* Fork and exec argv (path resolved) with stdin in_fd and the write end
 * out_fd of the output pipe.  Returns the pid or -1 (errno). */
static pid_t spawn(const char *path, char *const argv[], char *const extra_env[], int in_fd,
		   int out_fd, uint64_t caps, const struct proc_user *u)
{
	char *envp[ENV_SLOTS], pathbuf[4096];
	int null_fd = -1;
	pid_t me = getpid(), pid;

	build_env(extra_env, envp, pathbuf, sizeof(pathbuf));
	if (in_fd <= 0 && (in_fd = null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		child_exec(path, argv, envp, in_fd, out_fd, me, caps, u);
	if (null_fd >= 0)
		close(null_fd);
	return pid;
}

/* Arm the proc's timer ms from now (0 disarms it). */
static void set_timer(struct proc *p, unsigned ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (p->tmr_h.fd >= 0)
		timerfd_settime(p->tmr_h.fd, 0, &its, NULL);
}

/* Log and keep each complete line the child printed in buf. */
static void take_lines(struct proc *p, int flush)
{
	char *nl;

	while ((nl = memchr(p->buf, '\n', p->buf_len)) || (flush && p->buf_len)) {
		size_t n = nl ? (size_t)(nl - p->buf) : p->buf_len;
		snprintf(p->last_line, sizeof(p->last_line), "%.*s", (int)n, p->buf);
		if (n)
			log_info("%s: %s", p->name, p->last_line);
		n = nl ? n + 1 : n;
		memmove(p->buf, p->buf + n, p->buf_len - n);
		p->buf_len -= n;
	}
}

static void read_output(struct proc *p)
{
	for (;;) {
		ssize_t n;
		if (p->buf_len >= sizeof(p->buf) - 1) {
			/* A line longer than the buffer: logged in pieces. */
			p->buf[p->buf_len++] = '\n';
			take_lines(p, 0);
		}
		n = read(p->out_h.fd, p->buf + p->buf_len, sizeof(p->buf) - 1 - p->buf_len);
		if (n <= 0)
			break;
		p->buf_len += (size_t)n;
		take_lines(p, 0);
	}
}

static void close_handler(struct proc *p, struct ev_handler *h)
{
	if (h->fd < 0)
		return;
	if (p->ev)
		ev_del(p->ev, h);
	close(h->fd);
	h->fd = -1;
}

static void on_output(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct proc *p = CONTAINER(h, struct proc, out_h);

	read_output(p);
	if (events & (EPOLLHUP | EPOLLERR)) {
		take_lines(p, 1);
		close_handler(p, &p->out_h);  /* the child closed it (or is gone) */
	}
}

void proc_status_text(int st, char *out, size_t len)
{
	if (WIFEXITED(st))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(st), sigabbrev_np(WTERMSIG(st)) ?
			 sigabbrev_np(WTERMSIG(st)) : "?");
	else
		snprintf(out, len, "ended with wait status 0x%x", st);
}

static int start_child(struct proc *p, char *err);

/* sig to the child's process group (its session: setsid), else to it. */
static void signal_child(struct proc *p, int sig)
{
	if (kill(-p->pid, sig) < 0)
		kill(p->pid, sig);
}

/* The child exited with status st: log it, then restart, stop or end. */
static void child_exited(struct proc *p, int st)
{
	uint64_t ran = ev_now_ms() - p->started_ms;
	int was_stopping = p->state == PROC_STOPPING;

	if (p->out_h.fd >= 0) {
		read_output(p);
		take_lines(p, 1);
		close_handler(p, &p->out_h);
	}
	close_handler(p, &p->pid_h);
	p->pid = 0;
	p->last_status = st;
	p->has_status = 1;
	p->last_exit = time(NULL);
	proc_status_text(st, p->last_exit_text, sizeof(p->last_exit_text));
	set_timer(p, 0);
	if (was_stopping) {
		p->state = PROC_IDLE;
		log_info("%s: stopped (%s)", p->name, p->last_exit_text);
	} else if (p->restart) {
		unsigned min = or_default(p->backoff_min_ms, 1000), max = or_default(p->backoff_max_ms, 60000);
		p->backoff_ms = ran >= PROC_STABLE_MS || !p->backoff_ms ? min
			: p->backoff_ms * 2 > max ? max : p->backoff_ms * 2;
		p->state = PROC_WAITING;
		log_warnx("%s: %s after %llu s%s%s; restarting in %u ms", p->name, p->last_exit_text,
			  (unsigned long long)(ran / 1000), p->last_line[0] ? ": " : "", p->last_line,
			  p->backoff_ms);
		set_timer(p, p->backoff_ms);
	} else {
		p->state = PROC_EXITED;
	}
	if (p->on_exit)
		p->on_exit(p, st, p->arg);
}

static void on_pidfd(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct proc *p = CONTAINER(h, struct proc, pid_h);
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);

	if (r == p->pid)
		child_exited(p, st);
	else if (r < 0 && errno == ECHILD)
		child_exited(p, 0);   /* reaped by someone else: nothing to report */
}

static void on_timer(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct proc *p = CONTAINER(h, struct proc, tmr_h);
	uint64_t n;
	char err[ERRLEN];

	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (p->state == PROC_STOPPING && p->pid > 0) {
		log_warnx("%s: still running %u ms after SIGTERM; SIGKILL", p->name,
			  or_default(p->stop_timeout_ms, 5000));
		signal_child(p, SIGKILL);
	} else if (p->state == PROC_RUNNING && p->run_timeout_ms && p->pid > 0) {
		log_warnx("%s: still running after %u ms; stopping it", p->name, p->run_timeout_ms);
		p->timed_out = 1;
		proc_stop(p);
	} else if (p->state == PROC_WAITING) {
		p->restarts++;
		if (start_child(p, err) < 0) {
			log_warnx("%s; trying again in %u ms", err, p->backoff_ms);
			set_timer(p, p->backoff_ms);
		}
	}
}

static int watch(struct proc *p, struct ev_handler *h, void (*cb)(struct evloop *, struct ev_handler *, uint32_t))
{
	h->cb = cb;
	return ev_add(p->ev, h, EPOLLIN);
}

/* Fork the child and watch its pidfd and output. */
static int start_child(struct proc *p, char *err)
{
	int out[2];

	if (proc_find_program(p->argv[0], p->path, sizeof(p->path)) < 0) {
		snprintf(err, ERRLEN, "%s: %s not found in PATH", p->name, p->argv[0]);
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		snprintf(err, ERRLEN, "%s: pipe: %s", p->name, strerror(errno));
		return -1;
	}
	p->pid = spawn(p->path, p->argv, p->env, p->stdin_fd, out[1], p->caps, &p->user);
	close(out[1]);
	if (p->pid < 0) {
		snprintf(err, ERRLEN, "%s: fork: %s", p->name, strerror(errno));
		close(out[0]);
		p->pid = 0;
		return -1;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	p->out_h.fd = out[0];
	p->pid_h.fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->pid_h.fd < 0 || watch(p, &p->pid_h, on_pidfd) < 0 || watch(p, &p->out_h, on_output) < 0) {
		snprintf(err, ERRLEN, "%s: watching pid %d: %s", p->name, (int)p->pid, strerror(errno));
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		close_handler(p, &p->pid_h);
		close_handler(p, &p->out_h);
		p->pid = 0;
		return -1;
	}
	fcntl(p->pid_h.fd, F_SETFD, FD_CLOEXEC);
	p->state = PROC_RUNNING;
	p->starts++;
	p->timed_out = 0;
	if (p->run_timeout_ms)
		set_timer(p, p->run_timeout_ms);
	p->started_ms = ev_now_ms();
	p->since = time(NULL);
	p->last_line[0] = 0;
	p->buf_len = 0;
	log_info("%s: started %s (pid %d)", p->name, p->path, (int)p->pid);
	return 0;
}

int proc_start(struct evloop *ev, struct proc *p, char *err)
{
	if (p->state == PROC_RUNNING || p->state == PROC_STOPPING) {
		snprintf(err, ERRLEN, "%s: already running (pid %d)", p->name, (int)p->pid);
		return -1;
	}
	if (!p->ev) {
		p->ev = ev;
		p->pid_h.fd = p->out_h.fd = -1;
		p->tmr_h.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (p->tmr_h.fd < 0 || watch(p, &p->tmr_h, on_timer) < 0) {
			snprintf(err, ERRLEN, "%s: timerfd: %s", p->name, strerror(errno));
			if (p->tmr_h.fd >= 0)
				close(p->tmr_h.fd);
			p->tmr_h.fd = -1;
			p->ev = NULL;
			return -1;
		}
	}
	set_timer(p, 0);
	return start_child(p, err);
}

void proc_stop(struct proc *p)
{
	if (p->state == PROC_WAITING) {
		set_timer(p, 0);
		p->state = PROC_IDLE;
		return;
	}
	if (p->state != PROC_RUNNING || p->pid <= 0)
		return;
	p->state = PROC_STOPPING;
	signal_child(p, SIGTERM);
	set_timer(p, or_default(p->stop_timeout_ms, 5000));
}

void proc_release(struct proc *p)
{
	if (!p->ev)
		return;         /* never started: no descriptor of ours */
	close_handler(p, &p->out_h);
	close_handler(p, &p->pid_h);
	close_handler(p, &p->tmr_h);
	p->ev = NULL;
}

void proc_stop_wait(struct proc *p, int timeout_ms)
{
	if (p->pid > 0 && (p->state == PROC_RUNNING || p->state == PROC_STOPPING)) {
		struct pollfd pfd = { .fd = p->pid_h.fd, .events = POLLIN };
		uint64_t deadline = ev_now_ms() + (uint64_t)timeout_ms;
		int st;

		signal_child(p, SIGTERM);
		while (pfd.fd >= 0 && ev_now_ms() < deadline &&
		       poll(&pfd, 1, (int)(deadline - ev_now_ms())) == 0)
			;
		if (waitpid(p->pid, &st, WNOHANG) != p->pid) {
			log_warnx("%s: still running %d ms after SIGTERM; SIGKILL", p->name, timeout_ms);
			signal_child(p, SIGKILL);
			/* Bounded: a child we may not signal (another user's)
			 * must not hang the daemon's exit. */
			pfd.revents = 0;
			if (pfd.fd >= 0)
				poll(&pfd, 1, 2000);
			if (waitpid(p->pid, &st, WNOHANG) != p->pid) {
				log_warnx("%s: pid %d could not be stopped; left running", p->name,
					  (int)p->pid);
				st = SIGKILL;
			}
		}
		p->state = PROC_STOPPING;
		child_exited(p, st);
	}
	if (p->state == PROC_WAITING)
		p->state = PROC_IDLE;
	proc_release(p);
}

static void iso(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void proc_describe(const struct proc *p, char *out, size_t len)
{
	char since[32], ex[32], last[PROC_LINE + 200] = "";

	iso(p->since, since, sizeof(since));
	iso(p->last_exit, ex, sizeof(ex));
	if (p->has_status)
		snprintf(last, sizeof(last), "; last exit: %s at %s%s%s", p->last_exit_text, ex,
			 p->last_line[0] && p->state != PROC_RUNNING ? ": " : "",
			 p->state != PROC_RUNNING ? p->last_line : "");
	switch (p->state) {
	case PROC_RUNNING:
		snprintf(out, len, "running (pid %d since %s, %u restarts%s)", (int)p->pid, since,
			 p->restarts, last);
		break;
	case PROC_WAITING:
		snprintf(out, len, "restarting (in %u ms, %u restarts so far%s)", p->backoff_ms,
			 p->restarts, last);
		break;
	case PROC_STOPPING:
		snprintf(out, len, "stopping (pid %d)", (int)p->pid);
		break;
	case PROC_EXITED:
		snprintf(out, len, "exited (%u restarts%s)", p->restarts, last);
		break;
	default:
		snprintf(out, len, p->starts ? "stopped" : "not started");
	}
}

/* proc_run_sync's loop: feed input, collect output, until the child closes
 * its output or the deadline passes (in_fd is closed in any case).
 * Returns 0, or -1 on timeout. */
static int pump(int in_fd, const char *input, int out_fd, char *out, size_t outlen, uint64_t deadline)
{
	size_t in_left = input ? strlen(input) : 0, got = 0;
	char scratch[512];
	int rc = 0;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = out_fd, .events = POLLIN },
					 { .fd = in_fd, .events = POLLOUT } };
		uint64_t now = ev_now_ms();
		if (!in_left && in_fd >= 0)
			close(in_fd), in_fd = pfd[1].fd = -1;   /* EOF on its stdin */
		if (now >= deadline) {
			rc = -1;
			break;
		}
		if (poll(pfd, 2, (int)(deadline - now)) < 0 && errno != EINTR)
			continue;
		if (pfd[1].revents) {
			ssize_t n = write(in_fd, input, in_left);
			if (n < 0 && errno != EAGAIN)
				in_left = 0;
			else if (n > 0)
				input += n, in_left -= (size_t)n;
		}
		if (pfd[0].revents) {
			int room = got + 1 < outlen;
			ssize_t n = read(out_fd, room ? out + got : scratch,
					 room ? outlen - 1 - got : sizeof(scratch));
			if (n <= 0)
				break;
			if (room)
				got += (size_t)n;
		}
	}
	if (outlen)
		out[got] = 0;
	if (in_fd >= 0)
		close(in_fd);
	return rc;
}

/* Reap pid within the deadline; SIGKILL after it.  Returns the wait status,
 * or -1 when it had to be killed. */
static int reap_by(pid_t pid, uint64_t deadline)
{
	int st, pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	uint64_t now;

	while (pfd >= 0 && (now = ev_now_ms()) < deadline &&
	       poll(&p, 1, (int)(deadline - now)) <= 0)
		;
	if (pfd >= 0)
		close(pfd);
	if (waitpid(pid, &st, WNOHANG) == pid)
		return st;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -1;
}

int proc_run_sync(char *const argv[], const char *input, int timeout_ms, char *out, size_t outlen,
		  char *err)
{
	return proc_run_sync_caps(argv, input, timeout_ms, 0, out, outlen, err);
}

int proc_run_sync_caps(char *const argv[], const char *input, int timeout_ms, uint64_t caps,
		       char *out, size_t outlen, char *err)
{
	char path[512];
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, st, rc;
	uint64_t deadline;
	pid_t pid;

	if (outlen)
		out[0] = 0;
	if (proc_find_program(argv[0], path, sizeof(path)) < 0) {
		snprintf(err, ERRLEN, "%s: not found in PATH", argv[0]);
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0) {
		snprintf(err, ERRLEN, "%s: pipe: %s", argv[0], strerror(errno));
		goto fail;
	}
	pid = spawn(path, argv, NULL, in[0], o[1], caps, NULL);
	close(in[0]);
	close(o[1]);
	if (pid < 0) {
		snprintf(err, ERRLEN, "%s: fork: %s", argv[0], strerror(errno));
		close(in[1]);
		close(o[0]);
		return -1;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	deadline = ev_now_ms() + (uint64_t)timeout_ms;
	rc = pump(in[1], input, o[0], out, outlen, deadline);
	close(o[0]);
	st = reap_by(pid, rc < 0 ? 0 : deadline);
	if (rc < 0 || st < 0) {
		snprintf(err, ERRLEN, "%s: not done within %d ms; killed", argv[0], timeout_ms);
		return -1;
	}
	return st;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (o[i] >= 0)
			close(o[i]);
	}
	return -1;
}
