/*
 * show_env.c - `zeus show-env`: what Zeus-C sees on this machine, for bug reports and for
 * scripts that must decide whether there is a GPU (scripts/run-demo.sh).
 *
 * The text output follows Zeus's `python -m zeus.show_env` (sections, CUDA_VISIBLE_DEVICES
 * or [NOT SET], framework-to-physical GPU numbering); --json carries the same content as one
 * object. Every GPU query may fail on its own (not supported, no permission); a failed one
 * is shown as absent, never as zero, and never stops the listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "NAME\n"
    "    zeus show-env - show the devices Zeus-C finds and what each supports\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus show-env [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the Zeus-C version, CUDA_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES, each\n"
    "    backend (nvml for NVIDIA GPUs, amdsmi for AMD GPUs, rapl for CPU packages) and\n"
    "    whether it opened or why not, then each GPU (its framework and physical index,\n"
    "    name, vendor, UUID, architecture, energy counter, power\n"
    "    domains, temperature, power limit and range, persistence mode) and each CPU package\n"
    "    (name, sysfs folder, whether it has a DRAM zone), then the SoC (an NVIDIA Jetson's\n"
    "    INA3221 rails: cpu, gpu, total). Apple Silicon and Windows are not supported by\n"
    "    this build, and show-env says so there.\n"
    "\n"
    "OPTIONS\n"
    "    --json        Print the same content as one JSON object on stdout:\n"
    "                  {\"version\", \"cuda_visible_devices\" (null when not set),\n"
    "                   \"hip_visible_devices\" (likewise),\n"
    "                   \"backends\": [{\"name\", \"kind\", \"found\", \"status\", \"error\",\n"
    "                   \"detail\", \"device_count\"}], \"gpus\": [...], \"cpus\": [...],\n"
    "                   \"socs\": [{\"index\", \"name\", \"period_s\", \"rails\": {\"cpu\":\n"
    "                   {\"label\", \"path\"} or null, \"gpu\", \"total\"}}],\n"
    "                   \"soc_not_supported\" (only on Apple Silicon and Windows)}\n"
    "    -h, --help    Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when the listing was printed, even if no device was found; 1 when the devices\n"
    "    could not be opened; 2 for a bad option.\n"
    "\n"
    "ENVIRONMENT\n"
    "    CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES, ZEUS_NVML_LIBRARY, ZEUS_AMDSMI_LIBRARY,\n"
    "    ZEUS_SYSFS_ROOT (see README.md). GPUs are numbered NVIDIA first, then AMD.\n";

/* ---- What one GPU supports ---------------------------------------------------------------- */

/* Everything show-env reports about a GPU; *_ok says whether the query answered. */
struct gpu_facts {
    zeus_gpu_info info;
    const char *backend; /* "nvml", "amdsmi"; NULL when unknown */
    char pci[ZEUS_PCI_BUS_ID_LEN]; /* "" when unknown */
    int limit_ok, range_ok, default_ok, persistence_ok;
    double limit_w, min_w, max_w, default_w;
    int persistence;
};

static void query_gpu(zeus_devices *devs, unsigned i, struct gpu_facts *g)
{
    memset(g, 0, sizeof *g);
    if (zeus_gpu_get_info(devs, i, &g->info) != ZEUS_OK) {
        g->info.index = i;
        snprintf(g->info.name, sizeof g->info.name, "(unreadable: %s)", zeus_last_error());
    }
    g->backend = zeus_gpu_get_backend(devs, i);
    zeus_gpu_get_pci_bus_id(devs, i, g->pci, sizeof g->pci);
    g->limit_ok = zeus_gpu_get_power_limit(devs, i, &g->limit_w) == ZEUS_OK;
    g->range_ok = zeus_gpu_get_power_limit_constraints(devs, i, &g->min_w, &g->max_w) == ZEUS_OK;
    g->default_ok = zeus_gpu_get_default_power_limit(devs, i, &g->default_w) == ZEUS_OK;
    g->persistence_ok = zeus_gpu_get_persistence_mode(devs, i, &g->persistence) == ZEUS_OK;
}

/* NVML's nvmlDeviceArchitecture_t values (nvml.h, driver 550). */
static const char *architecture_name(unsigned arch)
{
    static const char *const names[] = {
        [2] = "Kepler", [3] = "Maxwell", [4] = "Pascal",  [5] = "Volta",
        [6] = "Turing", [7] = "Ampere",  [8] = "Ada",     [9] = "Hopper",
        [10] = "Blackwell",
    };

    if (arch < sizeof names / sizeof names[0] && names[arch] != NULL)
        return names[arch];
    return "unknown";
}

