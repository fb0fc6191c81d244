/*
 * seccomp-hold: a victim process for the `dump` tests (tests/SeccompKit.Linux.Tests/Inspect).
 *
 *   seccomp-hold [--stop] [FILE.bpf ...]
 *
 * The helper forks a child and only waits for it: the child is the process to dump. Being a grandchild
 * of the test process keeps its ptrace stops away from .NET, whose SIGCHLD handling calls
 * waitpid(child, WNOHANG) for every child it started and would take (and misread as an exit) a stop
 * report meant for the tracer. The helper exits with the child's exit status, or 128 + the signal that
 * killed it.
 *
 * The child installs a handler counting SIGRTMIN+1 (SA_RESTART), sets no_new_privs if any FILE is
 * given, installs every FILE (raw struct sock_filter arrays) with seccomp(SECCOMP_SET_MODE_FILTER, 0)
 * in the order given (so the first FILE is the oldest filter), then writes "ready PID\n" to stdout and
 * reads commands from stdin, one per line, answering each with one line:
 *
 *   call NR          syscall(NR, 0, 0, 0, 0, 0, 0)         -> "ret R errno E"
 *   signals          SIGRTMIN+1 received so far            -> "signals N"
 *   storm N USEC [SIG TID]
 *                    forks a sender that sends N SIGRTMIN+1 to the child, USEC microseconds apart (or N signal
 *                    SIG to its thread TID with tgkill)    -> "storming" at once (the sender is reaped later)
 *   vfork USEC       vfork()s a child that writes "vforking" and sleeps USEC microseconds before it
 *                    exits; meanwhile this process waits in vfork (TASK_KILLABLE: no ptrace stop can
 *                    happen there)                         -> "vforking", then "vforked"
 *   exit N           _exit(N)                              -> no answer
 *   block KIND MS [FILE]
 *                    starts a thread that (after installing FILE on itself only, if given) writes "blocking TID",
 *                    blocks in the system call KIND (table below; MS is its timeout in milliseconds where it
 *                    has one) and, when the call returns, writes "returned R errno E ms T" (T = milliseconds
 *                    spent in the call) followed by " tid TID". The main thread answers nothing and goes on reading
 *                    commands, blocked in read(2) on its stdin pipe. Up to 4 blocked (or looping) threads.
 *   wake [TID]       ends the wait of the last blocked thread started (or of thread TID) the way its KIND is meant
 *                    to end (a byte written to the pipe or socket it waits on, FUTEX_WAKE, a signal, a lock
 *                    released...) -> no answer of its own; the blocked thread then writes its "returned" line
 *   loop KIND N SPIN MS
 *                    starts a thread that writes "looping TID", then N times busy-waits SPIN microseconds (no
 *                    system call) and makes the call KIND with a timeout of MS milliseconds (KIND: nanosleep,
 *                    clock_nanosleep, epoll_wait, poll); at the end it writes "looped N bad B ms T", B being the
 *                    calls that did not end in their timeout (any error, EINTR or EPERM included)
 *
 * The KINDs of block, in the names of docs/KERNEL-FINDINGS.md (all made with syscall(2), so the number is
 * exactly the one named):
 *   timed (MS):  nanosleep, clock_nanosleep (relative), clock_nanosleep_abs (TIMER_ABSTIME), futex (FUTEX_WAIT
 *                with a relative timeout), futex_bitset_abs (FUTEX_WAIT_BITSET, absolute), futex_waitv
 *                (absolute), poll, ppoll, select, pselect6, epoll_wait, epoll_pwait, epoll_pwait2,
 *                rt_sigtimedwait, semtimedop, io_getevents, recvfrom_rcvtimeo (a socket with SO_RCVTIMEO =
 *                MS), int80_nanosleep (nanosleep through int 0x80: the i386 ABI); each ends in its timeout
 *   woken:       poll_inf, epoll_wait_inf, futex_inf (no timeout), read_pipe, write_pipe (a full pipe),
 *                recvfrom, accept, wait4, waitid, pause, rt_sigsuspend, sigwaitinfo, semop, msgrcv, flock,
 *                ofd_setlkw (fcntl F_OFD_SETLKW), read_eventfd, read_signalfd, read_timerfd, read_inotify,
 *                read_pty; notify: getppid under a filter (on that thread only) that sends it to a seccomp
 *                user-notification listener the main thread holds: the main thread receives the notification at
 *                once and answers it (42) only on 'wake'; notify_killable: the same with
 *                SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, so that the received call waits killably. For these two,
 *                a second line "received" follows "blocking TID" once the main thread holds the notification;
 *                'wake' answers "answering after N withdrawn" first, N counting the notifications found withdrawn
 *                (NOTIF_ID_VALID fails) and replaced by a new one of the call made again
 *
 * At EOF the child exits 0. With --stop the child stops itself (raise(SIGSTOP)) right after "ready";
 * SIGCONT lets it read commands. Installing a filter that refuses read, write or exit_group makes the
 * child useless; the tests' filters only refuse calls the helper does not make.
 *
 * Errors are reported on stderr; exit status 90 means a FILE could not be read or installed.
 * Build: native/build.sh (gcc -O2 -Wall -Werror -pthread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t received;

static void on_signal(int sig)
{
	(void)sig;
	received++;
}

static void install(const char *path)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp-hold: prctl(PR_SET_NO_NEW_PRIVS)");
		_exit(90);
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "seccomp-hold: %s: %s\n", path, strerror(errno));
		_exit(90);
	}
	static struct sock_filter prog[4096];
	size_t n = fread(prog, sizeof prog[0], sizeof prog / sizeof prog[0], f);
	fclose(f);
	struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
		fprintf(stderr, "seccomp-hold: installing %s (%zu instructions): %s\n", path, n, strerror(errno));
		_exit(90);
	}
}

static void say(const char *line)
{
	size_t len = strlen(line), done = 0;
	while (done < len) {
		ssize_t w = write(STDOUT_FILENO, line + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(91);
		done += (size_t)w;
	}
}

/* Reads one line (without the newline) into buf; returns 0 at EOF. read(2) one byte at a time keeps
 * the child free of stdio buffering, so it never reads past the command it answers. */
