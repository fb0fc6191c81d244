/*
 * seccomp-probe: lets the SeccompKit tests ask the real kernel what it does with a seccomp filter.
 *
 * The C# tests must never fork in managed code, so this small helper does every fork, every
 * seccomp(SECCOMP_SET_MODE_FILTER) and every probed system call. It is driven over stdin/stdout
 * with a little-endian binary protocol (all integers little-endian, no padding):
 *
 *   At start the helper writes a header (32 bytes):
 *     char magic[8] = "SKPROBE1"; u64 ip_syscall64; u64 ip_int80; u64 ip_install;
 *   ip_syscall64 and ip_int80 are the addresses right after the `syscall` / `int $0x80` instructions
 *   of the probe stubs, i.e. the seccomp_data.instruction_pointer a filter sees for probed calls
 *   (stable for the life of this process: fork keeps the address space). ip_install is the address
 *   after the `syscall` that installs filters: an older filter of a stack must let that one call
 *   through, or the next filter could not be installed.
 *
 *   Then any number of requests, each starting with a u32 type, until EOF:
 *
 *   'V' (0x56) validate: u32 count; count x { u32 len; len x struct sock_filter (8 bytes) }.
 *       Each program is handed to seccomp(SECCOMP_SET_MODE_FILTER, 0, ...) in a child (after
 *       PR_SET_NO_NEW_PRIVS). A refused program changes nothing, so the same child goes on with the
 *       next one; after an accepted one it ends itself and a fresh child takes the rest. Response: count x i32: 0 if the kernel accepted the program,
 *       else the errno it returned (EINVAL, ENOMEM, ...); negative values are helper failures
 *       (-1000 - signal if a child died by a signal before reporting).
 *
 *   'R' (0x52) run: u32 nprog; nprog x { u32 len; len x sock_filter } in installation order
 *       (oldest first); u32 ninputs; ninputs x { u32 abi (64 = syscall, 32 = int $0x80); u32 zero;
 *       u64 rax; u64 args[6] } (64 bytes each). For abi 64 the stub loads rax, rdi, rsi, rdx, r10,
 *       r8, r9 with rax and args[0..5]; for abi 32 it loads rax, rbx, rcx, rdx, rsi, rdi, rbp with
 *       the full 64-bit values (so what the kernel does with the upper halves can be observed).
 *       Response: nprog x i32 install result (0, the errno, or -1 when not attempted because an
 *       earlier filter failed), then ninputs x { i32 kind; i32 info;
 *       i64 value }: kind 0 = the call returned, value = raw rax after the call; kind 1 = the child
 *       was killed by signal `info` during this call; kind 2 = not run (a filter failed to install);
 *       kind 3 = the child exited on its own with status `info` (a helper bug).
 *
 *   'S' (0x53) stack limit: u32 len; len x sock_filter; u32 max. A child installs that same program
 *       again and again, up to max times, stopping at the first refusal. The program must allow the
 *       install call (e.g. RET ALLOW) or the second install is filtered. Response: u32 installed;
 *       i32 errno of the refusal that stopped it (0 if all max went in). This is how the kernel's
 *       per-task limit (MAX_INSNS_PER_PATH, ENOMEM) is observed.
 *
 *   'P' (0x50) padded install: u32 len_pad; len_pad x sock_filter; u32 copies; u32 len_extra;
 *       len_extra x sock_filter; u32 len; len x sock_filter. A child installs the pad program `copies`
 *       times, then the extra program once (if len_extra > 0), then the probed program, and reports
 *       the probed install's errno (0 = accepted). The pad and extra programs must allow the install
 *       call. By varying the padding, the caller finds the exact length the kernel charges for a filter.
 *       Response: i32 errno of the last install (negative: an earlier install failed, -1000 - errno).
 *
 * After a filter is installed the child depends on no system call at all (the filter may refuse
 * write and exit_group): results go to a MAP_SHARED page created before fork, with a progress
 * counter, and the child ends itself with an illegal instruction (__builtin_trap). The parent
 * waitpid()s; if the child died before finishing, the call in progress is recorded as killed by
 * that signal and a new child continues with the remaining calls. Core dumps are disabled
 * (RLIMIT_CORE 0, and the child is made non-dumpable, which also keeps a piped core_pattern away).
 *
 * Build: native/build.sh (gcc -O2 -Wall -Werror). x86_64 Linux only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "seccomp-probe models the x86_64 syscall and int $0x80 entry paths only"
#endif

/* One probed call: rax and six argument registers, in the order the stubs read them. */
struct probe_regs {
	uint64_t rax;
	uint64_t args[6];
};