static const struct {
    uint32_t bit;
    zeus_power_domain domain;
} power_bits[] = {
    {ZEUS_GPU_POWER_INSTANT, ZEUS_POWER_DEVICE_INSTANT},
    {ZEUS_GPU_POWER_AVERAGE, ZEUS_POWER_DEVICE_AVERAGE},
    {ZEUS_GPU_POWER_MEMORY, ZEUS_POWER_MEMORY_AVERAGE},
};

#define POWER_BIT_COUNT (sizeof power_bits / sizeof power_bits[0])

/* ---- SoCs -------------------------------------------------------------------------------- */

/* A SoC this build cannot read, said plainly (Zeus reads Apple Silicon; we do not yet). */
static const char *soc_not_supported(void)
{
#if defined(__APPLE__) && (defined(__aarch64__) || defined(__arm64__))
    return "Apple Silicon SoC energy is not supported by this build";
#elif defined(_WIN32)
    return "Windows is not supported by this build";
#else
    return NULL;
#endif
}

static const char *kind_word(zeus_device_kind kind)
{
    if (kind == ZEUS_DEVICE_SOC)
        return "SoC";
    return kind == ZEUS_DEVICE_GPU ? "GPUs" : "CPUs";
}

static void print_socs(zeus_devices *devs)
{
    unsigned n = zeus_devices_soc_count(devs);

    printf("\n## SoC\n");
    if (soc_not_supported() != NULL)
        printf("%s.\n", soc_not_supported());
    if (n == 0)
        printf("No SoC available.\n");
    for (unsigned i = 0; i < n; i++) {
        zeus_soc_info s;
        if (zeus_soc_get_info(devs, i, &s) != ZEUS_OK) {
            printf("SoC %u: unreadable: %s\n", i, zeus_last_error());
            continue;
        }
        printf("SoC %u: %s, power integrated every %.0f ms\n", i, s.name, s.period_s * 1e3);
        for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++)
            if (s.has_rail[k])
                printf("  %-6s %s (%s)\n", zeus_soc_rail_name((zeus_soc_rail)k),
                       s.rail_label[k], s.rail_path[k]);
            else
                printf("  %-6s none\n", zeus_soc_rail_name((zeus_soc_rail)k));
    }
}

/* ---- Text ------------------------------------------------------------------------------- */

static void print_backends(zeus_devices *devs)
{
    unsigned n = zeus_devices_backend_count(devs);

    printf("## Backends\n");
    for (unsigned i = 0; i < n; i++) {
        zeus_backend_info b;

        if (zeus_devices_backend_info(devs, i, &b) != ZEUS_OK)
            continue;
        if (b.status == ZEUS_OK)
            printf("%-6s %s: found, %u device%s (%s)\n", b.name, kind_word(b.kind), b.device_count,
                   b.device_count == 1 ? "" : "s", b.detail);
        else
            printf("%-6s %s: not available: %s%s%s\n", b.name, kind_word(b.kind),
                   zeus_status_string(b.status),
                   b.detail[0] != '\0' ? ": " : "", b.detail);
    }
}

static void print_power_limit(const struct gpu_facts *g)
{
    if (!g->limit_ok && !g->range_ok) {
        printf("  power limit:      not available\n");
        return;
    }
    printf("  power limit:      ");
    if (g->limit_ok)
        printf("%.1f W", g->limit_w);
    if (g->range_ok)
        printf("%s(range %.1f-%.1f W", g->limit_ok ? " " : "", g->min_w, g->max_w);
    if (g->range_ok && g->default_ok)
        printf(", default %.1f W", g->default_w);
    printf("%s\n", g->range_ok ? ")" : "");
}

/* The vendor of a GPU from the backend that supplies it. */
static const char *vendor_name(const char *backend)
{
    if (backend == NULL)
        return "unknown";
    if (strcmp(backend, "nvml") == 0)
        return "NVIDIA";
    if (strcmp(backend, "amdsmi") == 0)
        return "AMD";
    return backend;
}

