/*
 * out_file.c - Output files that appear whole or not at all: written under a temporary name
 * in the destination folder (so the rename stays on one file system and is atomic), then
 * renamed over the destination. `zeus monitor power --plot` keeps its file open for the whole
 * run and writes it only when stopped; before this, a kill in between left an empty file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* "dir/.name.zeus-XXXXXX" for "dir/name": hidden, and clearly ours if a kill leaves it. */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    size_t len = strlen(path) + sizeof "/..zeus-XXXXXX";
    char *tmp = malloc(len);

    if (tmp != NULL)
        snprintf(tmp, len, "%.*s.%s.zeus-XXXXXX", (int)dir_len, path, path + dir_len);
    return tmp;
}

/* mkstemp makes the file 0600; give it the mode a plain fopen would (0666 less umask). */
static void plain_mode(int fd)
{
    mode_t mask = umask(022);

    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
}

int cli_out_file_open(struct cli_out_file *o, const char *path)
{
    int fd, err;

    memset(o, 0, sizeof *o);
    o->path = path;
    if ((o->tmp_path = temp_name(path)) == NULL)
        return -1;
    if ((fd = mkstemp(o->tmp_path)) < 0)
        goto fail;
    plain_mode(fd);
    if ((o->f = fdopen(fd, "w")) != NULL)
        return 0;
    close(fd);
    unlink(o->tmp_path);
fail:
    err = errno;
    free(o->tmp_path);
    o->tmp_path = NULL;
    errno = err;
    return -1;
}

int cli_out_file_commit(struct cli_out_file *o)
{
    int bad = fflush(o->f) != 0 || ferror(o->f);

    bad |= fclose(o->f) != 0;
    o->f = NULL;
    if (!bad && rename(o->tmp_path, o->path) == 0) {
        free(o->tmp_path);
        o->tmp_path = NULL;
        return 0;
    }
    cli_out_file_abort(o);
    return -1;
}

void cli_out_file_abort(struct cli_out_file *o)
{
    if (o->f != NULL)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp_path != NULL)
        unlink(o->tmp_path);
    free(o->tmp_path);
    o->tmp_path = NULL;
}