static int read_line(char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			_exit(92);
		if (r == 0)
			return n > 0 ? (buf[n] = 0, 1) : 0;
		if (c == '\n') {
			buf[n] = 0;
			return 1;
		}
		if (n + 1 < size)
			buf[n++] = c;
	}
}


/* ---- block / wake / loop: a second thread blocked in a chosen system call ---- */

struct blocker {
	char kind[32];
	char filter[256];
	long ms, n, spin;
	pid_t tid;
	int pipe[2];		/* poll_inf, epoll_wait_inf, read_pipe, write_pipe, wait4/waitid (child's exit) */
	int sock[2];		/* recvfrom, recvfrom_rcvtimeo */
	int listener;		/* accept */
	char listener_path[108];
	int fd;			/* eventfd, signalfd, timerfd, inotify, pty master, the second lock fd */
	int lockfd;		/* flock, ofd_setlkw: the fd holding the lock */
	int semid, msqid;
	pid_t child;		/* wait4, waitid */
	char dir[64];		/* read_inotify */
	int futex_word;
	int notify_fd;		/* notify, notify_killable: the listener, set by the blocker */
	unsigned long long notif_id;	/* notify_killable: the notification received at once */
};

/* Up to MAX_BLOCKERS blocked threads; `blk` is the one the current thread works on: a blocker thread its own, the
 * main thread the one it starts or wakes. */
#define MAX_BLOCKERS 4
static struct blocker blockers[MAX_BLOCKERS];
static int nblockers;
static __thread struct blocker *me;
#define blk (*me)

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static struct timespec rel(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	return ts;
}

