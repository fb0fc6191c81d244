/*
 * notify-rtt: the round trip of one seccomp user notification (bench/learn), both halves of the measurement.
 *
 *   notify-rtt target --label L [--batches B] [--calls N]
 *       The target. Makes one warm-up batch, then B batches of N raw getppid() calls (syscall(2), so that no libc
 *       cache can answer), timing each batch with CLOCK_MONOTONIC (vDSO: not a syscall, never notified), and prints
 *       one JSON line: {"role": "target", "label": L, "batches": B, "calls": N, "result": R, "nsPerCall": [...]},
 *       R being the first call's return value (the supervisor's answer, or the real parent's pid after CONTINUE).
 *       Run without a filter it gives the unfiltered cost of the call; run under a supervisor, the time per call
 *       is the notification round trip plus that cost.
 *
 *   notify-rtt supervise --label L [--sync] [--poll] [--respond continue|return] -- PROGRAM [ARGS...]
 *       The C anchor of the round trip: libseccomp's notify API, as lean as it gets. Forks; the child builds the
 *       filter with libseccomp (seccomp_init(SCMP_ACT_ALLOW) + SCMP_ACT_NOTIFY for getppid), seccomp_load's it
 *       (no_new_privs first, libseccomp's default), hands the listener (seccomp_notify_fd) to the parent over a
 *       socketpair (SCM_RIGHTS) and execv's PROGRAM. The parent optionally switches on SYNC_WAKE_UP, then one
 *       responder thread loops: memset the request (the kernel wants it zeroed), seccomp_notify_receive (blocks),
 *       seccomp_notify_respond with CONTINUE (SECCOMP_USER_NOTIF_FLAG_CONTINUE) or the value 4242; the main thread
 *       waits for the child. With --poll the responder first waits in poll(2) on the listener and an eventfd (the
 *       stop signal a stoppable loop needs; never written here), as SeccompKit's NotificationSupervisor does: the
 *       cost of that extra syscall per notification, for the breakdown. Prints one JSON line after the child has
 *       exited: {"role": "supervisor", "label": L, "impl": "c-libseccomp" or "c-libseccomp+poll", "pid": ...,
 *       "sync": .., "respond": .., "notifications": .., "exit": ..}.
 *       Exit status: the child's (128 + signal when killed); 2 usage, 120 a setup step failed.
 *
 * SYNC_WAKE_UP (Linux 6.6) is ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP): the
 * kernel then wakes the supervisor on the target's CPU and the target on the supervisor's, a direct hand-off
 * instead of a cross-CPU wake-up. libseccomp 2.5.4 has no call for it, and Debian 12's kernel headers (6.1) do
 * not define it, so both values are spelled out below as include/uapi/linux/seccomp.h has them.
 *
 * The responder ends when the child has been reaped: the kernel drops the filter's last user only then
 * (release_task), after which NOTIF_RECV no longer blocks and fails, and the thread sees the flag the main
 * thread set. Build: native/build.sh (gcc -O2 ... -lseccomp -lpthread; Debian: libseccomp-dev). Linux x86_64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW(SECCOMP_IOC_MAGIC, 4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define EXIT_USAGE 2
#define EXIT_SETUP 120
#define RETURN_VALUE 4242
#define MAX_THREADS 64

static const char usage[] =
	"usage: notify-rtt target --label L [--batches B] [--calls N]\n"
	"       notify-rtt many --label L --workers W [--threads] [--kill K] [--ms MS]\n"
	"       notify-rtt supervise --label L [--sync] [--poll | --raw [--threads N]] [--respond continue|return] -- PROGRAM [ARGS...]\n";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int target(const char *label, long batches, long n)
{
	long result = syscall(SYS_getppid);
	double *per = calloc((size_t)batches, sizeof(*per));
	if (per == NULL)
		return EXIT_SETUP;
	for (long b = -1; b < batches; b++) { /* batch -1 warms up */
		uint64_t start = now_ns();
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		uint64_t end = now_ns();
		if (b >= 0)
			per[b] = (double)(end - start) / (double)n;
	}
	printf("{\"role\": \"target\", \"label\": \"%s\", \"batches\": %ld, \"calls\": %ld, \"result\": %ld, \"nsPerCall\": [",
	       label, batches, n, result);
	for (long b = 0; b < batches; b++)
		printf("%s%.2f", b ? ", " : "", per[b]);
	printf("]}\n");
	free(per);
	return fflush(stdout) == 0 ? 0 : 4;
}