static void print_gpu(const struct gpu_facts *g)
{
    uint32_t s = g->info.supports;

    printf("GPU %u (physical %u): %s\n", g->info.index, g->info.physical_index, g->info.name);
    printf("  vendor:           %s (%s)\n", vendor_name(g->backend),
           g->backend != NULL ? g->backend : "unknown");
    printf("  uuid:             %s\n", g->info.uuid[0] != '\0' ? g->info.uuid : "unknown");
    printf("  PCI bus id:       %s\n", g->pci[0] != '\0' ? g->pci : "unknown");
    printf("  architecture:     %s (%u)\n", architecture_name(g->info.architecture),
           g->info.architecture);
    printf("  energy counter:   %s\n", s & ZEUS_GPU_ENERGY_COUNTER     ? "yes"
                                      : s & ZEUS_GPU_COUNTER_REJECTED ? "rejected at open (power is "
                                                                        "integrated instead)"
                                                                      : "no");
    printf("  power domains:   ");
    for (size_t k = 0; k < POWER_BIT_COUNT; k++)
        if (s & power_bits[k].bit)
            printf(" %s", zeus_power_domain_name(power_bits[k].domain));
    printf("%s%s\n", s & (ZEUS_GPU_POWER_INSTANT | ZEUS_GPU_POWER_AVERAGE |
                          ZEUS_GPU_POWER_MEMORY) ? "" : " none",
           s & ZEUS_GPU_MODULE_SCOPE ? " (whole module)" : "");
    printf("  temperature:      %s\n", s & ZEUS_GPU_TEMPERATURE ? "yes" : "no");
    if (s & ZEUS_GPU_MIG)
        printf("  MIG mode:         on (energy and power are for the whole physical GPU, "
               "every MIG slice on it included)\n");
    print_power_limit(g);
    printf("  persistence mode: %s\n",
           !g->persistence_ok ? "unknown" : g->persistence ? "enabled" : "disabled");
}

static void print_cpu(const zeus_cpu_info *c)
{
    printf("CPU %u: %s (%s), DRAM: %s\n", c->index, c->name, c->path, c->has_dram ? "yes" : "no");
}

static int print_text(zeus_devices *devs)
{
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES"), *hvd = getenv("HIP_VISIBLE_DEVICES");
    unsigned ngpu = zeus_devices_gpu_count(devs), ncpu = zeus_devices_cpu_count(devs);

    printf("## Zeus-C\nzeus %s (library %s)\n\n", ZEUS_VERSION, zeus_version());
    print_backends(devs);
    printf("\n## GPUs\nCUDA_VISIBLE_DEVICES=%s\n", cvd != NULL ? cvd : "[NOT SET]");
    printf("HIP_VISIBLE_DEVICES=%s\n", hvd != NULL ? hvd : "[NOT SET]");
    if (ngpu == 0)
        printf("No GPUs available.\n");
    for (unsigned i = 0; i < ngpu; i++) {
        struct gpu_facts g;
        query_gpu(devs, i, &g);
        print_gpu(&g);
    }
    printf("\n## CPUs\n");
    if (ncpu == 0)
        printf("No CPU packages available.\n");
    for (unsigned i = 0; i < ncpu; i++) {
        zeus_cpu_info c;
        if (zeus_cpu_get_info(devs, i, &c) == ZEUS_OK)
            print_cpu(&c);
        else
            printf("CPU %u: unreadable: %s\n", i, zeus_last_error());
    }
    print_socs(devs);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* cJSON's Add* functions return NULL on failure; collect that into one flag. */
#define CHECK(ok, expr)            \
    do {                           \
        if ((expr) == NULL)        \
            (ok) = 0;              \
    } while (0)

/* `o` when every addition succeeded; otherwise free it, so callers see NULL for no memory. */
static cJSON *keep_if(cJSON *o, int ok)
{
    if (ok)
        return o;
    cJSON_Delete(o);
    return NULL;
}

static cJSON *backend_json(const zeus_backend_info *b)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;

    if (!ok)
        return NULL;
    CHECK(ok, cJSON_AddStringToObject(o, "name", b->name));
    CHECK(ok, cJSON_AddStringToObject(o, "kind", b->kind == ZEUS_DEVICE_SOC   ? "soc"
                                                 : b->kind == ZEUS_DEVICE_GPU ? "gpu"
                                                                              : "cpu"));
    CHECK(ok, cJSON_AddBoolToObject(o, "found", b->status == ZEUS_OK));
    CHECK(ok, cJSON_AddStringToObject(o, "status", zeus_status_name(b->status)));
    CHECK(ok, cJSON_AddStringToObject(o, "error", b->status == ZEUS_OK ? "" :
                                                   zeus_status_string(b->status)));
    CHECK(ok, cJSON_AddStringToObject(o, "detail", b->detail));
    CHECK(ok, cJSON_AddNumberToObject(o, "device_count", b->device_count));
    return keep_if(o, ok);
}

