/*
 * batch_size.c - The batch size optimizer client (zeus/batch_size.h): Zeus's
 * BatchSizeOptimizer over a BSO server, step for step (zeus/optimizer/batch_size/client.py).
 *
 * The spec is checked here with Zeus's pydantic validators' messages before anything is
 * sent, so a mistake reads the same as in Zeus and costs no round trip; the server checks it
 * again. The HTTP exchange and its retries are bso_http.c's.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "optimizer/bso_http.h"
#include "util/error.h"
#include "util/options.h"
#include "zeus/batch_size.h"
#include "zeus/device.h"

#define BSO_MAGIC 0x42534f31u /* "BSO1" */
#define WINDOW_KEY "BatciSizeOptimizerClient" /* Zeus's key, typo included */

struct zeus_bso {
    uint32_t magic;
    zeus_monitor *mon;
    char *url;
    zeus_bso_spec spec; /* strings and batch_sizes point into this struct's copies */
    char *job_id;       /* the server's */
    char *prefix;
    unsigned *batch_sizes;
    unsigned rank;
    double max_power_w;
    unsigned gpu_count;
    char gpu_model[96];

    unsigned batch_size; /* 0 until known */
    unsigned trial_number;
    unsigned epoch;
    double time_s, energy_j; /* cumulative over this run's epochs */
    int finished;            /* the server ended the run */
    int trial_open;          /* a trial to end with PATCH /trials */
    int window_open;
    int exiting;             /* the exit hook runs: one try, the process is leaving */
    struct zeus_bso *next_live;
};

/* ---- The exit hook ------------------------------------------------------------------- */

/* Clients not closed yet: at exit each ends its trial, as Zeus's atexit hook does. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static zeus_bso *live_head;

static void end_trials_at_exit(void)
{
    pthread_mutex_lock(&live_lock);
    for (zeus_bso *b = live_head; b != NULL; b = b->next_live) {
        b->exiting = 1;
        zeus_bso_end_trial(b);
    }
    pthread_mutex_unlock(&live_lock);
}

static void install_exit_hook(void)
{
    atexit(end_trials_at_exit);
}

static void live_add(zeus_bso *bso)
{
    pthread_once(&live_once, install_exit_hook);
    pthread_mutex_lock(&live_lock);
    bso->next_live = live_head;
    live_head = bso;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(zeus_bso *bso)
{
    pthread_mutex_lock(&live_lock);
    for (zeus_bso **p = &live_head; *p != NULL; p = &(*p)->next_live)
        if (*p == bso) {
            *p = bso->next_live;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

/* ---- The spec ------------------------------------------------------------------------ */

void zeus_bso_spec_init(zeus_bso_spec *spec)
{
    if (spec == NULL)
        return;
    *spec = (zeus_bso_spec){
        .size = sizeof *spec,
        .eta_knob = 0.5,
        .beta_knob = 2.0,
        .target_metric = 0.5,
        .higher_is_better_metric = 1,
        .max_epochs = 100,
        .num_pruning_rounds = 2,
        .mab_num_explorations = 2,
    };
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return (x > y) - (x < y);
}

/* "[8, 16, 32]" as Python prints a list. */
static void list_text(const unsigned *v, size_t n, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "[");

    for (size_t i = 0; i < n && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? ", " : "", v[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

/* Zeus's JobParams and JobSpec validators, on the sorted copy. */
static zeus_status check_spec(const zeus_bso_spec *s)
{
    char list[512];

    if (s->job_id_prefix == NULL || s->job_id_prefix[0] == '\0')
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "job_id_prefix: field required");
    if (s->batch_size_count == 0 || s->batch_sizes == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "Batch Sizes = [] is empty");
    if (s->default_batch_size == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "default_batch_size: ensure this value is greater than 0");
    if (s->max_epochs == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "max_epochs: ensure this value is greater than 0");
    if (!(s->eta_knob >= 0 && s->eta_knob <= 1))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "eta_knob should be in range [0,1]");
    if (!isnan(s->beta_knob) && !(s->beta_knob > 0 && isfinite(s->beta_knob)))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "Invalid beta_knob(%g). To disable early "
                          "stop, set beta_knob = None to disable or positive value.", s->beta_knob);
    if (!isfinite(s->target_metric) || !isfinite(s->mab_prior_mean) ||
        !isfinite(s->mab_prior_precision))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "target_metric, mab_prior_mean and "
                          "mab_prior_precision must be finite numbers");
    if (bsearch(&s->default_batch_size, s->batch_sizes, s->batch_size_count, sizeof(unsigned),
                cmp_unsigned) == NULL) {
        list_text(s->batch_sizes, s->batch_size_count, list, sizeof list);
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "Default BS(%u) not in batch_sizes(%s).",
                          s->default_batch_size, list);
    }
    if (s->job_id != NULL && strncmp(s->job_id, s->job_id_prefix, strlen(s->job_id_prefix)) != 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "Job_id(%s) does not start with prefix(%s).",
                          s->job_id, s->job_id_prefix);
    return ZEUS_OK;
}

