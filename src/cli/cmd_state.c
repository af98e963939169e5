/* iphttps state | clients | reconnect | enable | disable | disconnect:
 * requests to the control socket of running instances, shown as
 * "Key : value" lines (the shape of Get-NetIPHttpsState) or as JSON.
 *
 * Exit status, the same for the text and the --json forms: 0 success; 1 no
 * instance answered or the instance refused; 2 a usage error, including a
 * command for the other role (e.g. `clients` of a client). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "ctl/ctl.h"

/* Which role each request is for (NULL: both). */
struct request {
	const char *cmd;
	const char *role;
	int json;               /* takes --json */
	int operand;            /* takes an operand after NAME (disconnect's ID|SUBJECT) */
	const char *help;
};

static const struct request requests[] = {
	{ "state", NULL, 1, 0, "status of running instances (Get-NetIPHttpsState's keys)" },
	{ "clients", "server", 1, 0, "a server's connected clients" },
	{ "reconnect", "client", 0, 0, "a client retries now, its reconnect timer reset" },
	{ "enable", "client", 0, 0, "a disabled client connects again" },
	{ "disable", "client", 0, 0, "a client drops its link and waits" },
	{ "disconnect", "server", 0, 1, "a server ends one client's connection (by Id or certificate subject)" },
};

const struct option ctl_cli_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "run-dir", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct ctl_args {
	const struct request *rq;
	int json;
	const char *run_dir;
	const char *name;
	const char *target;     /* disconnect's ID|SUBJECT */
};

static void usage(FILE *f, const struct request *rq)
{
	fprintf(f, "usage: iphttps %s %s[--run-dir DIR] [NAME]%s\n\n%s.\n\n"
		"NAME is the instance's TUN interface (its control socket is RUN_DIR/NAME.sock);\n"
		"without NAME, every running %s.\n\n", rq->cmd, rq->json ? "[--json] " : "",
		rq->operand ? " ID|SUBJECT" : "", rq->help, rq->role ? rq->role : "instance");
	if (rq->json)
		fprintf(f, "  --json         one JSON document (an array without NAME)\n");
	fprintf(f, "  --run-dir DIR  where the control sockets are (default /run/iphttps or\n"
		   "                 $IPHTTPS_RUN_DIR)\n"
		   "  -h, --help     this help\n\n"
		   "Exit status: 0 done; 1 no such instance running, or it refused; 2 usage error\n"
		   "(also a request for the other role).\n");
}

/* Options may stand anywhere among the operands.  -1 to go on, else an
 * exit status. */
static int parse_args(const struct request *rq, int argc, char **argv, struct ctl_args *a)
{
	int ch;

	memset(a, 0, sizeof(*a));
	a->rq = rq;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-h", ctl_cli_options, NULL)) != -1) {
		switch (ch) {
		case 'j':
			if (!rq->json)
				goto bad;
			a->json = 1;
			break;
		case 'r': a->run_dir = optarg; break;
		case 'h': usage(stdout, rq); return 0;
		case 1:
			if (!a->name) {
				a->name = optarg;
			} else if (rq->operand && !a->target) {
				a->target = optarg;
			} else {
				fprintf(stderr, "iphttps %s: unexpected argument '%s'\n", rq->cmd, optarg);
				return 2;
			}
			break;
		default:
			goto bad;
		}
	}
	if (rq->operand && !a->target) {
		/* One operand: it is the ID|SUBJECT, on the only server. */
		a->target = a->name;
		a->name = NULL;
		if (!a->target) {
			fprintf(stderr, "iphttps %s: give the client's Id or certificate subject "
				"(see iphttps clients)\n", rq->cmd);
			return 2;
		}
	}
	return -1;
bad:
	fprintf(stderr, "iphttps %s: unknown or incomplete option '%s' (see --help)\n", rq->cmd,
		argv[optind - 1]);
	return 2;
}

static void print_value(struct json_object *v)
{
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		if (!n)
			printf("-");
		for (size_t i = 0; i < n; i++)
			printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(v, i)));
	} else {
		const char *s = json_object_get_string(v);
		printf("%s", s && *s ? s : "-");
	}
}

/* "Key : value" lines, keys padded; nested objects as Parent.Key. */
static void print_object(struct json_object *o)
{
	int width = 0;

	json_object_object_foreach(o, k, v) {
		int w = (int)strlen(k);
		if (json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, k2, v2) {
				(void)v2;
				if ((int)(strlen(k) + 1 + strlen(k2)) > w)
					w = (int)(strlen(k) + 1 + strlen(k2));
			}
		}
		if (w > width)
			width = w;
	}
	json_object_object_foreach(o, key, val) {
		if (json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, k2, v2) {
				char full[128];
				snprintf(full, sizeof(full), "%s.%s", key, k2);
				printf("%-*s : ", width, full);
				print_value(v2);
				printf("\n");
			}
			continue;
		}
		printf("%-*s : ", width, key);
		print_value(val);
		printf("\n");
	}
}

static const char *str_of(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !(s = json_object_get_string(v)) || !*s)
		return dflt;
	return s;
}