static int add_number_or_null(cJSON *o, const char *key, int have, double v)
{
    return (have ? cJSON_AddNumberToObject(o, key, v) : cJSON_AddNullToObject(o, key)) != NULL;
}

static int add_gpu_limits(cJSON *o, const struct gpu_facts *g)
{
    int ok = 1;

    ok &= add_number_or_null(o, "power_limit_w", g->limit_ok, g->limit_w);
    ok &= add_number_or_null(o, "power_limit_min_w", g->range_ok, g->min_w);
    ok &= add_number_or_null(o, "power_limit_max_w", g->range_ok, g->max_w);
    ok &= add_number_or_null(o, "power_limit_default_w", g->default_ok, g->default_w);
    if (g->persistence_ok)
        CHECK(ok, cJSON_AddBoolToObject(o, "persistence_mode", g->persistence != 0));
    else
        CHECK(ok, cJSON_AddNullToObject(o, "persistence_mode"));
    return ok;
}

static cJSON *gpu_json(const struct gpu_facts *g)
{
    uint32_t s = g->info.supports;
    cJSON *o = cJSON_CreateObject(), *domains;
    int ok = o != NULL;

    if (!ok)
        return NULL;
    CHECK(ok, cJSON_AddNumberToObject(o, "index", g->info.index));
    CHECK(ok, cJSON_AddNumberToObject(o, "physical_index", g->info.physical_index));
    CHECK(ok, cJSON_AddStringToObject(o, "name", g->info.name));
    CHECK(ok, cJSON_AddStringToObject(o, "uuid", g->info.uuid));
    CHECK(ok, cJSON_AddStringToObject(o, "vendor", vendor_name(g->backend)));
    CHECK(ok, cJSON_AddStringToObject(o, "backend", g->backend != NULL ? g->backend : ""));
    CHECK(ok, cJSON_AddBoolToObject(o, "counter_rejected",
                                    (s & ZEUS_GPU_COUNTER_REJECTED) != 0));
    if (g->pci[0] != '\0')
        CHECK(ok, cJSON_AddStringToObject(o, "pci_bus_id", g->pci));
    else
        CHECK(ok, cJSON_AddNullToObject(o, "pci_bus_id"));
    CHECK(ok, cJSON_AddNumberToObject(o, "architecture", g->info.architecture));
    CHECK(ok, cJSON_AddStringToObject(o, "architecture_name",
                                      architecture_name(g->info.architecture)));
    CHECK(ok, cJSON_AddBoolToObject(o, "energy_counter", (s & ZEUS_GPU_ENERGY_COUNTER) != 0));
    CHECK(ok, domains = cJSON_AddArrayToObject(o, "power_domains"));
    for (size_t k = 0; ok && k < POWER_BIT_COUNT; k++)
        if (s & power_bits[k].bit)
            ok = cJSON_AddItemToArray(domains, cJSON_CreateString(zeus_power_domain_name(
                                                   power_bits[k].domain)));
    CHECK(ok, cJSON_AddBoolToObject(o, "module_scope", (s & ZEUS_GPU_MODULE_SCOPE) != 0));
    CHECK(ok, cJSON_AddBoolToObject(o, "temperature", (s & ZEUS_GPU_TEMPERATURE) != 0));
    CHECK(ok, cJSON_AddBoolToObject(o, "mig", (s & ZEUS_GPU_MIG) != 0));
    ok = ok && add_gpu_limits(o, g);
    return keep_if(o, ok);
}

static cJSON *cpu_json(const zeus_cpu_info *c)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;

    if (!ok)
        return NULL;
    CHECK(ok, cJSON_AddNumberToObject(o, "index", c->index));
    CHECK(ok, cJSON_AddStringToObject(o, "name", c->name));
    CHECK(ok, cJSON_AddStringToObject(o, "path", c->path));
    CHECK(ok, cJSON_AddBoolToObject(o, "dram", c->has_dram != 0));
    return keep_if(o, ok);
}