long probe_syscall64(const struct probe_regs *r);
long probe_int80(const struct probe_regs *r);
long probe_install(const struct sock_fprog *prog);
extern const char probe_syscall64_ret[];
extern const char probe_int80_ret[];
extern const char probe_install_ret[];

/*
 * The stubs. Each exports a label right after its `syscall` / `int $0x80` instruction: that is the
 * instruction_pointer the kernel puts in seccomp_data. `syscall` clobbers rcx and r11, which the
 * SysV ABI lets a callee clobber anyway; rbx and rbp are callee-saved, so the int80 stub keeps them.
 */
__asm__(
	".text\n"
	".globl probe_syscall64\n"
	".type probe_syscall64,@function\n"
	"probe_syscall64:\n"
	"	movq %rdi, %r11\n"
	"	movq 0(%r11), %rax\n"
	"	movq 16(%r11), %rsi\n"
	"	movq 24(%r11), %rdx\n"
	"	movq 32(%r11), %r10\n"
	"	movq 40(%r11), %r8\n"
	"	movq 48(%r11), %r9\n"
	"	movq 8(%r11), %rdi\n"
	"	syscall\n"
	".globl probe_syscall64_ret\n"
	"probe_syscall64_ret:\n"
	"	ret\n"
	".size probe_syscall64, .-probe_syscall64\n"

	".globl probe_int80\n"
	".type probe_int80,@function\n"
	"probe_int80:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	movq %rdi, %rax\n"
	"	movq 8(%rax), %rbx\n"
	"	movq 16(%rax), %rcx\n"
	"	movq 24(%rax), %rdx\n"
	"	movq 32(%rax), %rsi\n"
	"	movq 48(%rax), %rbp\n"
	"	movq 40(%rax), %rdi\n"
	"	movq 0(%rax), %rax\n"
	"	int $0x80\n"
	".globl probe_int80_ret\n"
	"probe_int80_ret:\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n"
	".size probe_int80, .-probe_int80\n"

	/* seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) from its own address, see ip_install. */
	".globl probe_install\n"
	".type probe_install,@function\n"
	"probe_install:\n"
	"	movq %rdi, %rdx\n"
	"	movl $317, %eax\n"
	"	movl $1, %edi\n"
	"	xorl %esi, %esi\n"
	"	syscall\n"
	".globl probe_install_ret\n"
	"probe_install_ret:\n"
	"	ret\n"
	".size probe_install, .-probe_install\n");

#define MAX_PROGRAMS_PER_RUN 8
#define MAX_FILTER_LEN 65535 /* sock_fprog.len is an unsigned short */

enum { KIND_RETURNED = 0, KIND_KILLED = 1, KIND_NOT_RUN = 2, KIND_EXITED = 3 };

struct input {
	uint32_t abi;
	uint32_t zero;
	struct probe_regs regs;
};

struct outcome {
	int32_t kind;
	int32_t info;
	int64_t value;
};

static void die(const char *what)
{
	fprintf(stderr, "seccomp-probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void fail(const char *what)
{
	fprintf(stderr, "seccomp-probe: %s\n", what);
	exit(2);
}

/* Reads exactly n bytes; returns 0 at a clean EOF before the first byte, 1 on success. */
static int read_full(void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(STDIN_FILENO, (char *)buf + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read stdin");
		}
		if (r == 0) {
			if (got == 0)
				return 0;
			fail("stdin ended in the middle of a request");
		}
		got += (size_t)r;
	}
	return 1;
}

static void read_exact(void *buf, size_t n)
{
	if (n > 0 && !read_full(buf, n))
		fail("stdin ended in the middle of a request");
}

static uint32_t read_u32(void)
{
	uint32_t v;
	read_exact(&v, sizeof v);
	return v;
}

static void write_out(const void *buf, size_t n)
{
	if (fwrite(buf, 1, n, stdout) != n)
		die("write stdout");
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		fail("out of memory");
	return p;
}

static struct sock_fprog read_program(void)
{
	struct sock_fprog prog;
	uint32_t len = read_u32();
	if (len > MAX_FILTER_LEN)
		fail("a program longer than 65535 instructions cannot be expressed in struct sock_fprog");
	prog.len = (unsigned short)len;
	/* A non-NULL pointer even for len 0, so that only the length decides the kernel's answer. */
	prog.filter = xmalloc((size_t)len * sizeof(struct sock_filter));
	read_exact(prog.filter, (size_t)len * sizeof(struct sock_filter));
	return prog;
}

static void *shared_alloc(size_t n)
{
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap shared");
	return p;
}

/* Child set-up before any filter: no core dumps (even via a core_pattern pipe), no_new_privs. */
static int child_prepare(void)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return errno;
	return 0;
}