static void print_clients(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-6s %-24s %-8s %-20s %-10s %-10s %-6s %s\n", "Id", "Peer", "State", "Since",
	       "RxBytes", "TxBytes", "Drops", "Subject / Addresses / TLS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(arr, i), *d;
		unsigned long long drops = 0;
		if (json_object_object_get_ex(c, "Drops", &d)) {
			json_object_object_foreach(d, k, dv) {
				(void)k;
				drops += (unsigned long long)json_object_get_uint64(dv);
			}
		}
		printf("%-6s %-24s %-8s %-20s %-10s %-10s %-6llu %s / ", str_of(c, "Id", "-"),
		       str_of(c, "Peer", "-"), str_of(c, "State", "-"), str_of(c, "Since", "-"),
		       str_of(c, "RxBytes", "0"), str_of(c, "TxBytes", "0"), drops,
		       str_of(c, "Subject", "-"));
		print_value(json_object_object_get(c, "Addresses"));
		printf(" / %s\n", str_of(c, "TLS", "-"));
	}
	if (!n)
		printf("(no clients)\n");
}

static void print_answer(const char *name, struct json_object *j, int label)
{
	if (json_object_is_type(j, json_type_array)) {
		if (label)
			printf("%s:\n", name);
		print_clients(j);
	} else {
		print_object(j);
	}
}

/* The instance's answer is an error: 2 when it is of the other role, else 1. */
static int refused(const struct ctl_args *a, const char *name, struct json_object *j)
{
	const char *role = str_of(j, "Role", NULL);

	fprintf(stderr, "iphttps %s: %s: %s\n", a->rq->cmd, name, str_of(j, "error", "refused"));
	return a->rq->role && role && strcmp(role, a->rq->role) ? 2 : 1;
}

static void request_line(const struct ctl_args *a, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", a->rq->cmd, a->target ? " " : "", a->target ? a->target : "");
}

/* One named instance. */
static int ask_one(const struct ctl_args *a, const char *run_dir)
{
	struct json_object *j;
	char err[ERRLEN], line[CTL_MAX_REQ];
	int rc = 0;

	request_line(a, line, sizeof(line));
	if (ctl_request(run_dir, a->name, line, 3000, &j, err) < 0) {
		fprintf(stderr, "iphttps %s: %s: %s\n", a->rq->cmd, a->name, err);
		return 1;
	}
	if (json_object_is_type(j, json_type_object) && json_object_object_get_ex(j, "error", NULL))
		rc = refused(a, a->name, j);
	else if (a->json)
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	else
		print_answer(a->name, j, 0);
	json_object_put(j);
	return rc;
}

/* Every running instance of the request's role. */
static int ask_all(const struct ctl_args *a, const char *run_dir)
{
	struct strlist names = { 0 };
	struct json_object *all = a->json ? json_object_new_array() : NULL;
	char line[CTL_MAX_REQ];
	int rc = 0, live = 0, other_role = 0;

	request_line(a, line, sizeof(line));
	ctl_list(run_dir, &names);
	for (size_t i = 0; i < names.n; i++) {
		struct json_object *j;
		char err[ERRLEN];
		const char *role;

		if (ctl_request(run_dir, names.v[i], line, 3000, &j, err) < 0)
			continue; /* a stale socket of an instance that died */
		role = json_object_is_type(j, json_type_object) ? str_of(j, "Role", NULL) : NULL;
		if (json_object_is_type(j, json_type_object) && json_object_object_get_ex(j, "error", NULL)) {
			if (a->rq->role && role && strcmp(role, a->rq->role))
				other_role++;   /* not one this request is for */
			else
				rc = refused(a, names.v[i], j);
			json_object_put(j);
			continue;
		}
		if (all) {
			if (json_object_is_type(j, json_type_array)) {
				struct json_object *w = json_object_new_object();
				json_object_object_add(w, "Interface", json_object_new_string(names.v[i]));
				json_object_object_add(w, "Clients", j);
				j = w;
			}
			json_object_array_add(all, j);
			live++;
			continue;
		}
		if (live++)
			printf("\n");
		print_answer(names.v[i], j, 1);
		json_object_put(j);
	}
	if (all) {
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY));
		json_object_put(all);
	}
	if (!live && !rc) {
		fprintf(stderr, "iphttps %s: no running %s%s (in %s)\n", a->rq->cmd,
			a->rq->role ? a->rq->role : "iphttps instance",
			other_role ? " (only instances of the other role)" : "", run_dir);
		rc = 1;
	}
	strlist_free(&names);
	return rc;
}

static int run(const char *cmd, int argc, char **argv)
{
	const struct request *rq = NULL;
	struct ctl_args a;
	int r;

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (!strcmp(requests[i].cmd, cmd))
			rq = &requests[i];
	if ((r = parse_args(rq, argc, argv, &a)) >= 0)
		return r;
	return a.name ? ask_one(&a, ctl_run_dir(a.run_dir)) : ask_all(&a, ctl_run_dir(a.run_dir));
}

int cmd_state(int argc, char **argv)
{
	return run("state", argc, argv);
}

int cmd_clients(int argc, char **argv)
{
	return run("clients", argc, argv);
}

int cmd_reconnect(int argc, char **argv)
{
	return run("reconnect", argc, argv);
}

int cmd_enable(int argc, char **argv)
{
	return run("enable", argc, argv);
}

int cmd_disable(int argc, char **argv)
{
	return run("disable", argc, argv);
}

int cmd_disconnect(int argc, char **argv)
{
	return run("disconnect", argc, argv);
}
