/* iphttps state | clients | reconnect | enable | disable: requests to the
 * control socket of running instances, shown as "Key : value" lines (the
 * shape of Get-NetIPHttpsState) or as JSON. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "ctl/ctl.h"

struct ctl_args {
	int json;
	char *run_dir;
	const char *name;
};

static int parse_args(const char *cmd, int argc, char **argv, struct ctl_args *a, int allow_json)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (allow_json && !strcmp(argv[i], "--json")) {
			a->json = 1;
		} else if (!strcmp(argv[i], "--run-dir") && i + 1 < argc) {
			a->run_dir = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: iphttps %s %s[--run-dir DIR] [NAME]\n\n"
			       "NAME is the instance's TUN interface (its control socket is RUN_DIR/NAME.sock);\n"
			       "without NAME, every running instance.\n", cmd, allow_json ? "[--json] " : "");
			return 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "iphttps %s: unknown option '%s'\n", cmd, argv[i]);
			return -1;
		} else if (!a->name) {
			a->name = argv[i];
		} else {
			fprintf(stderr, "iphttps %s: one NAME at most\n", cmd);
			return -1;
		}
	}
	return 0;
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

static void print_clients(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-6s %-24s %-8s %-20s %-10s %-10s %-6s %s\n", "Id", "Peer", "State", "Since",
	       "RxBytes", "TxBytes", "Drops", "Addresses / TLS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(arr, i), *v, *d;
		unsigned long long drops = 0;
		const char *since = "-";
		if (json_object_object_get_ex(c, "Drops", &d)) {
			json_object_object_foreach(d, k, dv) {
				(void)k;
				drops += (unsigned long long)json_object_get_uint64(dv);
			}
		}
		if (json_object_object_get_ex(c, "Since", &v))
			since = json_object_get_string(v);
		printf("%-6s %-24s %-8s %-20s %-10s %-10s %-6llu ",
		       json_object_get_string(json_object_object_get(c, "Id")),
		       json_object_get_string(json_object_object_get(c, "Peer")),
		       json_object_get_string(json_object_object_get(c, "State")), since,
		       json_object_get_string(json_object_object_get(c, "RxBytes")),
		       json_object_get_string(json_object_object_get(c, "TxBytes")), drops);
		print_value(json_object_object_get(c, "Addresses"));
		printf(" / %s\n", json_object_get_string(json_object_object_get(c, "TLS")));
	}
	if (!n)
		printf("(no clients)\n");
}

/* Ask one instance; print; 0 ok, 1 failed. */
static int ask(const char *run_dir, const char *name, const char *cmd, int json,
	       struct json_object *collect)
{
	struct json_object *j;
	char err[ERRLEN];

	if (ctl_request(run_dir, name, cmd, 3000, &j, err) < 0) {
		fprintf(stderr, "iphttps %s: %s\n", cmd, err);
		return 1;
	}
	if (collect) {
		json_object_array_add(collect, j);
		return 0;
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	else if (json_object_is_type(j, json_type_array))
		print_clients(j);
	else
		print_object(j);
	json_object_put(j);
	return 0;
}

static int run(const char *cmd, int argc, char **argv, int allow_json)
{
	struct ctl_args a;
	struct strlist names = { 0 };
	struct json_object *all = NULL;
	const char *run_dir;
	int r = parse_args(cmd, argc, argv, &a, allow_json), rc = 0, live = 0;

	if (r)
		return r > 0 ? 0 : 2;
	run_dir = ctl_run_dir(a.run_dir);
	if (a.name)
		return ask(run_dir, a.name, cmd, a.json, NULL);
	ctl_list(run_dir, &names);
	if (a.json)
		all = json_object_new_array();
	for (size_t i = 0; i < names.n; i++) {
		struct json_object *j;
		char err[ERRLEN];
		if (ctl_request(run_dir, names.v[i], cmd, 3000, &j, err) < 0)
			continue; /* a stale socket of an instance that died */
		live++;
		if (all) {
			json_object_array_add(all, j);
			continue;
		}
		if (live > 1)
			printf("\n");
		if (json_object_is_type(j, json_type_array))
			printf("%s:\n", names.v[i]);
		if (json_object_is_type(j, json_type_array))
			print_clients(j);
		else
			print_object(j);
		json_object_put(j);
	}
	if (all) {
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY));
		json_object_put(all);
	} else if (!live) {
		fprintf(stderr, "iphttps %s: no running iphttps instance (in %s)\n", cmd, run_dir);
		rc = 1;
	}
	strlist_free(&names);
	return rc;
}

int cmd_state(int argc, char **argv)
{
	return run("state", argc, argv, 1);
}

int cmd_clients(int argc, char **argv)
{
	return run("clients", argc, argv, 1);
}

int cmd_reconnect(int argc, char **argv)
{
	return run("reconnect", argc, argv, 0);
}

int cmd_enable(int argc, char **argv)
{
	return run("enable", argc, argv, 0);
}

int cmd_disable(int argc, char **argv)
{
	return run("disable", argc, argv, 0);
}
