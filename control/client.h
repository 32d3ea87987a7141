/* sluicectl's side of sluice-control's socket (docs/control.md, "sluicectl"). */
#ifndef SLUICECTL_CLIENT_H
#define SLUICECTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit statuses of the commands that talk to sluice-control. */
enum {
	CLIENT_OK = 0,
	CLIENT_FAILED = 1,      /* refused, not compiled, an error */
	CLIENT_USAGE = 2,
	CLIENT_PENDING = 3,     /* accepted; some dataplanes get it when they answer again */
	CLIENT_NO_CONTROL = 4,  /* sluice-control is not running (or not reachable) */
};

/* The control socket: --socket PATH (sluicectl.c puts it in SLUICE_CONTROL_SOCKET), else
 * /run/sluice/control.sock. */
const char *client_socket(void);

/* {"op": op} to fill in. */
json_t *client_request(const char *op);

/* Send the request and wait for the answer (timeout_ms for each wait). The answer, ok or
 * not (decref it), or NULL after printing why on stderr with *status set (CLIENT_NO_CONTROL
 * when sluice-control could not be reached). A body that came back goes to *abody. */
json_t *client_call(const char *what, json_t *req, const void *body, size_t blen, int timeout_ms,
                    uint8_t **abody, size_t *ablen, int *status);

/* client_call for a read-only request: the answer only when it is ok (else the error is
 * printed and *status says why). Takes `req`. */
json_t *client_query(const char *what, json_t *req, uint8_t **abody, size_t *ablen, int *status);

/* A per-dataplane answer's "errors": {NAME: text} on stderr; true when there were any. */
bool client_print_errors(const char *what, const json_t *answer);

/* The answer's "error" on stderr as "sluicectl WHAT: ERROR"; CLIENT_FAILED. */
int client_fail(const char *what, const json_t *answer);

/* Each dataplane's result of a change ({dataplane, result, detail, swap_ms, put_back});
 * version: the one pushed, or -1 for a knob. */
void client_print_results(const json_t *results, long long version);
/* The exit status of a change's answer: OK, PENDING or FAILED. */
int client_change_status(const json_t *answer);

/* Send a change that every dataplane answers (takes req; a minute's wait) and print each
 * one's result ({dataplane, result, detail or answer}); the exit status (OK, or FAILED
 * with the error printed). */
int client_change(const char *what, json_t *req);

/* Options many commands share: --dataplane NAME (repeatable) into req's "dataplanes";
 * true when argv[*i] was one (and *i moved past its value). */
bool client_dataplane_opt(json_t *req, int argc, char **argv, int *i);

/* The options of a change (push, rollback): --comment TEXT, --timeout SECONDS and
 * --dataplane NAME; true when argv[*i] was one of them. */
bool client_change_opt(json_t *req, int argc, char **argv, int *i, int *timeout_s);

/* "3d04h", "12m05s", "7s" */
void client_duration(long long s, char *out, size_t len);

#endif
