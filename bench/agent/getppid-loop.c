/* The notified workload of bench/agent: makes N raw getppid(2) calls and prints how long they took, measured inside
 * the container (CLOCK_MONOTONIC), so the agent's per-call cost is not mixed with the container's start and exit.
 * Built static (gcc -static) and copied into the busybox rootfs as /bin/getppid-loop.
 *   getppid-loop N  ->  "calls N ns T\n" */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: getppid-loop N\n"); return 2; }
    long n = strtol(argv[1], NULL, 10);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("calls %ld ns %lld\n", n, ns);
    return 0;
}