/*
 * The many-target workload: W workers (processes, or threads of this process with --threads) each make raw getppid
 * calls for --ms milliseconds, timing every call (CLOCK_MONOTONIC, vDSO) into a histogram shared by all of them (a
 * MAP_SHARED page set up before the fork: 100 ns buckets up to 1 ms, then one overflow bucket). With --kill K, K more
 * worker processes run the same loop and are SIGKILLed by the parent halfway, most likely in the middle of a notified
 * call (their time is nearly all spent there): the supervisor must survive them and the others must go on.
 * Prints {"role": "many", "label": L, "workers": W, "mode": "procs"|"threads", "killed": K, "calls": N, "seconds": S,
 * "callsPerSecond": N/S, "p50Us": .., "p99Us": .., "maxBucketUs": ..} counting the surviving workers' calls only.
 */
#define BUCKETS 10001
struct histogram {
	atomic_long calls;
	atomic_long bucket[BUCKETS];
};

static struct histogram *hist;
static long run_ms;

static void worker_loop(int count)
{
	uint64_t end = now_ns() + (uint64_t)run_ms * 1000000ULL;
	long local = 0;
	for (;;) {
		uint64_t t0 = now_ns();
		syscall(SYS_getppid);
		uint64_t t1 = now_ns();
		if (count) {
			uint64_t b = (t1 - t0) / 100;
			atomic_fetch_add_explicit(&hist->bucket[b < BUCKETS - 1 ? b : BUCKETS - 1], 1, memory_order_relaxed);
			local++;
		}
		if (t1 >= end)
			break;
	}
	if (count)
		atomic_fetch_add(&hist->calls, local);
}

static void *worker_thread(void *arg)
{
	(void)arg;
	worker_loop(1);
	return NULL;
}

static double percentile(double p)
{
	long total = 0, seen = 0;
	for (int b = 0; b < BUCKETS; b++)
		total += atomic_load(&hist->bucket[b]);
	for (int b = 0; b < BUCKETS; b++) {
		seen += atomic_load(&hist->bucket[b]);
		if (total > 0 && (double)seen >= p * (double)total)
			return (b + 1) * 0.1; /* the bucket's upper edge, in microseconds */
	}
	return 0;
}

static int many(const char *label, int workers, int use_threads, int kill_count, long ms)
{
	run_ms = ms;
	hist = mmap(NULL, sizeof(*hist), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hist == MAP_FAILED)
		return EXIT_SETUP;
	pid_t victims[MAX_THREADS];
	for (int k = 0; k < kill_count; k++) {
		victims[k] = fork();
		if (victims[k] < 0)
			return EXIT_SETUP;
		if (victims[k] == 0) {
			worker_loop(0);
			_exit(0);
		}
	}
	uint64_t start = now_ns();
	pid_t pids[MAX_THREADS];
	pthread_t threads[MAX_THREADS];
	for (int w = 0; w < workers; w++) {
		if (use_threads) {
			if (pthread_create(&threads[w], NULL, worker_thread, NULL) != 0)
				return EXIT_SETUP;
		} else {
			pids[w] = fork();
			if (pids[w] < 0)
				return EXIT_SETUP;
			if (pids[w] == 0) {
				worker_loop(1);
				_exit(0);
			}
		}
	}
	if (kill_count > 0) {
		struct timespec half = { .tv_sec = ms / 2000, .tv_nsec = (ms / 2 % 1000) * 1000000L };
		nanosleep(&half, NULL);
		for (int k = 0; k < kill_count; k++)
			kill(victims[k], SIGKILL);
		for (int k = 0; k < kill_count; k++)
			waitpid(victims[k], NULL, 0);
	}
	int failed = 0;
	for (int w = 0; w < workers; w++) {
		if (use_threads)
			pthread_join(threads[w], NULL);
		else {
			int status;
			if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
				failed++;
		}
	}
	double seconds = (double)(now_ns() - start) / 1e9;
	long calls = atomic_load(&hist->calls);
	double max_us = 0;
	for (int b = BUCKETS - 1; b >= 0; b--)
		if (atomic_load(&hist->bucket[b])) {
			max_us = (b + 1) * 0.1;
			break;
		}
	printf("{\"role\": \"many\", \"label\": \"%s\", \"workers\": %d, \"mode\": \"%s\", \"killed\": %d, \"failed\": %d, \"calls\": %ld, "
	       "\"seconds\": %.4f, \"callsPerSecond\": %.0f, \"p50Us\": %.1f, \"p99Us\": %.1f, \"maxBucketUs\": %.1f}\n",
	       label, workers, use_threads ? "threads" : "procs", kill_count, failed, calls, seconds, (double)calls / seconds,
	       percentile(0.5), percentile(0.99), max_us);
	return fflush(stdout) == 0 && failed == 0 ? 0 : 4;
}