static cJSON *soc_json(unsigned index, const zeus_soc_info *s)
{
    cJSON *o = cJSON_CreateObject(), *rails;
    int ok = o != NULL;

    if (!ok)
        return NULL;
    CHECK(ok, cJSON_AddNumberToObject(o, "index", index));
    CHECK(ok, cJSON_AddStringToObject(o, "name", s->name));
    CHECK(ok, cJSON_AddNumberToObject(o, "period_s", s->period_s));
    CHECK(ok, rails = cJSON_AddObjectToObject(o, "rails"));
    for (unsigned k = 0; ok && k < ZEUS_SOC_RAILS; k++) {
        const char *key = zeus_soc_rail_name((zeus_soc_rail)k);
        cJSON *r;
        if (!s->has_rail[k]) {
            CHECK(ok, cJSON_AddNullToObject(rails, key));
            continue;
        }
        CHECK(ok, r = cJSON_AddObjectToObject(rails, key));
        if (ok) {
            CHECK(ok, cJSON_AddStringToObject(r, "label", s->rail_label[k]));
            CHECK(ok, cJSON_AddStringToObject(r, "path", s->rail_path[k]));
        }
    }
    return keep_if(o, ok);
}

/* "socs", and "soc_not_supported" where this build cannot read the platform's SoC. */
static int add_socs_json(cJSON *root, zeus_devices *devs)
{
    cJSON *socs = cJSON_AddArrayToObject(root, "socs");
    int ok = socs != NULL;

    for (unsigned i = 0; ok && i < zeus_devices_soc_count(devs); i++) {
        zeus_soc_info s;
        cJSON *item;
        if (zeus_soc_get_info(devs, i, &s) != ZEUS_OK)
            continue;
        item = soc_json(i, &s);
        ok = item != NULL && cJSON_AddItemToArray(socs, item);
        if (!ok)
            cJSON_Delete(item);
    }
    if (ok && soc_not_supported() != NULL)
        CHECK(ok, cJSON_AddStringToObject(root, "soc_not_supported", soc_not_supported()));
    return ok;
}

/* Append `item` to `array`; 0 when either is missing (the item is freed then). */
static int append(cJSON *array, cJSON *item)
{
    if (array == NULL || item == NULL) {
        cJSON_Delete(item);
        return 0;
    }
    return cJSON_AddItemToArray(array, item);
}

static int add_devices_json(cJSON *root, zeus_devices *devs)
{
    cJSON *backends = cJSON_AddArrayToObject(root, "backends");
    cJSON *gpus = cJSON_AddArrayToObject(root, "gpus");
    cJSON *cpus = cJSON_AddArrayToObject(root, "cpus");
    int ok = backends != NULL && gpus != NULL && cpus != NULL;

    for (unsigned i = 0; ok && i < zeus_devices_backend_count(devs); i++) {
        zeus_backend_info b;
        if (zeus_devices_backend_info(devs, i, &b) == ZEUS_OK)
            ok = append(backends, backend_json(&b));
    }
    for (unsigned i = 0; ok && i < zeus_devices_gpu_count(devs); i++) {
        struct gpu_facts g;
        query_gpu(devs, i, &g);
        ok = append(gpus, gpu_json(&g));
    }
    for (unsigned i = 0; ok && i < zeus_devices_cpu_count(devs); i++) {
        zeus_cpu_info c;
        if (zeus_cpu_get_info(devs, i, &c) == ZEUS_OK)
            ok = append(cpus, cpu_json(&c));
    }
    return ok;
}

static int print_json(zeus_devices *devs)
{
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES"), *hvd = getenv("HIP_VISIBLE_DEVICES");
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;

    if (ok) {
        CHECK(ok, cJSON_AddStringToObject(root, "version", zeus_version()));
        if (cvd != NULL)
            CHECK(ok, cJSON_AddStringToObject(root, "cuda_visible_devices", cvd));
        else
            CHECK(ok, cJSON_AddNullToObject(root, "cuda_visible_devices"));
        if (hvd != NULL)
            CHECK(ok, cJSON_AddStringToObject(root, "hip_visible_devices", hvd));
        else
            CHECK(ok, cJSON_AddNullToObject(root, "hip_visible_devices"));
        ok = ok && add_devices_json(root, devs);
        ok = ok && add_socs_json(root, devs);
    }
    ok = ok && cli_print_json(root) == 0;
    cJSON_Delete(root);
    if (!ok)
        fprintf(stderr, "zeus show-env: cannot print the JSON report\n");
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- Entry point ------------------------------------------------------------------------ */

int cli_show_env(int argc, char **argv)
{
    zeus_devices *devs;
    int json = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") != 0)
            return cli_usage_error("show-env", "unknown option '%s'", argv[i]);
        json = 1;
    }
    if (zeus_devices_create(&devs) != ZEUS_OK) {
        fprintf(stderr, "zeus show-env: %s\n", zeus_last_error());
        return CLI_EXIT_FAILURE;
    }
    rc = json ? print_json(devs) : print_text(devs);
    zeus_devices_destroy(devs);
    return rc;
}