static pid_t xfork(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	return status;
}

/* --- 'V': one fresh child per accepted program; refused ones cost nothing, so a child goes on. --- */

struct validate_shared {
	volatile uint32_t progress; /* index of the first program without a result */
	volatile int32_t result[];
};

static void handle_validate(void)
{
	uint32_t count = read_u32();
	struct sock_fprog *progs = xmalloc((size_t)count * sizeof *progs);
	for (uint32_t i = 0; i < count; i++)
		progs[i] = read_program();

	size_t size = sizeof(struct validate_shared) + (size_t)count * sizeof(int32_t);
	struct validate_shared *sh = shared_alloc(size);

	uint32_t next = 0;
	while (next < count) {
		sh->progress = next;
		pid_t pid = xfork();
		if (pid == 0) {
			int prep = child_prepare();
			for (uint32_t i = next; i < count; i++) {
				long r = prep ? -prep : probe_install(&progs[i]);
				sh->result[i] = r == 0 ? 0 : (int32_t)-r;
				__atomic_store_n(&sh->progress, i + 1, __ATOMIC_RELEASE);
				if (r == 0)
					__builtin_trap(); /* installed: no system call may be relied on now */
			}
			_exit(0); /* nothing was installed, so exit is still allowed */
		}
		int status = wait_child(pid);
		uint32_t done = __atomic_load_n(&sh->progress, __ATOMIC_ACQUIRE);
		if (done == next) {
			/* The child died before reporting on program `next`: a helper failure, never expected. */
			sh->result[next] = WIFSIGNALED(status) ? -1000 - WTERMSIG(status) : -2000 - WEXITSTATUS(status);
			done = next + 1;
		}
		next = done;
	}

	for (uint32_t i = 0; i < count; i++) {
		int32_t v = sh->result[i];
		write_out(&v, sizeof v);
	}
	fflush(stdout);
	munmap(sh, size);
	for (uint32_t i = 0; i < count; i++)
		free(progs[i].filter);
	free(progs);
}

/* --- 'R': install a stack, then issue calls until one kills the child; a new child goes on. --- */

struct run_shared {
	volatile uint32_t progress;  /* index of the first call without a result */
	volatile int32_t installed;  /* 1 once every filter is installed */
	volatile int32_t install[MAX_PROGRAMS_PER_RUN];
	volatile int64_t value[];
};

static void handle_run(void)
{
	uint32_t nprog = read_u32();
	if (nprog == 0 || nprog > MAX_PROGRAMS_PER_RUN)
		fail("a run request needs 1 to 8 programs");
	struct sock_fprog progs[MAX_PROGRAMS_PER_RUN];
	for (uint32_t p = 0; p < nprog; p++)
		progs[p] = read_program();
	uint32_t ninputs = read_u32();
	struct input *inputs = xmalloc((size_t)ninputs * sizeof *inputs);
	read_exact(inputs, (size_t)ninputs * sizeof *inputs);
	for (uint32_t i = 0; i < ninputs; i++)
		if (inputs[i].abi != 64 && inputs[i].abi != 32)
			fail("an input's abi must be 64 (syscall) or 32 (int $0x80)");

	struct outcome *out = xmalloc((size_t)ninputs * sizeof *out);
	size_t size = sizeof(struct run_shared) + (size_t)ninputs * sizeof(int64_t);
	struct run_shared *sh = shared_alloc(size);
	for (uint32_t p = 0; p < nprog; p++)
		sh->install[p] = -1;

	uint32_t next = 0;
	do {
		sh->progress = next;
		sh->installed = 0;
		pid_t pid = xfork();
		if (pid == 0) {
			int prep = child_prepare();
			int ok = 1;
			for (uint32_t p = 0; p < nprog; p++) {
				long r = prep ? -prep : probe_install(&progs[p]);
				sh->install[p] = r == 0 ? 0 : (int32_t)-r;
				if (r != 0) {
					ok = 0;
					break;
				}
			}
			if (!ok)
				__builtin_trap(); /* some filters may be installed: no system calls */
			__atomic_store_n(&sh->installed, 1, __ATOMIC_RELEASE);
			for (uint32_t i = next; i < ninputs; i++) {
				long v = inputs[i].abi == 64 ? probe_syscall64(&inputs[i].regs)
							     : probe_int80(&inputs[i].regs);
				sh->value[i] = v;
				__atomic_store_n(&sh->progress, i + 1, __ATOMIC_RELEASE);
			}
			__builtin_trap();
		}
		int status = wait_child(pid);
		uint32_t done = __atomic_load_n(&sh->progress, __ATOMIC_ACQUIRE);
		for (uint32_t i = next; i < done; i++) {
			out[i].kind = KIND_RETURNED;
			out[i].info = 0;
			out[i].value = sh->value[i];
		}
		if (!__atomic_load_n(&sh->installed, __ATOMIC_ACQUIRE)) {
			for (uint32_t i = next; i < ninputs; i++) {
				out[i].kind = KIND_NOT_RUN;
				out[i].info = 0;
				out[i].value = 0;
			}
			break;
		}
		if (done < ninputs) {
			/* The call at `done` did not return: the filter (or a bug) ended the child. */
			out[done].kind = WIFSIGNALED(status) ? KIND_KILLED : KIND_EXITED;
			out[done].info = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
			out[done].value = 0;
			done++;
		}
		next = done;
	} while (next < ninputs);

	for (uint32_t p = 0; p < nprog; p++) {
		int32_t v = sh->install[p];
		write_out(&v, sizeof v);
	}
	write_out(out, (size_t)ninputs * sizeof *out);
	fflush(stdout);
	munmap(sh, size);
	for (uint32_t p = 0; p < nprog; p++)
		free(progs[p].filter);
	free(inputs);
	free(out);
}

