/*
 * syscall-cost: what a seccomp filter adds to each system call, in ns/call (bench/launch).
 *
 *   syscall-cost [--rounds R] [--calls N] [--label NAME] [FILTER.bpf]
 *
 * Installs FILTER.bpf (a raw struct sock_filter array, as seccompkit compile -o and seccomp_export_bpf write)
 * in this process with no_new_privs + seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW) — the
 * Docker profile's flag, so the filter does not also switch on speculative-store-bypass mitigation — or
 * nothing without a file (the baseline). Then, for each call below, runs R rounds of N raw syscall(2) calls
 * (after one warm-up round) and prints one JSON object per line:
 *   {"label": .., "call": .., "result": .., "rounds": R, "calls": N, "medianNs": .., "minNs": .., "maxNs": ..}
 * with the median, fastest and slowest round's time per call.
 *
 * The calls, chosen to be harmless whether or not a filter is installed and whatever the filter answers:
 *   getppid                    always allowed by the Docker profile: the kernel's action cache skips the filter
 *   personality(0xffffffff)    a query; the Docker profile allows personality only for five argument values
 *   clone(CLONE_SIGHAND)       passes the profile's clone flag check (flags & 0x7e020000 == 0), then the kernel
 *                              refuses it with EINVAL (CLONE_SIGHAND needs CLONE_VM) before creating anything
 *   clone(CLONE_NEWUSER|CLONE_SIGHAND)  refused by the filter (EPERM); without a filter, EINVAL as above
 * "result" is the first call's return value or -errno, so a reader can see which answer was timed.
 *
 * Build: native/build.sh. Linux x86_64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct call {
	const char *name;
	long nr;
	unsigned long arg0;
};

static const struct call calls[] = {
	{ "getppid", SYS_getppid, 0 },
	{ "personality(0xffffffff)", SYS_personality, 0xffffffffUL },
	{ "clone(CLONE_SIGHAND)", SYS_clone, CLONE_SIGHAND },
	{ "clone(CLONE_NEWUSER|CLONE_SIGHAND)", SYS_clone, CLONE_NEWUSER | CLONE_SIGHAND },
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long call_once(const struct call *c)
{
	long r = syscall(c->nr, c->arg0, 0UL, 0UL, 0UL, 0UL, 0UL);
	if (r == 0 && c->nr == SYS_clone)
		_exit(0); /* cannot happen (see above); if a kernel ever created a child, it must not run the benchmark */
	return r < 0 ? -errno : r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void install(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		exit(3);
	}
	if (st.st_size <= 0 || st.st_size % 8 != 0 || st.st_size / 8 > BPF_MAXINSNS) {
		fprintf(stderr, "syscall-cost: %s: %lld bytes is not a raw filter (a multiple of 8, at most %d instructions)\n",
			path, (long long)st.st_size, BPF_MAXINSNS);
		exit(3);
	}
	struct sock_filter *insns = malloc((size_t)st.st_size);
	if (insns == NULL || read(fd, insns, (size_t)st.st_size) != st.st_size) {
		perror(path);
		exit(3);
	}
	close(fd);
	struct sock_fprog prog = { .len = (unsigned short)(st.st_size / 8), .filter = insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("syscall-cost: prctl(PR_SET_NO_NEW_PRIVS)");
		exit(1);
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) != 0) {
		perror("syscall-cost: seccomp(SECCOMP_SET_MODE_FILTER)");
		exit(1);
	}
	free(insns);
}

int main(int argc, char **argv)
{
	long rounds = 15, n = 200000;
	const char *label = NULL, *filter = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (argv[i][0] != '-' && filter == NULL)
			filter = argv[i];
		else {
			fputs("usage: syscall-cost [--rounds R] [--calls N] [--label NAME] [FILTER.bpf]\n", stderr);
			return 2;
		}
	}
	if (rounds < 1 || n < 1) {
		fputs("syscall-cost: --rounds and --calls must be positive\n", stderr);
		return 2;
	}
	if (label == NULL)
		label = filter ? filter : "none";
	if (filter != NULL)
		install(filter);

	double *per = calloc((size_t)rounds, sizeof(*per));
	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		const struct call *k = &calls[c];
		long result = call_once(k);
		for (long r = -1; r < rounds; r++) { /* round -1 warms up */
			uint64_t start = now_ns();
			for (long i = 0; i < n; i++)
				if (syscall(k->nr, k->arg0, 0UL, 0UL, 0UL, 0UL, 0UL) == 0 && k->nr == SYS_clone)
					_exit(0); /* as in call_once */
			uint64_t end = now_ns();
			if (r >= 0)
				per[r] = (double)(end - start) / (double)n;
		}
		qsort(per, (size_t)rounds, sizeof(*per), cmp_double);
		double median = rounds % 2 ? per[rounds / 2] : (per[rounds / 2 - 1] + per[rounds / 2]) / 2;
		printf("{\"label\": \"%s\", \"call\": \"%s\", \"result\": %ld, \"rounds\": %ld, \"calls\": %ld, "
		       "\"medianNs\": %.2f, \"minNs\": %.2f, \"maxNs\": %.2f}\n",
		       label, k->name, result, rounds, n, median, per[0], per[rounds - 1]);
	}
	free(per);
	return fflush(stdout) == 0 ? 0 : 4;
}