struct responder {
	int fd;
	int respond_value; /* 0: CONTINUE, 1: return RETURN_VALUE */
	int stop_fd;       /* -1, or the eventfd to poll beside the listener (--poll) */
	atomic_long notifications;
	atomic_int child_gone;
};

/*
 * The raw loop (--raw): no library between the loop and the kernel. One zeroed struct seccomp_notif of the kernel's
 * size (SECCOMP_GET_NOTIF_SIZES), ioctl(NOTIF_RECV) blocking, ioctl(NOTIF_SEND) with CONTINUE or the value; ENOENT
 * from NOTIF_RECV means the notification vanished (its target was interrupted) or, since Linux 6.11, that no task
 * uses the filter any more: the loop ends once the main thread has reaped the child. Every thread of --threads N
 * runs it on the same listener (the kernel hands each notification to one of them).
 */
static void *respond_loop_raw(void *arg)
{
	struct responder *r = arg;
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
		perror("notify-rtt: seccomp(SECCOMP_GET_NOTIF_SIZES)");
		exit(EXIT_SETUP);
	}
	size_t size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
	struct seccomp_notif *req = calloc(1, size);
	if (req == NULL)
		exit(EXIT_SETUP);
	for (;;) {
		memset(req, 0, size);
		if (ioctl(r->fd, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
			if (errno == EINTR)
				continue;
			if (errno != ENOENT) {
				perror("notify-rtt: ioctl(SECCOMP_IOCTL_NOTIF_RECV)");
				exit(EXIT_SETUP);
			}
			if (atomic_load(&r->child_gone))
				break;
			continue;
		}
		struct seccomp_notif_resp resp = { .id = req->id };
		if (r->respond_value)
			resp.val = RETURN_VALUE;
		else
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (ioctl(r->fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0)
			atomic_fetch_add(&r->notifications, 1);
	}
	free(req);
	return NULL;
}

static void *respond_loop(void *arg)
{
	struct responder *r = arg;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	struct seccomp_notif_sizes sizes;
	if (seccomp_notify_alloc(&req, &resp) != 0) {
		fputs("notify-rtt: seccomp_notify_alloc failed\n", stderr);
		exit(EXIT_SETUP);
	}
	/* seccomp_notify_alloc sized the buffers with SECCOMP_GET_NOTIF_SIZES; zero that much before each receive. */
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
		perror("notify-rtt: seccomp(SECCOMP_GET_NOTIF_SIZES)");
		exit(EXIT_SETUP);
	}
	for (;;) {
		if (r->stop_fd >= 0) {
			struct pollfd fds[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->stop_fd, .events = POLLIN } };
			if (poll(fds, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				perror("notify-rtt: poll");
				exit(EXIT_SETUP);
			}
			if (fds[1].revents != 0)
				break;
			if (!(fds[0].revents & POLLIN) && (fds[0].revents & (POLLHUP | POLLERR)))
				break; /* no task uses the filter any more */
		}
		memset(req, 0, sizes.seccomp_notif);
		if (seccomp_notify_receive(r->fd, req) != 0) {
			/* ENOENT: the target was interrupted, or (after the reap) the filter has no user left. */
			if (atomic_load(&r->child_gone))
				break;
			continue;
		}
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		if (r->respond_value)
			resp->val = RETURN_VALUE;
		else
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (seccomp_notify_respond(r->fd, resp) == 0)
			atomic_fetch_add(&r->notifications, 1);
	}
	seccomp_notify_free(req, resp);
	return NULL;
}

