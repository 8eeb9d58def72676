/*
 * child.c - Runs the command `zeus run` measures, the way a shell runs a foreground command:
 * fork and execvp, report a command that cannot start, wait for it, and pass its exit status
 * up (128 + the signal number when a signal killed it).
 *
 * DESIGN NOTES
 *
 * 1. Ctrl-C and Ctrl-\ go from the terminal to the whole foreground process group, so the
 *    command gets them directly. zeus stays alive meanwhile (as system(3) does) and reports
 *    the energy of the command it outlived. SIGQUIT is ignored. SIGINT is blocked and taken
 *    (note 3) rather than ignored, because `zeus run -r N` must notice it to stop a series,
 *    also between runs when there is no command to die of it; it is not forwarded, since
 *    the terminal already sent it to the command and a second one would read as a double
 *    Ctrl-C (which many programs take for "quit now").
 * 2. SIGTERM and SIGHUP are usually sent to zeus alone (kill, a batch scheduler, a closed
 *    session), so zeus forwards them to the command and goes on waiting.
 * 3. No signal handlers: SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked and taken one by one
 *    with sigwaitinfo() (sigtimedwait() in a cooldown pause). Nothing runs in signal
 *    context, and there is no flag to race on. The mask must be set before the monitor
 *    starts any thread, or a thread that does not block them would take the signal and
 *    SIGTERM would kill zeus instead. The first of SIGINT, SIGTERM and SIGHUP taken is kept
 *    in stop_signal for the caller. A SIGINT still pending when zeus is done is discarded
 *    (cli_child_restore), as the ignored SIGINT of old was.
 * 4. The command gets back the signal mask and dispositions zeus was started with; ignored
 *    signals stay ignored across exec, so it must be done between fork and exec.
 * 5. After fork only async-signal-safe calls are made (the monitor may have threads), so the
 *    child cannot print why exec failed. It writes errno into a close-on-exec pipe instead:
 *    the parent reads nothing when exec succeeded, and the errno when it did not.
 *
 *   cli_child_prepare --> cli_child_start --(fork, exec)--> cli_child_wait --> restore
 *                           ^      |                          ^   |      |
 *                           |      +-- exec failed: errno     +---+      | zeus run -r N:
 *                           |                       SIGTERM/SIGHUP:      | a run to go
 *                           |                       kill(command)        v
 *                           +------------------------------------- cli_child_pause
 *                                                                  (--cooldown; a signal
 *                                                                  ends the series)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- Signal state ------------------------------------------------------------------------ */

static void waited_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

int cli_child_prepare(struct cli_child *c)
{
    struct sigaction ign, dfl;
    sigset_t set;

    memset(c, 0, sizeof *c);
    c->pid = -1;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    dfl = ign;
    dfl.sa_handler = SIG_DFL;
    waited_signals(&set);
    if (pthread_sigmask(SIG_BLOCK, &set, &c->old_mask) != 0)
        return -1;
    /*
     * SIGINT keeps its disposition (note 1): blocked, it waits for sigwaitinfo; if whoever
     * started zeus ignored it (nohup, a background job), it stays ignored and never comes.
     * SIGCHLD ignored by whoever started zeus would make the kernel reap the command.
     */
    if (sigaction(SIGINT, NULL, &c->old_int) != 0 || sigaction(SIGQUIT, &ign, &c->old_quit) != 0 ||
        sigaction(SIGCHLD, &dfl, &c->old_chld) != 0)
        return -1;
    return 0;
}

