/* The control socket's answers for a server (status.c): state, clients. */
#ifndef IPHTTPS_SERVER_STATUS_H
#define IPHTTPS_SERVER_STATUS_H

struct json_object;
struct json_object *server_ctl(void *arg, const char *cmd);

#endif