/* Copy the caller's spec (its size honoured) with its strings and a sorted array. */
static zeus_status copy_spec(zeus_bso *bso, const zeus_bso_spec *in)
{
    zeus_status s;

    zeus_bso_spec_init(&bso->spec);
    if (in == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_open: NULL spec");
    s = zeus__options_read(&bso->spec, sizeof bso->spec, in, sizeof bso->spec, "zeus_bso_spec");
    if (s != ZEUS_OK)
        return s;
    if (bso->spec.batch_size_count > 0 && bso->spec.batch_sizes != NULL) {
        size_t n = bso->spec.batch_size_count;
        if ((bso->batch_sizes = malloc(n * sizeof(unsigned))) == NULL)
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
        memcpy(bso->batch_sizes, bso->spec.batch_sizes, n * sizeof(unsigned));
        qsort(bso->batch_sizes, n, sizeof(unsigned), cmp_unsigned);
        bso->spec.batch_sizes = bso->batch_sizes;
    }
    if ((s = check_spec(&bso->spec)) != ZEUS_OK)
        return s;
    bso->prefix = strdup(bso->spec.job_id_prefix);
    bso->job_id = bso->spec.job_id ? strdup(bso->spec.job_id) : NULL;
    if (bso->prefix == NULL || (bso->spec.job_id != NULL && bso->job_id == NULL))
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    bso->spec.job_id_prefix = bso->prefix;
    bso->spec.job_id = bso->job_id;
    return ZEUS_OK;
}

/* ---- The GPU configuration ----------------------------------------------------------- */

/* Zeus: every visible GPU the same model; MaxPower = GPU 0's max limit (W) x monitored GPUs. */
static zeus_status gpu_config(zeus_bso *bso)
{
    zeus_devices *devs = zeus_monitor_devices(bso->mon);
    unsigned n = devs ? zeus_devices_gpu_count(devs) : 0;
    zeus_gpu_info first, other;
    double min_w, max_w;
    zeus_status s;

    bso->gpu_count = (unsigned)zeus_monitor_gpu_indices(bso->mon, NULL, 0);
    if (n == 0 || bso->gpu_count == 0)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "No GPUs detected.");
    if ((s = zeus_gpu_get_info(devs, 0, &first)) != ZEUS_OK)
        return s;
    for (unsigned i = 1; i < n; i++) {
        if ((s = zeus_gpu_get_info(devs, i, &other)) != ZEUS_OK)
            return s;
        if (strcmp(first.name, other.name) != 0)
            return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "Heterogeneous GPUs found: GPU 0 is %s, "
                              "GPU %u is %s (the batch size optimizer needs one GPU model)",
                              first.name, i, other.name);
    }
    if ((s = zeus_gpu_get_power_limit_constraints(devs, 0, &min_w, &max_w)) != ZEUS_OK)
        return zeus__fail_prefix(s, "cannot read GPU 0's maximum power limit");
    bso->max_power_w = floor(max_w + 1e-9) * bso->gpu_count;
    snprintf(bso->gpu_model, sizeof bso->gpu_model, "%s", first.name);
    return ZEUS_OK;
}

/* ---- Registration -------------------------------------------------------------------- */