void cli_child_restore(struct cli_child *c)
{
    struct sigaction ign;

    /* Ignoring a pending signal discards it: a late Ctrl-C must not kill zeus once unblocked. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, NULL);
    sigaction(SIGQUIT, &c->old_quit, NULL);
    sigaction(SIGCHLD, &c->old_chld, NULL);
    pthread_sigmask(SIG_SETMASK, &c->old_mask, NULL);
    sigaction(SIGINT, &c->old_int, NULL);
}

/* Keep the first signal that asked zeus to stop (note 3). */
static void note_stop(struct cli_child *c, int sig)
{
    if (c->stop_signal == 0)
        c->stop_signal = sig;
}

/* ---- Starting ---------------------------------------------------------------------------- */

/* In the forked child: only async-signal-safe calls from here on (note 5). */
static void exec_command(struct cli_child *c, char *const argv[], int err_fd)
{
    int err;

    sigaction(SIGINT, &c->old_int, NULL);
    sigaction(SIGQUIT, &c->old_quit, NULL);
    sigaction(SIGCHLD, &c->old_chld, NULL);
    sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
    execvp(argv[0], argv);
    err = errno;
    while (write(err_fd, &err, sizeof err) < 0 && errno == EINTR)
        ;
    _exit(err == ENOENT || err == ENOTDIR ? CLI_EXIT_NOT_FOUND : CLI_EXIT_CANNOT_EXECUTE);
}

/* Read the child's exec errno: 0 when the pipe closed empty, that is, exec succeeded. */
static int read_exec_error(int fd)
{
    int err = 0;
    ssize_t n;

    do
        n = read(fd, &err, sizeof err);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof err ? err : 0;
}

int cli_child_start(struct cli_child *c, char *const argv[])
{
    int fds[2];
    int err;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    c->pid = fork();
    if (c->pid < 0) {
        err = errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (c->pid == 0)
        exec_command(c, argv, fds[1]);
    close(fds[1]);
    err = read_exec_error(fds[0]);
    close(fds[0]);
    if (err != 0) {
        /* the child has exited; reap it so it is not left a zombie */
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        c->pid = -1;
    }
    return err;
}

/* ---- Waiting ----------------------------------------------------------------------------- */

static int shell_status(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

const char *cli_signal_name(int sig)
{
    static __thread char name[16];
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev == NULL)
        return "unknown signal";
    snprintf(name, sizeof name, "SIG%s", abbrev);
    return name;
}

int cli_child_wait(struct cli_child *c)
{
    sigset_t set;
    siginfo_t info;
    int status;

    waited_signals(&set);
    for (;;) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);

        if (r == c->pid && (WIFEXITED(status) || WIFSIGNALED(status)))
            break;
        if (r < 0 && errno != EINTR)
            return CLI_EXIT_RUN_FAILED; /* ECHILD: someone else reaped it; cannot happen here */
        /* SIGCHLD stays pending while blocked, so an exit before this call is not missed */
        if (sigwaitinfo(&set, &info) < 0)
            continue;
        if (info.si_signo != SIGCHLD)
            note_stop(c, info.si_signo);
        if (info.si_signo == SIGTERM || info.si_signo == SIGHUP)
            kill(c->pid, info.si_signo); /* not SIGINT: the terminal sent it already (note 1) */
    }
    c->pid = -1;
    c->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return shell_status(status);
}

/* ---- Pausing between runs ---------------------------------------------------------------- */

static double monotonic_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_child_pause(struct cli_child *c, double seconds)
{
    double end_s = monotonic_s() + seconds;
    sigset_t set;
    siginfo_t info;

    waited_signals(&set);
    /* polls at least once, so that a signal that came while zeus was printing is seen */
    while (c->stop_signal == 0) {
        double left_s = end_s - monotonic_s();
        struct timespec left;
        int sig;

        left_s = left_s > 0 ? left_s : 0;
        left.tv_sec = (time_t)left_s;
        left.tv_nsec = (long)((left_s - (double)left.tv_sec) * 1e9);
        sig = sigtimedwait(&set, &info, &left);
        if (sig < 0 && errno == EAGAIN)
            break; /* the pause is over */
        /* EINTR, or a SIGCHLD left pending by the last command: wait for the rest */
        if (sig > 0 && sig != SIGCHLD)
            note_stop(c, sig);
    }
    return c->stop_signal;
}
