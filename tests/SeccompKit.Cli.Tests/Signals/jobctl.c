/*
 * jobctl PROGRAM ARGS...: runs PROGRAM as a job-control shell runs a foreground job, for the signal tests
 * (LearnedSignalSpecs, ContainerSignalSpecs). It starts a new session (as a terminal's shell is a session leader), forks,
 * and puts the child in a process group of its own (setpgid), so that:
 *   - the test can signal the job's whole group, as a terminal does (Ctrl-C, Ctrl-Z, a resize, a hangup), without
 *     signalling the test itself;
 *   - the group is not orphaned (its parent, jobctl, is in the same session but another group), so SIGTSTP, SIGTTIN and
 *     SIGTTOU stop it: the kernel discards them for an orphaned group (POSIX; kernel/signal.c is_current_pgrp_orphaned),
 *     as it would for a job started with setsid alone.
 * The child gets default dispositions and an empty signal mask, as a shell gives a foreground job. jobctl waits for it
 * and exits with its status as a shell reports it: the exit code, or 128 + the signal that killed it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: jobctl PROGRAM [ARGS...]\n");
        return 2;
    }
    if (setsid() < 0) {
        perror("jobctl: setsid");
        return 125;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("jobctl: fork");
        return 125;
    }
    if (child == 0) {
        setpgid(0, 0);
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    setpgid(child, child); /* also here: the test may look for the group before the child ran */
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) {
            perror("jobctl: waitpid");
            return 125;
        }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