static cJSON *spec_json(const zeus_bso *bso)
{
    const zeus_bso_spec *s = &bso->spec;
    cJSON *o = cJSON_CreateObject(), *bs = cJSON_AddArrayToObject(o, "batch_sizes");

    cJSON_AddItemToObject(o, "job_id", s->job_id ? cJSON_CreateString(s->job_id) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "job_id_prefix", s->job_id_prefix);
    for (size_t i = 0; i < s->batch_size_count; i++)
        cJSON_AddItemToArray(bs, cJSON_CreateNumber(s->batch_sizes[i]));
    cJSON_AddNumberToObject(o, "default_batch_size", s->default_batch_size);
    cJSON_AddNumberToObject(o, "eta_knob", s->eta_knob);
    if (isnan(s->beta_knob))
        cJSON_AddNullToObject(o, "beta_knob");
    else
        cJSON_AddNumberToObject(o, "beta_knob", s->beta_knob);
    cJSON_AddNumberToObject(o, "target_metric", s->target_metric);
    cJSON_AddBoolToObject(o, "higher_is_better_metric", s->higher_is_better_metric != 0);
    cJSON_AddNumberToObject(o, "max_epochs", s->max_epochs);
    cJSON_AddNumberToObject(o, "num_pruning_rounds", s->num_pruning_rounds);
    cJSON_AddNumberToObject(o, "window_size", s->window_size);
    cJSON_AddNumberToObject(o, "mab_prior_mean", s->mab_prior_mean);
    cJSON_AddNumberToObject(o, "mab_prior_precision", s->mab_prior_precision);
    cJSON_AddNumberToObject(o, "mab_num_explorations", s->mab_num_explorations);
    if (s->has_mab_seed)
        cJSON_AddNumberToObject(o, "mab_seed", (double)s->mab_seed);
    else
        cJSON_AddNullToObject(o, "mab_seed");
    cJSON_AddNumberToObject(o, "max_power", bso->max_power_w);
    cJSON_AddNumberToObject(o, "number_of_gpus", bso->gpu_count);
    cJSON_AddStringToObject(o, "gpu_model", bso->gpu_model);
    return o;
}

/* POST with a JSON object, the reply parsed. */
static zeus_status exchange(const zeus_bso *bso, const char *method, const char *path,
                            const char *job_id, cJSON *request, cJSON **reply)
{
    char *text = request ? cJSON_PrintUnformatted(request) : NULL;
    zeus_status s;

    if (request != NULL && text == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    s = zeus__bso_http(bso->url, method, path, job_id, text,
                       bso->exiting ? 1 : ZEUS_BSO_HTTP_ATTEMPTS, reply);
    cJSON_free(text);
    return s;
}

/* A field of a reply that must be there, with its type, or a clear error. */
static const cJSON *field(const cJSON *o, const char *name, int (*is)(const cJSON *),
                          const char *what, const char *path, zeus_status *s)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    if (f != NULL && is(f))
        return f;
    *s = zeus__fail(ZEUS_ERR_IO, "Zeus server's reply to %s lacks %s \"%s\"", path, what, name);
    return NULL;
}

static int is_int(const cJSON *f)
{
    return cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble <= 4294967295.0 &&
           f->valuedouble == floor(f->valuedouble);
}