static int send_fd(int sock, int fd)
{
	char data = 'L';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The child: filter, hand the listener over, exec. Never returns. */
static void child(int sock, char **argv)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0) != 0) {
		fputs("notify-rtt: building the filter with libseccomp failed\n", stderr);
		_exit(EXIT_SETUP);
	}
	int rc = seccomp_load(ctx);
	if (rc != 0) {
		fprintf(stderr, "notify-rtt: seccomp_load: %s\n", strerror(-rc));
		_exit(EXIT_SETUP);
	}
	int fd = seccomp_notify_fd(ctx);
	if (fd < 0 || send_fd(sock, fd) != 0) {
		perror("notify-rtt: handing the listener over");
		_exit(EXIT_SETUP);
	}
	close(fd);
	close(sock);
	execv(argv[0], argv);
	fprintf(stderr, "notify-rtt: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int supervise(const char *label, int sync, int use_poll, int raw, int threads, int respond_value, char **argv)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("notify-rtt: socketpair");
		return EXIT_SETUP;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("notify-rtt: fork");
		return EXIT_SETUP;
	}
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], argv);
	}
	close(sv[1]);
	struct responder r = { .fd = recv_fd(sv[0]), .respond_value = respond_value,
			       .stop_fd = use_poll ? eventfd(0, EFD_CLOEXEC) : -1 };
	close(sv[0]);
	if (r.fd < 0) {
		fputs("notify-rtt: the child did not hand its listener over\n", stderr);
		waitpid(pid, NULL, 0);
		return EXIT_SETUP;
	}
	if (sync && ioctl(r.fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) != 0) {
		perror("notify-rtt: ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS, SYNC_WAKE_UP) (needs Linux 6.6)");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return EXIT_SETUP;
	}
	pthread_t thread[MAX_THREADS];
	for (int t = 0; t < threads; t++) {
		if (pthread_create(&thread[t], NULL, raw ? respond_loop_raw : respond_loop, &r) != 0) {
			fputs("notify-rtt: pthread_create failed\n", stderr);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return EXIT_SETUP;
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	atomic_store(&r.child_gone, 1);
	for (int t = 0; t < threads; t++)
		pthread_join(thread[t], NULL);
	close(r.fd);
	if (r.stop_fd >= 0)
		close(r.stop_fd);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("{\"role\": \"supervisor\", \"label\": \"%s\", \"impl\": \"%s\", \"threads\": %d, \"pid\": %ld, \"sync\": %s, "
	       "\"respond\": \"%s\", \"notifications\": %ld, \"exit\": %d}\n",
	       label, raw ? "c-raw" : use_poll ? "c-libseccomp+poll" : "c-libseccomp", threads, (long)getpid(), sync ? "true" : "false",
	       respond_value ? "return" : "continue", atomic_load(&r.notifications), code);
	return fflush(stdout) == 0 ? code : 4;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "many") == 0) {
		const char *mlabel = NULL;
		int workers = 0, use_threads = 0, kill_count = 0;
		long ms = 1000;
		for (int j = 2; j < argc; j++) {
			if (strcmp(argv[j], "--label") == 0 && j + 1 < argc)
				mlabel = argv[++j];
			else if (strcmp(argv[j], "--workers") == 0 && j + 1 < argc)
				workers = (int)strtol(argv[++j], NULL, 10);
			else if (strcmp(argv[j], "--threads") == 0)
				use_threads = 1;
			else if (strcmp(argv[j], "--kill") == 0 && j + 1 < argc)
				kill_count = (int)strtol(argv[++j], NULL, 10);
			else if (strcmp(argv[j], "--ms") == 0 && j + 1 < argc)
				ms = strtol(argv[++j], NULL, 10);
			else {
				fputs(usage, stderr);
				return EXIT_USAGE;
			}
		}
		if (mlabel == NULL || strchr(mlabel, '"') != NULL || strchr(mlabel, '\\') != NULL || workers < 1 || workers > MAX_THREADS ||
		    kill_count < 0 || kill_count > MAX_THREADS || ms < 10) {
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
		return many(mlabel, workers, use_threads, kill_count, ms);
	}
	int is_target = strcmp(argv[1], "target") == 0;
	if (!is_target && strcmp(argv[1], "supervise") != 0) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *label = NULL;
	long batches = 100, n = 1000;
	int sync = 0, use_poll = 0, raw = 0, threads = 1, respond_value = 0, i;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (is_target && strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
			batches = strtol(argv[++i], NULL, 10);
		else if (is_target && strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (!is_target && strcmp(argv[i], "--sync") == 0)
			sync = 1;
		else if (!is_target && strcmp(argv[i], "--poll") == 0)
			use_poll = 1;
		else if (!is_target && strcmp(argv[i], "--raw") == 0)
			raw = 1;
		else if (!is_target && strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (int)strtol(argv[++i], NULL, 10);
		else if (!is_target && strcmp(argv[i], "--respond") == 0 && i + 1 < argc) {
			const char *v = argv[++i];
			if (strcmp(v, "continue") == 0)
				respond_value = 0;
			else if (strcmp(v, "return") == 0)
				respond_value = 1;
			else {
				fputs(usage, stderr);
				return EXIT_USAGE;
			}
		} else if (!is_target && strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (label == NULL || strchr(label, '"') != NULL || strchr(label, '\\') != NULL || batches < 1 || n < 1 ||
	    (!is_target && i >= argc) || threads < 1 || threads > MAX_THREADS || (use_poll && raw) || (threads > 1 && !raw)) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	return is_target ? target(label, batches, n) : supervise(label, sync, use_poll, raw, threads, respond_value, argv + i);
}
