/*
 * main.c - zeusd's entry point: the subcommands (serve, token issue) and the serve startup
 * and shutdown sequence.
 *
 * Startup, in zeusd's order (spec 1.2): privilege check -> signing key -> devices (GPU
 * queues and pollers when a GPU group is on, CPU ones for cpu-read) -> discovery record ->
 * bind -> serve until SIGINT or SIGTERM. Shutdown runs it backwards: stream readers are
 * released, the HTTP server stops (joining its connection threads), the socket file is
 * removed, the queues drain and stop, the pollers stop, and the devices close.
 *
 * The daemon opens devices with libzeus as a plain local user of the hardware: it clears
 * ZEUSD_SOCK_PATH / ZEUSD_HOST_PORT / ZEUSD_TOKEN (it must not talk to itself),
 * CUDA_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES (zeusd serves every GPU of the node, NVIDIA
 * ones by their NVML index) before zeus_devices_create(); gpus.c then picks the GPUs
 * --gpu-backend names.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "zeusd.h"

static const char main_help[] =
    "NAME\n"
    "    zeusd - the Zeus node daemon (Zeus-C)\n"
    "\n"
    "SYNOPSIS\n"
    "    zeusd serve [OPTIONS]        serve the HTTP API (see zeusd serve --help)\n"
    "    zeusd token issue [OPTIONS]  print an access token (see zeusd token issue --help)\n"
    "    zeusd --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    A privileged daemon that lets unprivileged jobs read CPU (RAPL) energy and GPU power\n"
    "    and energy, and set GPU power limits, clocks and persistence mode, over HTTP on a\n"
    "    Unix socket or TCP. It speaks the API of Zeus's zeusd, so Zeus's Python client and\n"
    "    Zeus-C's library (ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT, ZEUSD_TOKEN) both use it.\n";

/* ---- Startup pieces ------------------------------------------------------------------------ */

static int privilege_check(const struct zd_config *cfg)
{
    char need[64] = "";

    if (geteuid() == 0)
        return 0;
    for (unsigned i = 0; i < cfg->group_count; i++)
        if (cfg->groups[i] == ZD_GROUP_GPU_CONTROL || cfg->groups[i] == ZD_GROUP_CPU_READ)
            snprintf(need + strlen(need), sizeof need - strlen(need), "%s%s", need[0] ? ", " : "",
                     zd_group_name(cfg->groups[i]));
    if (need[0] == '\0')
        return 0;
    zd_error("API group(s) %s require root privileges, and zeusd is not running as root "
             "(effective uid %u). Run it as root, or leave them out with --enable (for "
             "example --enable gpu-read).", need, (unsigned)geteuid());
    return -1;
}

/*
 * Beyond Zeus's four keys (its clients ignore extra ones): the vendor's backend, and what
 * the GPU's power and energy cover. power_scope "module" is a Grace Hopper superchip whose
 * driver reports CPU + GPU together; mig true is a GPU in MIG mode, whose values are the
 * whole physical GPU's, every slice on it included. A client dividing energy among jobs
 * needs both, and nothing in Zeus's keys says so.
 */
static void add_gpu_scope(cJSON *g, const struct zd_gpu_meta *m)
{
    cJSON_AddStringToObject(g, "backend", m->backend != NULL ? m->backend : "");
    cJSON_AddStringToObject(g, "power_scope",
                            (m->supports & ZEUS_GPU_MODULE_SCOPE) ? "module" : "gpu");
    cJSON_AddBoolToObject(g, "mig", (m->supports & ZEUS_GPU_MIG) != 0);
}

static char *build_discovery(const struct zd_server *srv)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *gpus = cJSON_AddArrayToObject(o, "gpus"), *cpus = cJSON_AddArrayToObject(o, "cpus");
    cJSON *groups = cJSON_AddArrayToObject(o, "enabled_api_groups");
    char *json;

    for (unsigned i = 0; i < srv->gpu_count; i++) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddNumberToObject(g, "id", i);
        cJSON_AddStringToObject(g, "name", srv->gpus[i].name);
        cJSON_AddStringToObject(g, "pci_address", srv->gpus[i].pci_address);
        cJSON_AddBoolToObject(g, "cumulative_energy_available", srv->gpus[i].energy_available);
        add_gpu_scope(g, &srv->gpus[i]);
        cJSON_AddItemToArray(gpus, g);
    }
    for (unsigned i = 0; i < srv->cpu_count; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "id", i);
        cJSON_AddBoolToObject(c, "dram_available", srv->cpu_has_dram[i]);
        cJSON_AddItemToArray(cpus, c);
    }
    for (unsigned i = 0; i < srv->cfg->group_count; i++)
        cJSON_AddItemToArray(groups, cJSON_CreateString(zd_group_name(srv->cfg->groups[i])));
    cJSON_AddBoolToObject(o, "auth_required", srv->key != NULL);
    json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

static void log_backends(const zeus_devices *devs)
{
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        zeus_backend_info bi;
        if (zeus_devices_backend_info(devs, i, &bi) == ZEUS_OK)
            zd_info("backend %s: %s (%u device%s): %s", bi.name,
                    bi.status == ZEUS_OK ? "open" : zeus_status_name(bi.status), bi.device_count,
                    bi.device_count == 1 ? "" : "s", bi.detail);
    }
}