static zeus_status register_job(zeus_bso *bso)
{
    cJSON *req = spec_json(bso), *reply = NULL;
    const cJSON *id;
    zeus_status s;

    if (req == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    s = exchange(bso, "POST", "/jobs", NULL, req, &reply);
    cJSON_Delete(req);
    if (s != ZEUS_OK)
        return s;
    if ((id = field(reply, "job_id", cJSON_IsString, "the string", "/jobs", &s)) != NULL) {
        free(bso->job_id);
        if ((bso->job_id = strdup(id->valuestring)) == NULL)
            s = zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
        bso->spec.job_id = bso->job_id;
    }
    cJSON_Delete(reply);
    return s;
}

/* ---- The client ---------------------------------------------------------------------- */

static int bso_ok(const zeus_bso *bso)
{
    return bso != NULL && bso->magic == BSO_MAGIC;
}

static void free_bso(zeus_bso *bso)
{
    free(bso->url);
    free(bso->job_id);
    free(bso->prefix);
    free(bso->batch_sizes);
    bso->magic = 0;
    free(bso);
}

zeus_status zeus_bso_open(zeus_monitor *mon, const char *server_url, const zeus_bso_spec *spec,
                          unsigned rank, zeus_bso **out)
{
    zeus_bso *bso;
    zeus_status s;
    size_t n;

    if (out == NULL || mon == NULL || server_url == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_open: NULL %s",
                          out == NULL ? "out" : mon == NULL ? "monitor" : "server_url");
    if ((bso = calloc(1, sizeof *bso)) == NULL || (bso->url = strdup(server_url)) == NULL) {
        free(bso);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    n = strlen(bso->url);
    while (n > 0 && bso->url[n - 1] == '/')
        bso->url[--n] = '\0';
    bso->mon = mon;
    bso->rank = rank;
    bso->magic = BSO_MAGIC;
    if ((s = copy_spec(bso, spec)) != ZEUS_OK || (s = gpu_config(bso)) != ZEUS_OK ||
        (s = register_job(bso)) != ZEUS_OK) {
        free_bso(bso);
        return s;
    }
    live_add(bso);
    *out = bso;
    return ZEUS_OK;
}

void zeus_bso_close(zeus_bso *bso)
{
    if (!bso_ok(bso))
        return;
    live_remove(bso);
    zeus_bso_end_trial(bso);
    if (bso->window_open)
        zeus_monitor_end_window(bso->mon, WINDOW_KEY, ZEUS_WINDOW_CANCEL, NULL);
    free_bso(bso);
}

const char *zeus_bso_job_id(const zeus_bso *bso)
{
    return bso_ok(bso) ? bso->job_id : NULL;
}

zeus_status zeus_bso_gpu_config(const zeus_bso *bso, double *max_power_w,
                                unsigned *number_of_gpus, const char **gpu_model)
{
    if (!bso_ok(bso))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_gpu_config: not a client");
    if (max_power_w)
        *max_power_w = bso->max_power_w;
    if (number_of_gpus)
        *number_of_gpus = bso->gpu_count;
    if (gpu_model)
        *gpu_model = bso->gpu_model;
    return ZEUS_OK;
}

static int in_batch_sizes(const zeus_bso *bso, unsigned bs)
{
    return bsearch(&bs, bso->batch_sizes, bso->spec.batch_size_count, sizeof(unsigned),
                   cmp_unsigned) != NULL;
}

zeus_status zeus_bso_get_batch_size(zeus_bso *bso, unsigned *batch_size)
{
    const cJSON *bs, *trial;
    cJSON *reply = NULL;
    zeus_status s;

    if (!bso_ok(bso) || batch_size == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_get_batch_size: NULL argument");
    if (bso->rank != 0)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "Only rank 0 gpu can ask for a batch size.");
    if (bso->batch_size != 0) {
        *batch_size = bso->batch_size;
        return ZEUS_OK;
    }
    bso->epoch = 0;
    if ((s = exchange(bso, "GET", "/jobs/batch_size", bso->job_id, NULL, &reply)) != ZEUS_OK)
        return s;
    if ((bs = field(reply, "batch_size", is_int, "the integer", "/jobs/batch_size", &s)) &&
        (trial = field(reply, "trial_number", is_int, "the integer", "/jobs/batch_size", &s))) {
        if (!in_batch_sizes(bso, (unsigned)bs->valuedouble)) {
            s = zeus__fail(ZEUS_ERR_IO, "Zeus server returned a strange batch_size: %.0f",
                           bs->valuedouble);
        } else {
            bso->batch_size = (unsigned)bs->valuedouble;
            bso->trial_number = (unsigned)trial->valuedouble;
            bso->trial_open = 1;
            *batch_size = bso->batch_size;
        }
    }
    cJSON_Delete(reply);
    return s;
}

zeus_status zeus_bso_set_trial(zeus_bso *bso, unsigned batch_size, unsigned trial_number)
{
    if (!bso_ok(bso))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_set_trial: not a client");
    if (!in_batch_sizes(bso, batch_size))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "batch size %u is not one of the job's",
                          batch_size);
    bso->batch_size = batch_size;
    bso->trial_number = trial_number;
    return ZEUS_OK;
}

zeus_status zeus_bso_get_trial(const zeus_bso *bso, unsigned *batch_size,
                               unsigned *trial_number, unsigned *epoch)
{
    if (!bso_ok(bso))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_get_trial: not a client");
    if (batch_size)
        *batch_size = bso->batch_size;
    if (trial_number)
        *trial_number = bso->trial_number;
    if (epoch)
        *epoch = bso->epoch;
    return ZEUS_OK;
}

zeus_status zeus_bso_on_train_begin(zeus_bso *bso)
{
    zeus_status s;

    if (!bso_ok(bso))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_on_train_begin: not a client");
    bso->finished = 0;
    s = zeus_monitor_begin_window(bso->mon, WINDOW_KEY, ZEUS_WINDOW_RESTART);
    bso->window_open = s == ZEUS_OK;
    return s;
}

static cJSON *result_json(const zeus_bso *bso, double metric)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "job_id", bso->job_id);
    cJSON_AddNumberToObject(o, "batch_size", bso->batch_size);
    cJSON_AddNumberToObject(o, "trial_number", bso->trial_number);
    cJSON_AddNumberToObject(o, "time", bso->time_s);
    cJSON_AddNumberToObject(o, "energy", bso->energy_j);
    cJSON_AddNumberToObject(o, "metric", metric);
    cJSON_AddNumberToObject(o, "current_epoch", bso->epoch);
    return o;
}

