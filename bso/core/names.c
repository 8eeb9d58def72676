/*
 * names.c - The names Zeus gives the stages, trial types and trial statuses, as they appear in
 * its JSON and in its database's enum columns.
 */
#include <string.h>

#include "bso_core.h"

static const char *const stage_names[] = {"Pruning", "MAB"};
static const char *const type_names[] = {"Exploration", "Concurrent", "MAB"};
static const char *const status_names[] = {"Dispatched", "Succeeded", "Failed"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int count, int value)
{
    return value >= 0 && value < count ? names[value] : "?";
}

static int parse(const char *const *names, int count, const char *name)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *bso_stage_name(bso_stage s)
{
    return name_of(stage_names, COUNT(stage_names), (int)s);
}

const char *bso_trial_type_name(bso_trial_type t)
{
    return name_of(type_names, COUNT(type_names), (int)t);
}

const char *bso_trial_status_name(bso_trial_status s)
{
    return name_of(status_names, COUNT(status_names), (int)s);
}

int bso_stage_parse(const char *name)
{
    return parse(stage_names, COUNT(stage_names), name);
}

int bso_trial_type_parse(const char *name)
{
    return parse(type_names, COUNT(type_names), name);
}

int bso_trial_status_parse(const char *name)
{
    return parse(status_names, COUNT(status_names), name);
}
