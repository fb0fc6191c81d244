/*
 * A multi-threaded program with SIGWINCH and SIGCHLD handlers, for LearnedSignalSpecs: three threads sleep 1.5 s
 * (nanosleep, resumed with the time left after a handler ran), main prints "ready" and joins them (futex), then prints
 * how many of each signal its handlers saw. No signal is needed to learn it; under its profile, a handler's return
 * (rt_sigreturn), a stop or a ptrace attach (restart_syscall, futex waits resumed) must change nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t winch, chld;

static void on_signal(int sig)
{
    if (sig == SIGWINCH) winch++;
    else chld++;
}

static void *sleeper(void *arg)
{
    struct timespec left = { .tv_sec = 1, .tv_nsec = 500000000 };
    while (nanosleep(&left, &left) == -1 && errno == EINTR) { }
    return arg;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) pthread_create(&threads[i], NULL, sleeper, NULL);
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    printf("done: winch %d, chld %d\n", (int)winch, (int)chld);
    return 0;
}