/* --- 'S': how many copies of one filter the kernel stacks before it refuses. --- */

struct stack_shared {
	volatile uint32_t installed;
	volatile int32_t error;
};

static void handle_stack_limit(void)
{
	struct sock_fprog prog = read_program();
	uint32_t max = read_u32();
	struct stack_shared *sh = shared_alloc(sizeof *sh);
	sh->installed = 0;
	sh->error = -1; /* stays negative if the child dies before reporting */
	pid_t pid = xfork();
	if (pid == 0) {
		int prep = child_prepare();
		int32_t error = prep;
		for (uint32_t i = 0; !prep && i < max; i++) {
			long r = probe_install(&prog);
			if (r != 0) {
				error = (int32_t)-r;
				break;
			}
			__atomic_store_n(&sh->installed, i + 1, __ATOMIC_RELEASE);
		}
		sh->error = error;
		__builtin_trap(); /* filters are installed: rely on no system call */
	}
	wait_child(pid);
	uint32_t installed = __atomic_load_n(&sh->installed, __ATOMIC_ACQUIRE);
	int32_t error = sh->error;
	write_out(&installed, sizeof installed);
	write_out(&error, sizeof error);
	fflush(stdout);
	munmap(sh, sizeof *sh);
	free(prog.filter);
}

/* --- 'P': the probed program's install result after a chosen amount of padding. --- */

static void handle_padded(void)
{
	struct sock_fprog pad = read_program();
	uint32_t copies = read_u32();
	struct sock_fprog extra = read_program();
	struct sock_fprog prog = read_program();
	volatile int32_t *result = shared_alloc(sizeof *result);
	*result = -3000; /* stays if the child dies before reporting */
	pid_t pid = xfork();
	if (pid == 0) {
		int prep = child_prepare();
		int32_t r = prep ? -1000 - prep : 0;
		for (uint32_t i = 0; r == 0 && i < copies; i++) {
			long e = probe_install(&pad);
			if (e != 0)
				r = (int32_t)(-1000 + e); /* e is -errno */
		}
		if (r == 0 && extra.len > 0) {
			long e = probe_install(&extra);
			if (e != 0)
				r = (int32_t)(-1000 + e);
		}
		if (r == 0)
			r = (int32_t)-probe_install(&prog);
		*result = r;
		__builtin_trap();
	}
	wait_child(pid);
	int32_t r = *result;
	write_out(&r, sizeof r);
	fflush(stdout);
	munmap((void *)result, sizeof *result);
	free(pad.filter);
	free(extra.filter);
	free(prog.filter);
}

int main(void)
{
	struct rlimit no_core = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		die("setrlimit(RLIMIT_CORE)");

	uint64_t header[4];
	memcpy(&header[0], "SKPROBE1", 8);
	header[1] = (uint64_t)(uintptr_t)probe_syscall64_ret;
	header[2] = (uint64_t)(uintptr_t)probe_int80_ret;
	header[3] = (uint64_t)(uintptr_t)probe_install_ret;
	write_out(header, sizeof header);
	fflush(stdout);

	for (;;) {
		uint32_t type;
		if (!read_full(&type, sizeof type))
			return 0;
		switch (type) {
		case 'V':
			handle_validate();
			break;
		case 'R':
			handle_run();
			break;
		case 'S':
			handle_stack_limit();
			break;
		case 'P':
			handle_padded();
			break;
		default:
			fail("unknown request type (expected 'V', 'R', 'S' or 'P')");
		}
	}
}