/* POST /report with the sums so far; *stop and the train failure from the reply. */
static zeus_status send_report(zeus_bso *bso, double metric, int *stop)
{
    cJSON *req = result_json(bso, metric), *reply = NULL;
    const cJSON *st, *conv, *msg;
    zeus_status s;

    if (req == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    s = exchange(bso, "POST", "/report", NULL, req, &reply);
    cJSON_Delete(req);
    if (s != ZEUS_OK)
        return s;
    if ((st = field(reply, "stop_train", cJSON_IsBool, "the boolean", "/report", &s)) &&
        (conv = field(reply, "converged", cJSON_IsBool, "the boolean", "/report", &s)) &&
        (msg = field(reply, "message", cJSON_IsString, "the string", "/report", &s))) {
        *stop = cJSON_IsTrue(st);
        if (*stop) {
            bso->finished = 1;
            if (!cJSON_IsTrue(conv))
                s = zeus__fail(ZEUS_ERR_TRAIN_FAILED, "Train failed: %s This batch size will "
                               "not be selected again. Please re-launch the training",
                               msg->valuestring);
        }
    }
    cJSON_Delete(reply);
    return s;
}

/* What both report paths check first; *done when the run already ended. */
static zeus_status report_ready(zeus_bso *bso, double metric, int *stop, int *done)
{
    if (!bso_ok(bso) || stop == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_on_evaluate: NULL argument");
    if (bso->batch_size == 0)
        return zeus__fail(ZEUS_ERR_UNINITIALIZED, "Call get_batch_size to set the batch size first");
    if (!isfinite(metric))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "the metric must be a finite number, not %g",
                          metric);
    *done = bso->finished;
    *stop = bso->finished;
    return ZEUS_OK;
}

zeus_status zeus_bso_report(zeus_bso *bso, double epoch_time_s, double epoch_energy_j,
                            double metric, int *stop)
{
    int done = 0;
    zeus_status s = report_ready(bso, metric, stop, &done);

    if (s != ZEUS_OK || done)
        return s;
    if (!(epoch_time_s >= 0 && isfinite(epoch_time_s)) ||
        !(epoch_energy_j >= 0 && isfinite(epoch_energy_j)))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "an epoch's time (%g s) and energy (%g J) "
                          "must be finite and not negative", epoch_time_s, epoch_energy_j);
    bso->epoch++;
    bso->time_s += epoch_time_s;
    bso->energy_j += epoch_energy_j;
    return send_report(bso, metric, stop);
}

/*
 * Open the next epoch's window after a report that did not end the run. After a report that
 * failed (the server was unreachable) too, so a caller that carries on reports the
 * cumulative run next time; that report's error is the one returned.
 */
static zeus_status next_window(zeus_bso *bso, zeus_status report)
{
    char saved[1024];
    zeus_status s;

    snprintf(saved, sizeof saved, "%s", zeus_last_error());
    s = zeus_monitor_begin_window(bso->mon, WINDOW_KEY, ZEUS_WINDOW_RESTART);
    bso->window_open = s == ZEUS_OK;
    if (report != ZEUS_OK)
        return zeus__fail(report, "%s", saved);
    return s == ZEUS_OK ? s : zeus__fail_prefix(s, "cannot open the next epoch's window");
}

zeus_status zeus_bso_on_evaluate(zeus_bso *bso, double metric, int *stop)
{
    zeus_measurement m;
    double energy;
    int done = 0;
    zeus_status s = report_ready(bso, metric, stop, &done);

    if (s != ZEUS_OK || done)
        return s;
    s = zeus_monitor_end_window(bso->mon, WINDOW_KEY, 0, &m);
    bso->window_open = 0;
    if (s == ZEUS_ERR_NOT_FOUND)
        return zeus__fail(s, "no epoch window is open: call on_train_begin before on_evaluate");
    if (s != ZEUS_OK)
        return s;
    energy = zeus_measurement_total_energy(&m);
    if (!isfinite(energy))
        return zeus__fail(ZEUS_ERR_IO, "the epoch's GPU energy could not be measured");
    s = zeus_bso_report(bso, m.time_s, energy, metric, stop);
    if (s == ZEUS_ERR_TRAIN_FAILED || (s == ZEUS_OK && *stop))
        return s;
    return next_window(bso, s);
}

zeus_status zeus_bso_end_trial(zeus_bso *bso)
{
    cJSON *req, *reply = NULL;
    zeus_status s;

    if (!bso_ok(bso))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_bso_end_trial: not a client");
    if (!bso->trial_open)
        return ZEUS_OK;
    bso->trial_open = 0;
    if ((req = cJSON_CreateObject()) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    cJSON_AddStringToObject(req, "job_id", bso->job_id);
    cJSON_AddNumberToObject(req, "batch_size", bso->batch_size);
    cJSON_AddNumberToObject(req, "trial_number", bso->trial_number);
    s = exchange(bso, "PATCH", "/trials", NULL, req, &reply);
    cJSON_Delete(req);
    cJSON_Delete(reply);
    return s;
}
