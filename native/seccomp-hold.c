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
 *   storm N USEC     forks a sender that sends N SIGRTMIN+1 to the child, USEC microseconds apart
 *                                                          -> "storming" at once (the sender is reaped later)
 *   vfork USEC       vfork()s a child that writes "vforking" and sleeps USEC microseconds before it
 *                    exits; meanwhile this process waits in vfork (TASK_KILLABLE: no ptrace stop can
 *                    happen there)                         -> "vforking", then "vforked"
 *   exit N           _exit(N)                              -> no answer
 *
 * At EOF the child exits 0. With --stop the child stops itself (raise(SIGSTOP)) right after "ready";
 * SIGCONT lets it read commands. Installing a filter that refuses read, write or exit_group makes the
 * child useless; the tests' filters only refuse calls the helper does not make.
 *
 * Errors are reported on stderr; exit status 90 means a FILE could not be read or installed.
 * Build: native/build.sh (gcc -O2 -Wall -Werror).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static int child_main(int argc, char **argv, int first_file, int stop)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGRTMIN + 1, &sa, NULL);

	if (first_file < argc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp-hold: prctl(PR_SET_NO_NEW_PRIVS)");
		_exit(90);
	}
	for (int i = first_file; i < argc; i++)
		install(argv[i]);

	char line[128];
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
			pid_t target = getpid();
			sender = fork();
			if (sender == 0) {
				for (long i = 0; i < a; i++) {
					kill(target, SIGRTMIN + 1);
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
