/*
 * config.c - `zeusd serve` command line: Zeus's flags, their defaults, and the --help page.
 *
 * Flags take their value as "--flag value" or "--flag=value", as clap accepts them. A flag
 * zeusd has for another platform (--pipe-name, --pipe-sddl) or a feature this build lacks
 * (--gpu-command-overrides) is refused with a message rather than ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeusd.h"

static const char serve_help[] =
    "NAME\n"
    "    zeusd serve - run the Zeus node daemon\n"
    "\n"
    "SYNOPSIS\n"
    "    zeusd serve [--mode uds|tcp] [--socket-path PATH] [--socket-permissions OCTAL]\n"
    "                [--socket-uid UID] [--socket-gid GID] [--tcp-bind-address HOST:PORT]\n"
    "                [--num-workers N] [--gpu-power-poll-hz HZ] [--cpu-power-poll-hz HZ]\n"
    "                [--gpu-backend auto|nvml|amdsmi] [--enable GROUP[,GROUP...]]\n"
    "                [--signing-key-path PATH] [--request-deadline-ms MS]\n"
    "                [--max-connections-per-client N]\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves Zeus's HTTP API (the same routes and bodies as Zeus's Rust zeusd) so that\n"
    "    unprivileged jobs can read RAPL energy and set GPU power limits and clocks.\n"
    "\n"
    "OPTIONS\n"
    "    --mode uds|tcp            Transport (default uds).\n"
    "    --socket-path PATH        Unix socket (default /run/zeusd/zeusd.sock). Missing parent\n"
    "                              folders are created. A stale socket is removed; a socket\n"
    "                              another daemon answers on, or a non-socket file, is fatal.\n"
    "    --socket-permissions OCT  Mode of the socket file, octal (default 666).\n"
    "    --socket-uid UID          chown the socket to this user id.\n"
    "    --socket-gid GID          chown the socket to this group id.\n"
    "    --tcp-bind-address ADDR   TCP address (default 127.0.0.1:4938). Plain HTTP, no TLS.\n"
    "    --num-workers N           Accepted for compatibility; each connection has its own\n"
    "                              thread (default: number of logical CPUs).\n"
    "    --gpu-power-poll-hz HZ    GPU rate of /gpu/stream_power (default 20).\n"
    "    --cpu-power-poll-hz HZ    CPU rate of /cpu/stream_power and the gap between the two\n"
    "                              reads of /cpu/get_power (default 10).\n"
    "    --gpu-backend auto|nvml|amdsmi\n"
    "                              GPU library (default auto): nvml serves NVIDIA GPUs only,\n"
    "                              amdsmi AMD GPUs only, and either fails at startup when\n"
    "                              its library cannot be loaded. auto serves whichever load;\n"
    "                              with both, NVIDIA GPUs come first (ids 0.. as NVML numbers\n"
    "                              them) and AMD GPUs follow (clients find them by PCI\n"
    "                              address).\n"
    "    --enable GROUPS           API groups, comma-separated (default\n"
    "                              gpu-control,gpu-read,cpu-read). gpu-control and cpu-read\n"
    "                              need root.\n"
    "    --signing-key-path PATH   HMAC key file: turns on token authentication. Issue tokens\n"
    "                              with `zeusd token issue`.\n"
    "    --request-deadline-ms MS  A request must arrive whole (headers and body) within MS\n"
    "                              of its connection opening, or of the previous answer on\n"
    "                              a kept-alive connection; later ones are closed\n"
    "                              (default 10000). Answering (an SSE stream) has no limit.\n"
    "    --max-connections-per-client N\n"
    "                              Connections one client may hold at once: a uid on the Unix\n"
    "                              socket, an IP address on TCP (default 64). Root on the\n"
    "                              Unix socket is not capped, and 16 of the 512 connection\n"
    "                              slots are kept for it, so an operator always gets in.\n"
    "    -h, --help                Show this page.\n"
    "\n"
    "ENVIRONMENT\n"
    "    ZEUS_NVML_LIBRARY, ZEUS_AMDSMI_LIBRARY, ZEUS_SYSFS_ROOT\n"
    "                              where libzeus finds NVML, AMD SMI and the RAPL tree.\n"
    "    AMDSMI_LIB_DIR            Zeus's: a folder holding libamd_smi.so (or .so.25, .so.24,\n"
    "                              .so.26), used when ZEUS_AMDSMI_LIBRARY is unset.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after SIGINT or SIGTERM, 1 when startup fails, 2 for a bad command line.\n";

static int bad(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "zeusd serve: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nTry 'zeusd serve --help'.\n");
    return -1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_groups(const char *list, struct zd_config *cfg)
{
    const char *p = list;

    cfg->group_count = 0;
    cfg->group_mask = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        unsigned g = zd_group_parse(p, len);

        if (g == ZD_GROUP_NONE) {
            fprintf(stderr, "zeusd serve: invalid value '%.*s' for '--enable': possible values: "
                            "gpu-control, gpu-read, cpu-read\n", (int)len, p);
            return -1;
        }
        if (!(cfg->group_mask & g))
            cfg->groups[cfg->group_count++] = g;
        cfg->group_mask |= g;
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

int zd_config_parse(int argc, char **argv, struct zd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = ZD_MODE_UDS;
    snprintf(cfg->socket_path, sizeof cfg->socket_path, "/run/zeusd/zeusd.sock");
    cfg->socket_mode = 0666;
    cfg->socket_uid = -1;
    cfg->socket_gid = -1;
    snprintf(cfg->tcp_bind_address, sizeof cfg->tcp_bind_address, "127.0.0.1:4938");
    cfg->gpu_poll_hz = 20;
    cfg->cpu_poll_hz = 10;
    cfg->request_deadline_ms = 10000;
    cfg->max_per_client = 64;
    parse_groups("gpu-control,gpu-read,cpu-read", cfg);

    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *arg = argv[i], *value, *eq;
        unsigned long long n;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(serve_help, stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0)
            return bad("unexpected argument '%s'%s", arg, "");
        eq = strchr(arg, '=');
        if (eq != NULL) {
            snprintf(flag, sizeof flag, "%.*s", (int)(eq - arg), arg);
            value = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", arg);
            if (i + 1 >= argc)
                return bad("a value is required for '%s'%s", flag, "");
            value = argv[++i];
        }

        if (strcmp(flag, "--mode") == 0) {
            if (strcmp(value, "uds") == 0)
                cfg->mode = ZD_MODE_UDS;
            else if (strcmp(value, "tcp") == 0)
                cfg->mode = ZD_MODE_TCP;
            else
                return bad("invalid value '%s' for '--mode': possible values: uds, tcp%s", value,
                           "");
        } else if (strcmp(flag, "--socket-path") == 0) {
            if (*value == '\0' || strlen(value) >= sizeof cfg->socket_path)
                return bad("invalid value '%s' for '%s'", value, flag);
            snprintf(cfg->socket_path, sizeof cfg->socket_path, "%s", value);
        } else if (strcmp(flag, "--socket-permissions") == 0) {
            char *end;
            unsigned long mode;
            errno = 0;
            mode = strtoul(value, &end, 8);
            if (*value < '0' || *value > '7' || *end != '\0' || errno != 0 || mode > 07777)
                return bad("Failed to parse socket permissions '%s' (an octal mode such as "
                           "666)%s", value, "");
            cfg->socket_mode = (unsigned)mode;
        } else if (strcmp(flag, "--socket-uid") == 0 || strcmp(flag, "--socket-gid") == 0) {
            if (parse_uint(value, UINT32_MAX, &n) != 0)
                return bad("invalid value '%s' for '%s': a number is expected", value, flag);
            if (flag[9] == 'u')
                cfg->socket_uid = (long long)n;
            else
                cfg->socket_gid = (long long)n;
        } else if (strcmp(flag, "--tcp-bind-address") == 0) {
            if (*value == '\0' || strlen(value) >= sizeof cfg->tcp_bind_address)
                return bad("invalid value '%s' for '%s'", value, flag);
            snprintf(cfg->tcp_bind_address, sizeof cfg->tcp_bind_address, "%s", value);
        } else if (strcmp(flag, "--num-workers") == 0) {
            if (parse_uint(value, 4096, &n) != 0 || n == 0)
                return bad("invalid value '%s' for '%s': a number from 1 to 4096 is expected",
                           value, flag);
            cfg->num_workers = (unsigned)n;
        } else if (strcmp(flag, "--gpu-power-poll-hz") == 0 ||
                   strcmp(flag, "--cpu-power-poll-hz") == 0) {
            if (parse_uint(value, 1000000, &n) != 0 || n == 0)
                return bad("invalid value '%s' for '%s': a rate from 1 to 1000000 Hz is "
                           "expected", value, flag);
            if (flag[2] == 'g')
                cfg->gpu_poll_hz = (unsigned)n;
            else
                cfg->cpu_poll_hz = (unsigned)n;
        } else if (strcmp(flag, "--request-deadline-ms") == 0) {
            if (parse_uint(value, 3600000, &n) != 0 || n < 100)
                return bad("invalid value '%s' for '%s': milliseconds from 100 to 3600000 are "
                           "expected", value, flag);
            cfg->request_deadline_ms = (unsigned)n;
        } else if (strcmp(flag, "--max-connections-per-client") == 0) {
            if (parse_uint(value, 496, &n) != 0 || n == 0)
                return bad("invalid value '%s' for '%s': a number from 1 to 496 is expected",
                           value, flag);
            cfg->max_per_client = (unsigned)n;
        } else if (strcmp(flag, "--gpu-backend") == 0) {
            if (strcmp(value, "auto") == 0)
                cfg->gpu_backend = ZD_GPU_BACKEND_AUTO;
            else if (strcmp(value, "nvml") == 0)
                cfg->gpu_backend = ZD_GPU_BACKEND_NVML;
            else if (strcmp(value, "amdsmi") == 0)
                cfg->gpu_backend = ZD_GPU_BACKEND_AMDSMI;
            else
                return bad("invalid value '%s' for '--gpu-backend': possible values: auto, "
                           "nvml, amdsmi%s", value, "");
        } else if (strcmp(flag, "--enable") == 0) {
            if (parse_groups(value, cfg) != 0)
                return -1;
        } else if (strcmp(flag, "--signing-key-path") == 0) {
            if (*value == '\0' || strlen(value) >= sizeof cfg->signing_key_path)
                return bad("invalid value '%s' for '%s'", value, flag);
            snprintf(cfg->signing_key_path, sizeof cfg->signing_key_path, "%s", value);
        } else if (strcmp(flag, "--gpu-command-overrides") == 0) {
            return bad("--gpu-command-overrides is not supported by this zeusd yet%s%s", "", "");
        } else if (strcmp(flag, "--pipe-name") == 0 || strcmp(flag, "--pipe-sddl") == 0) {
            return bad("%s is for Windows named pipes, which this zeusd does not serve%s", flag,
                       "");
        } else {
            return bad("unexpected argument '%s'%s", flag, "");
        }
    }
    return 0;
}