static struct timespec abs_monotonic(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Prepares what KIND waits on; 0 on success. Runs on the main thread, before the blocker starts. */
static int prepare(const char *k, long ms)
{
	if (pipe(blk.pipe) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, blk.sock) != 0)
		return -1;
	if (!strcmp(k, "recvfrom_rcvtimeo")) {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		return setsockopt(blk.sock[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	if (!strcmp(k, "write_pipe")) {
		/* Fill the pipe so that the next write blocks. */
		int fl = fcntl(blk.pipe[1], F_GETFL);
		fcntl(blk.pipe[1], F_SETFL, fl | O_NONBLOCK);
		char buf[4096];
		memset(buf, 'x', sizeof buf);
		while (write(blk.pipe[1], buf, sizeof buf) > 0)
			;
		return fcntl(blk.pipe[1], F_SETFL, fl);
	}
	if (!strcmp(k, "accept")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(blk.listener_path, sizeof blk.listener_path, "/tmp/seccomp-hold-%d.sock", (int)getpid());
		strcpy(a.sun_path, blk.listener_path);
		unlink(a.sun_path);
		blk.listener = socket(AF_UNIX, SOCK_STREAM, 0);
		if (blk.listener < 0 || bind(blk.listener, (void *)&a, sizeof a) != 0 || listen(blk.listener, 1) != 0)
			return -1;
		return 0;
	}
	if (!strcmp(k, "wait4") || !strcmp(k, "waitid")) {
		blk.child = fork();
		if (blk.child == 0) {
			char c;
			close(blk.pipe[1]);
			while (read(blk.pipe[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(5);
		}
		return blk.child > 0 ? 0 : -1;
	}
	if (!strcmp(k, "semop") || !strcmp(k, "semtimedop")) {
		blk.semid = semget(IPC_PRIVATE, 1, 0600);
		return blk.semid < 0 ? -1 : 0;
	}
	if (!strcmp(k, "msgrcv")) {
		blk.msqid = msgget(IPC_PRIVATE, 0600);
		return blk.msqid < 0 ? -1 : 0;
	}
	if (!strcmp(k, "flock") || !strcmp(k, "ofd_setlkw")) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/seccomp-hold-%d.lock", (int)getpid());
		/* Two open file descriptions of one file: flock and OFD locks conflict between them even in one process. */
		blk.lockfd = open(path, O_RDWR | O_CREAT, 0600);
		blk.fd = open(path, O_RDWR);
		unlink(path);
		if (blk.lockfd < 0 || blk.fd < 0)
			return -1;
		if (!strcmp(k, "flock"))
			return flock(blk.lockfd, LOCK_EX);
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		return fcntl(blk.lockfd, F_OFD_SETLK, &l);
	}
	if (!strcmp(k, "read_eventfd"))
		return (blk.fd = eventfd(0, 0)) < 0 ? -1 : 0;
	if (!strcmp(k, "read_timerfd"))
		return (blk.fd = timerfd_create(CLOCK_MONOTONIC, 0)) < 0 ? -1 : 0;
	if (!strcmp(k, "read_inotify")) {
		snprintf(blk.dir, sizeof blk.dir, "/tmp/seccomp-hold-%d.d", (int)getpid());
		mkdir(blk.dir, 0700);
		blk.fd = inotify_init();
		return blk.fd < 0 || inotify_add_watch(blk.fd, blk.dir, IN_CREATE) < 0 ? -1 : 0;
	}
	if (!strcmp(k, "read_pty")) {
		blk.fd = posix_openpt(O_RDWR | O_NOCTTY);
		return blk.fd < 0 || grantpt(blk.fd) != 0 || unlockpt(blk.fd) != 0 ? -1 : 0;
	}
	return 0;
}

/* The call itself, on the blocker thread. */
static long call(const char *k, long ms)
{
	struct timespec ts = rel(ms);
	char c;
	if (!strcmp(k, "nanosleep"))
		return syscall(SYS_nanosleep, &ts, NULL);
	if (!strcmp(k, "clock_nanosleep"))
		return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
	if (!strcmp(k, "clock_nanosleep_abs")) {
		struct timespec a = abs_monotonic(ms);
		return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &a, NULL);
	}
	if (!strcmp(k, "futex"))
		return syscall(SYS_futex, &blk.futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	if (!strcmp(k, "futex_bitset_abs")) {
		struct timespec a = abs_monotonic(ms);
		return syscall(SYS_futex, &blk.futex_word, FUTEX_WAIT_BITSET_PRIVATE, 0, &a, NULL, FUTEX_BITSET_MATCH_ANY);
	}
	if (!strcmp(k, "futex_inf"))
		return syscall(SYS_futex, &blk.futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	if (!strcmp(k, "futex_waitv")) {
		/* struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 __reserved; }; FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */
		struct { uint64_t val, uaddr; uint32_t flags, reserved; } w = { 0, (uint64_t)(uintptr_t)&blk.futex_word, 2 | 128, 0 };
		struct timespec a = abs_monotonic(ms);
		return syscall(449 /* futex_waitv */, &w, 1, 0, &a, CLOCK_MONOTONIC);
	}
	struct pollfd pfd = { blk.pipe[0], POLLIN, 0 };
	if (!strcmp(k, "poll"))
		return syscall(SYS_poll, &pfd, 1, (int)ms);
	if (!strcmp(k, "poll_inf"))
		return syscall(SYS_poll, &pfd, 1, -1);
	if (!strcmp(k, "ppoll"))
		return syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8);
	fd_set set;
	FD_ZERO(&set);
	FD_SET(blk.pipe[0], &set);
	if (!strcmp(k, "select")) {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		return syscall(SYS_select, blk.pipe[0] + 1, &set, NULL, NULL, &tv);
	}
	if (!strcmp(k, "pselect6"))
		return syscall(SYS_pselect6, blk.pipe[0] + 1, &set, NULL, NULL, &ts, NULL);
	if (!strncmp(k, "epoll_", 6)) {
		struct epoll_event ev = { .events = EPOLLIN };
		int ep = epoll_create1(EPOLL_CLOEXEC);
		epoll_ctl(ep, EPOLL_CTL_ADD, blk.pipe[0], &ev);
		long r;
		if (!strcmp(k, "epoll_wait"))
			r = syscall(SYS_epoll_wait, ep, &ev, 1, (int)ms);
		else if (!strcmp(k, "epoll_wait_inf"))
			r = syscall(SYS_epoll_wait, ep, &ev, 1, -1);
		else if (!strcmp(k, "epoll_pwait"))
			r = syscall(SYS_epoll_pwait, ep, &ev, 1, (int)ms, NULL, 8);
		else
			r = syscall(441 /* epoll_pwait2 */, ep, &ev, 1, &ts, NULL, 8);
		int e = errno;
		close(ep);
		errno = e;
		return r;
	}
	if (!strcmp(k, "rt_sigtimedwait") || !strcmp(k, "sigwaitinfo")) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
		return syscall(SYS_rt_sigtimedwait, &s, NULL, !strcmp(k, "sigwaitinfo") ? NULL : &ts, 8);
	}
	struct sembuf down = { 0, -1, 0 };
	if (!strcmp(k, "semtimedop"))
		return syscall(SYS_semtimedop, blk.semid, &down, 1, &ts);
	if (!strcmp(k, "semop"))
		return syscall(SYS_semop, blk.semid, &down, 1);
	if (!strcmp(k, "io_getevents")) {
		aio_context_t ctx = 0;
		struct io_event ev;
		if (syscall(SYS_io_setup, 1, &ctx) != 0)
			return -1;
		long r = syscall(SYS_io_getevents, ctx, 1, 1, &ev, &ts);
		int e = errno;
		syscall(SYS_io_destroy, ctx);
		errno = e;
		return r;
	}
	if (!strcmp(k, "recvfrom") || !strcmp(k, "recvfrom_rcvtimeo"))
		return syscall(SYS_recvfrom, blk.sock[0], &c, 1, 0, NULL, NULL);
	if (!strcmp(k, "int80_nanosleep")) {
		/* i386 nanosleep (162) with a 32-bit struct timespec below 4 GiB. */
		int32_t *ts32 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (ts32 == MAP_FAILED)
			return -1;
		ts32[0] = (int32_t)(ms / 1000);
		ts32[1] = (int32_t)((ms % 1000) * 1000000L);
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(162L), "b"((long)(uintptr_t)ts32), "c"(0L) : "memory");
		munmap(ts32, 4096);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return r;
	}
	if (!strcmp(k, "read_pipe"))
		return syscall(SYS_read, blk.pipe[0], &c, 1);
	if (!strcmp(k, "write_pipe"))
		return syscall(SYS_write, blk.pipe[1], "y", 1);
	if (!strcmp(k, "accept"))
		return syscall(SYS_accept, blk.listener, NULL, NULL);
	if (!strcmp(k, "wait4"))
		return syscall(SYS_wait4, blk.child, NULL, 0, NULL);
	if (!strcmp(k, "waitid")) {
		siginfo_t si;
		return syscall(SYS_waitid, P_PID, blk.child, &si, WEXITED, NULL);
	}
	if (!strcmp(k, "pause"))
		return syscall(SYS_pause);
	if (!strcmp(k, "rt_sigsuspend")) {
		sigset_t s;
		sigemptyset(&s);
		return syscall(SYS_rt_sigsuspend, &s, 8);
	}
	if (!strcmp(k, "msgrcv")) {
		struct { long type; char text[8]; } m;
		return syscall(SYS_msgrcv, blk.msqid, &m, sizeof m.text, 0, 0);
	}
	if (!strcmp(k, "flock"))
		return syscall(SYS_flock, blk.fd, LOCK_EX);
	if (!strcmp(k, "ofd_setlkw")) {
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		return syscall(SYS_fcntl, blk.fd, F_OFD_SETLKW, &l);
	}
	if (!strcmp(k, "read_eventfd") || !strcmp(k, "read_timerfd")) {
		uint64_t v;
		return syscall(SYS_read, blk.fd, &v, sizeof v);
	}
	if (!strcmp(k, "read_signalfd")) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
		int sfd = signalfd(-1, &s, 0);
		struct signalfd_siginfo si;
		long r = syscall(SYS_read, sfd, &si, sizeof si);
		int e = errno;
		close(sfd);
		errno = e;
		return r;
	}
	if (!strcmp(k, "read_inotify")) {
		char buf[512];
		return syscall(SYS_read, blk.fd, buf, sizeof buf);
	}
	if (!strcmp(k, "read_pty")) {
		/* The terminal side of a new pty, read in canonical mode: a line written to the master ends it. */
		int slave = open(ptsname(blk.fd), O_RDWR | O_NOCTTY);
		char buf[64];
		long r = syscall(SYS_read, slave, buf, sizeof buf);
		int e = errno;
		close(slave);
		errno = e;
		return r;
	}
	if (!strncmp(k, "notify", 6))
		return syscall(SYS_getppid);
	errno = EINVAL;
	return -1;
}

/* notify kinds: a filter on this thread only that sends getppid to a listener, which the main thread keeps. */
static int install_notify(int killable)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | (killable ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	__atomic_store_n(&blk.notify_fd, fd, __ATOMIC_SEQ_CST);
	return fd;
}

static void *block_main(void *arg)
{
	me = arg;
	char line[160];
	if (blk.filter[0])
		install(blk.filter);
	if (!strncmp(blk.kind, "notify", 6) && install_notify(!strcmp(blk.kind, "notify_killable")) < 0) {
		snprintf(line, sizeof line, "block failed: %s\n", strerror(errno));
		say(line);
		return NULL;
	}
	blk.tid = (pid_t)syscall(SYS_gettid);
	struct timespec t0;
	if (blk.n == 0) {
		snprintf(line, sizeof line, "blocking %d\n", (int)blk.tid);
		say(line);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		errno = 0;
		long r = call(blk.kind, blk.ms);
		int e = r == -1 ? errno : 0;
		snprintf(line, sizeof line, "returned %ld errno %d ms %ld tid %d\n", r, e, elapsed_ms(&t0), (int)blk.tid);
		say(line);
		return NULL;
	}
	snprintf(line, sizeof line, "looping %d\n", (int)blk.tid);
	say(line);
	long bad = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < blk.n; i++) {
		struct timespec s0, s;
		clock_gettime(CLOCK_MONOTONIC, &s0);
		do
			clock_gettime(CLOCK_MONOTONIC, &s);
		while ((s.tv_sec - s0.tv_sec) * 1000000L + (s.tv_nsec - s0.tv_nsec) / 1000 < blk.spin);
		errno = 0;
		if (call(blk.kind, blk.ms) != 0)
			bad++;
	}
	snprintf(line, sizeof line, "looped %ld bad %ld ms %ld\n", blk.n, bad, elapsed_ms(&t0));
	say(line);
	return NULL;
}

static void start_blocker(void)
{
	pthread_t t;
	if (prepare(blk.kind, blk.ms) != 0) {
		char line[128];
		snprintf(line, sizeof line, "block failed: %s\n", strerror(errno));
		say(line);
		return;
	}
	blk.notify_fd = -2; /* -2: not installed yet; -1: installing failed */
	pthread_create(&t, NULL, block_main, me);
	pthread_detach(t);
	if (!strncmp(blk.kind, "notify", 6)) {
		/* Receive the notification at once, without answering (with WAIT_KILLABLE_RECV the wait becomes killable). */
		int fd;
		while ((fd = __atomic_load_n(&blk.notify_fd, __ATOMIC_SEQ_CST)) == -2)
			sched_yield();
		struct seccomp_notif n;
		memset(&n, 0, sizeof n);
		while (fd >= 0 && ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) {
			if (errno != EINTR && errno != ENOENT)
				return;
			memset(&n, 0, sizeof n);
		}
		blk.notif_id = n.id;
		/* After "blocking TID" (said before the call is made): from here the notification is received, so an
		 * interrupt withdraws a received notification, not one still queued. */
		say("received\n");
	}
}

/* Ends the blocked call the normal way for its kind. */
static void wake(void)
{
	const char *k = blk.kind;
	char c = 'w';
	if (!strcmp(k, "write_pipe")) {
		char buf[4096];
		int fl = fcntl(blk.pipe[0], F_GETFL);
		fcntl(blk.pipe[0], F_SETFL, fl | O_NONBLOCK);
		while (read(blk.pipe[0], buf, sizeof buf) > 0)
			;
	} else if (!strcmp(k, "recvfrom")) {
		if (write(blk.sock[1], &c, 1) != 1)
			perror("seccomp-hold: wake");
	} else if (!strcmp(k, "futex_inf")) {
		__atomic_store_n(&blk.futex_word, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &blk.futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	} else if (!strcmp(k, "accept")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		strcpy(a.sun_path, blk.listener_path);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(s, (void *)&a, sizeof a) != 0)
			perror("seccomp-hold: wake");
		unlink(blk.listener_path);
	} else if (!strcmp(k, "pause") || !strcmp(k, "rt_sigsuspend")) {
		syscall(SYS_tgkill, getpid(), blk.tid, SIGUSR1);
	} else if (!strcmp(k, "sigwaitinfo") || !strcmp(k, "read_signalfd")) {
		syscall(SYS_tgkill, getpid(), blk.tid, SIGUSR2);
	} else if (!strcmp(k, "semop")) {
		struct sembuf up = { 0, 1, 0 };
		semop(blk.semid, &up, 1);
	} else if (!strcmp(k, "msgrcv")) {
		struct { long type; char text[8]; } m = { 1, "hello" };
		msgsnd(blk.msqid, &m, sizeof m.text, 0);
	} else if (!strcmp(k, "flock")) {
		flock(blk.lockfd, LOCK_UN);
	} else if (!strcmp(k, "ofd_setlkw")) {
		struct flock l = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
		fcntl(blk.lockfd, F_OFD_SETLK, &l);
	} else if (!strcmp(k, "read_eventfd")) {
		uint64_t v = 1;
		if (write(blk.fd, &v, sizeof v) != sizeof v)
			perror("seccomp-hold: wake");
	} else if (!strcmp(k, "read_timerfd")) {
		struct itimerspec it = { .it_value = { 0, 1000 } };
		timerfd_settime(blk.fd, 0, &it, NULL);
	} else if (!strcmp(k, "read_inotify")) {
		char path[96];
		snprintf(path, sizeof path, "%s/x", blk.dir);
		close(open(path, O_CREAT | O_WRONLY, 0600));
		unlink(path);
		rmdir(blk.dir);
	} else if (!strncmp(k, "notify", 6)) {
		/* Answer 42. A notification withdrawn because the call was interrupted is gone (ENOENT) and the call, made
		 * again, sends a new one: receive until one is there. */
		unsigned long long id = blk.notif_id;
		int withdrawn = 0;
		while (ioctl(blk.notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) {
			/* Withdrawn: the call was interrupted. Made again, it sent a new notification. */
			withdrawn++;
			struct seccomp_notif n;
			memset(&n, 0, sizeof n);
			while (ioctl(blk.notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) {
				if (errno != EINTR && errno != ENOENT) {
					perror("seccomp-hold: wake");
					return;
				}
				memset(&n, 0, sizeof n);
			}
			id = n.id;
		}
		/* Said before the answer, so that this line comes before the blocked thread's "returned". */
		char line[96];
		snprintf(line, sizeof line, "answering after %d withdrawn\n", withdrawn);
		say(line);
		struct seccomp_notif_resp r = { .id = id, .val = 42 };
		if (ioctl(blk.notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &r) != 0)
			perror("seccomp-hold: wake");
	} else if (!strcmp(k, "read_pty")) {
		if (write(blk.fd, "hello\n", 6) != 6)
			perror("seccomp-hold: wake");
	} else {
		/* poll_inf, epoll_wait_inf, read_pipe; wait4 and waitid: the child exits when the pipe is written */
		if (write(blk.pipe[1], &c, 1) != 1)
			perror("seccomp-hold: wake");
	}
}

static int child_main(int argc, char **argv, int first_file, int stop)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	/* SIGUSR1 ends pause and rt_sigsuspend of a blocked thread (no SA_RESTART: they return EINTR, as they must). */
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);

	for (int i = first_file; i < argc; i++)
		install(argv[i]);

	char line[512];
	snprintf(line, sizeof line, "ready %d\n", (int)getpid());
	say(line);
	if (stop)
		raise(SIGSTOP);

	pid_t sender = 0;
	while (read_line(line, sizeof line)) {
		long a = 0, b = 0;
		char out[128];
		if (sender > 0 && waitpid(sender, NULL, WNOHANG) == sender)
			sender = 0;
		if (sscanf(line, "call %ld", &a) == 1) {
			errno = 0;
			long r = syscall(a, 0, 0, 0, 0, 0, 0);
			snprintf(out, sizeof out, "ret %ld errno %d\n", r, r == -1 ? errno : 0);
			say(out);
		} else if (strcmp(line, "signals") == 0) {
			snprintf(out, sizeof out, "signals %d\n", (int)received);
			say(out);
		} else if (sscanf(line, "storm %ld %ld", &a, &b) == 2) {
			long signo = SIGRTMIN + 1, tid = 0;
			sscanf(line, "storm %*d %*d %ld %ld", &signo, &tid);
			pid_t target = getpid();
			sender = fork();
			if (sender == 0) {
				for (long i = 0; i < a; i++) {
					if (tid > 0)
						syscall(SYS_tgkill, target, (pid_t)tid, (int)signo);
					else
						kill(target, (int)signo);
					usleep((useconds_t)b);
				}
				_exit(0);
			}
			say(sender > 0 ? "storming\n" : "storm failed\n");
		} else if (sscanf(line, "vfork %ld", &a) == 1) {
			struct timespec ts = { .tv_sec = a / 1000000, .tv_nsec = (a % 1000000) * 1000 };
			pid_t v = vfork();
			if (v == 0) {
				/* Only raw system calls here: the vfork child shares the parent's memory and stack. */
				syscall(SYS_write, STDOUT_FILENO, "vforking\n", 9);
				syscall(SYS_nanosleep, &ts, NULL);
				syscall(SYS_exit, 0);
			}
			if (v > 0)
				waitpid(v, NULL, 0);
			say(v > 0 ? "vforked\n" : "vfork failed\n");
		} else if ((!strncmp(line, "block ", 6) || !strncmp(line, "loop ", 5)) && nblockers == MAX_BLOCKERS) {
			say("block failed: too many blocked threads\n");
		} else if (strncmp(line, "block ", 6) == 0) {
			me = &blockers[nblockers];
			memset(me, 0, sizeof *me);
			if (sscanf(line, "block %31s %ld %255s", blk.kind, &blk.ms, blk.filter) >= 2) {
				nblockers++;
				start_blocker();
			} else {
				say("usage: block KIND MS [FILE]\n");
			}
		} else if (strncmp(line, "loop ", 5) == 0) {
			me = &blockers[nblockers];
			memset(me, 0, sizeof *me);
			if (sscanf(line, "loop %31s %ld %ld %ld", blk.kind, &blk.n, &blk.spin, &blk.ms) == 4) {
				nblockers++;
				start_blocker();
			} else {
				say("usage: loop KIND N SPIN MS\n");
			}
		} else if (strcmp(line, "wake") == 0 || sscanf(line, "wake %ld", &a) == 1) {
			/* The last blocked thread started, or thread a. */
			me = nblockers > 0 ? &blockers[nblockers - 1] : NULL;
			if (strcmp(line, "wake") != 0)
				for (int i = 0; i < nblockers; i++)
					if (blockers[i].tid == (pid_t)a)
						me = &blockers[i];
			if (me)
				wake();
		} else if (sscanf(line, "exit %ld", &a) == 1) {
			_exit((int)a);
		} else {
			say("unknown command\n");
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int first = 1, stop = 0;
	if (first < argc && strcmp(argv[first], "--stop") == 0) {
		stop = 1;
		first++;
	}
	/* The child's answers must not sit in a buffer shared with the parent. */
	fflush(stdout);
	pid_t child = fork();
	if (child < 0) {
		perror("seccomp-hold: fork");
		return 93;
	}
	if (child == 0)
		_exit(child_main(argc, argv, first, stop));

	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("seccomp-hold: waitpid");
			return 94;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