static int open_devices(struct zd_server *srv)
{
    const struct zd_config *cfg = srv->cfg;
    char name[32];

    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("ZEUSD_HOST_PORT");
    unsetenv("ZEUSD_TOKEN");
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("HIP_VISIBLE_DEVICES");
    zd_gpus_library_env();
    if (zeus_devices_create(&srv->devs) != ZEUS_OK) {
        zd_error("cannot open devices: %s", zeus_last_error());
        return -1;
    }
    log_backends(srv->devs);
    if (cfg->group_mask & (ZD_GROUP_GPU_CONTROL | ZD_GROUP_GPU_READ)) {
        if (zd_gpus_select(srv) != 0)
            return -1;
        if (srv->gpu_count == 0)
            zd_warn("no GPUs found; the GPU routes will have no devices");
    }
    if (cfg->group_mask & ZD_GROUP_CPU_READ) {
        srv->cpu_count = zeus_devices_cpu_count(srv->devs);
        if (srv->cpu_count == 0)
            zd_warn("no RAPL packages found; the CPU routes will have no devices");
    }
    for (unsigned i = 0; i < srv->gpu_count; i++) {
        snprintf(name, sizeof name, "gpu%u", i);
        if (zd_queue_create(name, &srv->gpu_queue[i]) != 0)
            return -1;
    }
    for (unsigned i = 0; i < srv->cpu_count; i++) {
        zeus_cpu_info info;
        srv->cpu_has_dram[i] = zeus_cpu_get_info(srv->devs, i, &info) == ZEUS_OK && info.has_dram;
        snprintf(name, sizeof name, "cpu%u", i);
        if (zd_queue_create(name, &srv->cpu_queue[i]) != 0)
            return -1;
    }
    if ((cfg->group_mask & ZD_GROUP_GPU_READ) &&
        zd_hub_create(srv, ZD_HUB_GPU, srv->gpu_count, cfg->gpu_poll_hz, &srv->gpu_hub) != 0)
        return -1;
    if ((cfg->group_mask & ZD_GROUP_CPU_READ) &&
        zd_hub_create(srv, ZD_HUB_CPU, srv->cpu_count, cfg->cpu_poll_hz, &srv->cpu_hub) != 0)
        return -1;
    return 0;
}

static void close_server(struct zd_server *srv)
{
    for (unsigned i = 0; i < ZEUS_MAX_GPUS; i++)
        zd_queue_destroy(srv->gpu_queue[i]);
    for (unsigned i = 0; i < ZEUS_MAX_CPUS; i++)
        zd_queue_destroy(srv->cpu_queue[i]);
    zd_hub_destroy(srv->gpu_hub);
    zd_hub_destroy(srv->cpu_hub);
    zeus_devices_destroy(srv->devs);
    free(srv->discover_json);
    free(srv->key);
}

/* ---- serve --------------------------------------------------------------------------------- */

static int serve_main(int argc, char **argv)
{
    struct zd_config cfg;
    struct zd_server srv;
    struct zd_http *http = NULL;
    sigset_t stop;
    int rc, fd, sig = 0;

    rc = zd_config_parse(argc, argv, &cfg);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    /* Every thread (libzeus's, MHD's, ours) inherits this mask; main waits with sigwait. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&srv, 0, sizeof srv);
    srv.cfg = &cfg;
    if (privilege_check(&cfg) != 0)
        return 1;
    if (cfg.signing_key_path[0] != '\0') {
        srv.key = zd_read_signing_key(cfg.signing_key_path, &srv.key_len);
        if (srv.key == NULL) {
            zd_error("cannot read signing key %s: %s", cfg.signing_key_path, strerror(errno));
            return 1;
        }
        if (srv.key_len == 0) {
            zd_error("signing key %s is empty", cfg.signing_key_path);
            free(srv.key);
            return 1;
        }
        zd_info("token authentication is on (key %s)", cfg.signing_key_path);
    } else if (cfg.mode == ZD_MODE_TCP) {
        zd_warn("serving TCP without --signing-key-path: anyone who can reach %s can use "
                "every enabled API group", cfg.tcp_bind_address);
    }
    if (open_devices(&srv) != 0) {
        close_server(&srv);
        return 1;
    }
    srv.discover_json = build_discovery(&srv);
    fd = zd_listen_open(&cfg);
    if (fd < 0 || zd_http_start(&srv, fd, &http) != 0) { /* zd_http_start took fd */
        if (fd >= 0)
            zd_error("cannot start the HTTP server");
        close_server(&srv);
        return 1;
    }
    zd_info("zeusd %s serving %u GPU(s), %u CPU package(s); groups: %s%s%s%s%s; workers: %u "
            "requested (one thread per connection)", zeus_version(), srv.gpu_count,
            srv.cpu_count, cfg.group_count > 0 ? zd_group_name(cfg.groups[0]) : "none",
            cfg.group_count > 1 ? "," : "", cfg.group_count > 1 ? zd_group_name(cfg.groups[1]) : "",
            cfg.group_count > 2 ? "," : "", cfg.group_count > 2 ? zd_group_name(cfg.groups[2]) : "",
            cfg.num_workers ? cfg.num_workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
    sigwait(&stop, &sig);
    zd_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    zd_hub_shutdown(srv.gpu_hub);
    zd_hub_shutdown(srv.cpu_hub);
    zd_http_stop(http); /* MHD closes the listening socket it was given */
    if (cfg.mode == ZD_MODE_UDS)
        unlink(cfg.socket_path);
    close_server(&srv);
    zd_info("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("zeusd %s\n", zeus_version());
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "token") == 0)
        return zd_token_main(argc - 1, argv + 1);
    fprintf(stderr, "zeusd: unknown subcommand '%s'\nTry 'zeusd --help'.\n", argv[1]);
    return 2;
}
