/*
 * cli_support.h - Running the real `zeus` binary from the integration tests: spawn it with
 * arguments, capture its stdout and stderr, and report its exit status as a shell would.
 *
 * The binary is $ZEUS_CLI (set by CTest). It inherits the test's environment, so a test sets
 * ZEUS_FAKE_NVML (and CUDA_VISIBLE_DEVICES) with setenv() before spawning.
 */
#ifndef ZEUS_CLI_SUPPORT_H
#define ZEUS_CLI_SUPPORT_H

#include <sys/types.h>

/* One run of the binary. `out` and `err` are filled by zt_cli_finish(). */
struct zt_cli {
    pid_t pid;
    char out_path[64];
    char err_path[64];
    int status; /* exit status, or 128 + the signal that killed it */
    char *out;  /* what it printed on stdout, NUL-terminated */
    char *err;  /* and on stderr */
};

/* Start `$ZEUS_CLI arg...` (NULL-terminated). Fails the test when it cannot be spawned. */
void zt_cli_start(struct zt_cli *c, const char *arg, ...) __attribute__((sentinel));

/*
 * Wait for it (killing it after `timeout_s`, which fails the test) and read its output.
 */
void zt_cli_finish(struct zt_cli *c, double timeout_s);

/* zt_cli_start + zt_cli_finish with a 60 s limit. */
void zt_cli_run(struct zt_cli *c, const char *arg, ...) __attribute__((sentinel));

/*
 * Wait until what the running binary printed so far, on stdout or stderr, contains `text`
 * (so it, or the command it measures, has got that far). Fails the test after `timeout_s`.
 */
void zt_cli_wait_for_output(struct zt_cli *c, const char *text, double timeout_s);

/* Free the captured output and remove the capture files. */
void zt_cli_free(struct zt_cli *c);

/*
 * A server command started with --listen 127.0.0.1:0 (bso-server, pfo-server): wait until it
 * says "serving http://127.0.0.1:PORT" and return PORT. Fails the test otherwise.
 */
int zt_cli_served_port(struct zt_cli *c, double timeout_s);

/*
 * Stop a running server command with SIGTERM: it must exit 0 (its stderr is shown, under
 * `name`, when not). Then free its output. A command that already ended is only freed.
 */
void zt_cli_stop_server(struct zt_cli *c, const char *name);

/* Path of an executable the tests use, from the environment (ZEUS_DEMO_LOAD, ...). */
const char *zt_env_path(const char *name);

#endif /* ZEUS_CLI_SUPPORT_H */
