/*
 * libseccomp-compile: builds a filter with libseccomp from a flat policy text and writes its BPF.
 *
 * The differential tests (tests/SeccompKit.Linux.Tests/Compiler) and the compiler benchmark
 * (bench/compiler) use it as the reference compiler: SeccompKit's policies are written in this format
 * by a small C# writer, libseccomp compiles them, and the result is run in SeccompKit's interpreter next
 * to SeccompKit's own compiler output.
 *
 * Input (stdin, or the file named by -i), one statement per line; '#' starts a comment:
 *
 *   default <action>            action for calls no rule matches (required, once)
 *   badarch <action>            SCMP_FLTATR_ACT_BADARCH (default: libseccomp's, KILL_THREAD)
 *   arch <name>                 an ABI the filter covers (x86_64, x86, x32, aarch64, arm, ...;
 *                               seccomp_arch_resolve_name names); without any, the native one
 *   end                         ends one policy of a --batch stream
 *   rule <syscall> <action> <n> [<arg> <op> <datum_a> <datum_b>] x n
 *                               seccomp_rule_add_array(ctx, action, nr, n, cmps); op is one of
 *                               eq ne lt le gt ge masked_eq (SCMP_CMP_*). For masked_eq datum_a is
 *                               the mask and datum_b the value, as in struct scmp_arg_cmp; for the
 *                               other operators datum_b must be 0.
 *
 * <action> and the numbers are C integers (strtoull base 0: 0x7fff0000, 0x00050001, 42). Syscall
 * names are resolved with seccomp_syscall_resolve_name (libseccomp's pseudo numbers cover names the
 * native ABI lacks); a name libseccomp does not know at all is an error naming the line, or with
 * --skip-unknown a note "unknown-syscall <name> line <n>" on stderr and the rule is left out.
 *
 * Options:
 *   -O, --optimize 1|2   SCMP_FLTATR_CTL_OPTIMIZE: 1 = libseccomp's default (priority-ordered
 *                        if-chain), 2 = binary tree over syscall numbers. Default 1.
 *   -i FILE              read the policy from FILE instead of stdin.
 *   -o FILE              write the BPF to FILE instead of stdout.
 *   --skip-unknown       see above.
 *   --time N             after the export, compile N more times in-process (after N/10 + 3 warm-up
 *                        compiles) and report the median time of one compile: seccomp_init, the arch
 *                        and attribute calls, name resolution and every rule, seccomp_export_bpf to
 *                        /dev/null, seccomp_release. Printed to stderr as
 *                        "compile-time runs=N median_ns=.. min_ns=.. mean_ns=.."; with --time-out FILE
 *                        also written to FILE as JSON.
 *   --batch              many policies, each ended by a line 'end'; for each, writes a little-endian
 *                        u32 instruction count and then the BPF to stdout (one process for thousands of
 *                        compiles in the tests). -o, --time do not apply.
 *   --resolve ARCH[,ARCH] print "ARCH NR NAME" for every number libseccomp knows on each ABI (numbers
 *                        0..7999, and for x32 0x40000000..0x400003ff), then exit; reads no policy.
 *   --version            print libseccomp's version (major.minor.micro) and exit.
 *
 * Exit codes: 0 ok, 1 libseccomp refused the filter (message names the line), 2 usage, 3 bad input
 * (message names the line), 4 output failed.
 *
 * Build: native/build.sh (gcc -O2 -Wall -Werror ... -lseccomp).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARCHES 16
#define MAX_ARGS 6

struct rule {
	char *name;
	int line;
	uint32_t action;
	unsigned int ncmp;
	struct scmp_arg_cmp cmp[MAX_ARGS];
	int nr;         /* resolved once when the policy is read */
};

struct policy {
	uint32_t default_action;
	int have_default;
	uint32_t badarch;
	int have_badarch;
	uint32_t arches[MAX_ARCHES];
	int arch_lines[MAX_ARCHES];
	int narches;
	struct rule *rules;
	size_t nrules, cap;
};

static const char *input_name = "<stdin>";

static void die_line(int line, int code, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "libseccomp-compile: %s:%d: ", input_name, line);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(code);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static uint32_t parse_action(const char *s, int line)
{
	uint64_t v;
	if (parse_u64(s, &v) != 0 || v > 0xffffffffULL)
		die_line(line, 3, "'%s' is not a 32-bit action value (write it as a C integer, e.g. 0x7fff0000 for ALLOW)%s", s ? s : "(missing)", "");
	return (uint32_t)v;
}

static int parse_op(const char *s, enum scmp_compare *op)
{
	static const struct { const char *name; enum scmp_compare op; } ops[] = {
		{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT }, { "le", SCMP_CMP_LE },
		{ "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE }, { "masked_eq", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; s != NULL && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(s, ops[i].name) == 0) {
			*op = ops[i].op;
			return 0;
		}
	return -1;
}

static int line = 0; /* counts across the policies of a batch */

/* Reads statements up to an 'end' line or EOF; returns 0 at EOF when nothing was read. */
static int read_policy(FILE *in, struct policy *p, int skip_unknown)
{
	char *buf = NULL;
	size_t len = 0;
	int any = 0;
	memset(p, 0, sizeof(*p));
	while (getline(&buf, &len, in) != -1) {
		line++;
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *save = NULL;
		char *kw = strtok_r(buf, " \t\r\n", &save);
		if (kw == NULL)
			continue;
		if (strcmp(kw, "end") == 0) {
			if (!any)
				die_line(line, 3, "'end' before any statement%s%s", "", "");
			break;
		}
		any = 1;
		if (strcmp(kw, "default") == 0 || strcmp(kw, "badarch") == 0) {
			uint32_t v = parse_action(strtok_r(NULL, " \t\r\n", &save), line);
			if (kw[0] == 'd') {
				if (p->have_default)
					die_line(line, 3, "a second 'default' line; give the default action once%s%s", "", "");
				p->default_action = v;
				p->have_default = 1;
			} else {
				p->badarch = v;
				p->have_badarch = 1;
			}
		} else if (strcmp(kw, "arch") == 0) {
			char *name = strtok_r(NULL, " \t\r\n", &save);
			uint32_t token = name ? seccomp_arch_resolve_name(name) : 0;
			if (token == 0)
				die_line(line, 3, "unknown architecture '%s' (libseccomp names: x86_64, x86, x32, aarch64, arm, ...)%s", name ? name : "(missing)", "");
			if (p->narches == MAX_ARCHES)
				die_line(line, 3, "too many 'arch' lines%s%s", "", "");
			p->arch_lines[p->narches] = line;
			p->arches[p->narches++] = token;
		} else if (strcmp(kw, "rule") == 0) {
			struct rule r;
			memset(&r, 0, sizeof(r));
			r.line = line;
			char *name = strtok_r(NULL, " \t\r\n", &save);
			if (name == NULL)
				die_line(line, 3, "'rule' needs a syscall name, an action and a condition count%s%s", "", "");
			r.action = parse_action(strtok_r(NULL, " \t\r\n", &save), line);
			uint64_t n;
			char *ntext = strtok_r(NULL, " \t\r\n", &save);
			if (parse_u64(ntext, &n) != 0 || n > MAX_ARGS)
				die_line(line, 3, "condition count '%s' is not 0..6%s", ntext ? ntext : "(missing)", "");
			r.ncmp = (unsigned int)n;
			for (unsigned int i = 0; i < r.ncmp; i++) {
				uint64_t arg, a, b;
				enum scmp_compare op;
				char *t_arg = strtok_r(NULL, " \t\r\n", &save);
				char *t_op = strtok_r(NULL, " \t\r\n", &save);
				char *t_a = strtok_r(NULL, " \t\r\n", &save);
				char *t_b = strtok_r(NULL, " \t\r\n", &save);
				if (parse_u64(t_arg, &arg) != 0 || arg > 5)
					die_line(line, 3, "argument index '%s' is not 0..5%s", t_arg ? t_arg : "(missing)", "");
				if (parse_op(t_op, &op) != 0)
					die_line(line, 3, "unknown operator '%s' (eq ne lt le gt ge masked_eq)%s", t_op ? t_op : "(missing)", "");
				if (parse_u64(t_a, &a) != 0)
					die_line(line, 3, "datum_a '%s' is not a 64-bit unsigned integer%s", t_a ? t_a : "(missing)", "");
				if (parse_u64(t_b, &b) != 0)
					die_line(line, 3, "datum_b '%s' is not a 64-bit unsigned integer%s", t_b ? t_b : "(missing)", "");
				if (op != SCMP_CMP_MASKED_EQ && b != 0)
					die_line(line, 3, "datum_b '%s' must be 0 for operator '%s' (only masked_eq uses it)", t_b, t_op);
				r.cmp[i].arg = (unsigned int)arg;
				r.cmp[i].op = op;
				r.cmp[i].datum_a = a;
				r.cmp[i].datum_b = b;
			}
			char *extra = strtok_r(NULL, " \t\r\n", &save);
			if (extra != NULL)
				die_line(line, 3, "unexpected '%s' after %s condition(s)", extra, ntext);
			r.nr = seccomp_syscall_resolve_name(name);
			if (r.nr == __NR_SCMP_ERROR) {
				if (skip_unknown) {
					fprintf(stderr, "unknown-syscall %s line %d\n", name, line);
					continue;
				}
				die_line(line, 3, "libseccomp does not know the system call '%s' (this libseccomp is too old for it, or the name is misspelt)%s", name, "");
			}
			r.name = strdup(name);
			if (p->nrules == p->cap) {
				p->cap = p->cap ? 2 * p->cap : 64;
				p->rules = realloc(p->rules, p->cap * sizeof(*p->rules));
				if (p->rules == NULL) {
					perror("libseccomp-compile: realloc");
					exit(70);
				}
			}
			p->rules[p->nrules++] = r;
		} else {
			die_line(line, 3, "unknown statement '%s' (default, badarch, arch, rule)%s", kw, "");
		}
	}
	free(buf);
	if (!any)
		return 0;
	if (!p->have_default)
		die_line(line, 3, "no 'default <action>' line%s%s", "", "");
	return 1;
}

static void free_policy(struct policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		free(p->rules[i].name);
	free(p->rules);
}

/* Builds the filter; on failure reports the line and exits with 1. */
static scmp_filter_ctx build(const struct policy *p, int optimize)
{
	scmp_filter_ctx ctx = seccomp_init(p->default_action);
	if (ctx == NULL)
		die_line(0, 1, "seccomp_init refused the default action%s%s (libseccomp only takes known actions)", "", "");
	int native_listed = p->narches == 0;
	uint32_t native = seccomp_arch_native();
	for (int i = 0; i < p->narches; i++) {
		if (p->arches[i] == native) {
			native_listed = 1;
			continue;
		}
		int rc = seccomp_arch_add(ctx, p->arches[i]);
		if (rc != 0 && rc != -EEXIST)
			die_line(p->arch_lines[i], 1, "seccomp_arch_add: %s%s", strerror(-rc), "");
	}
	if (!native_listed) {
		int rc = seccomp_arch_remove(ctx, native);
		if (rc != 0)
			die_line(0, 1, "seccomp_arch_remove(native): %s%s", strerror(-rc), "");
	}
	int rc;
	if (p->have_badarch && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p->badarch)) != 0)
		die_line(0, 1, "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH): %s%s", strerror(-rc), "");
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, (uint32_t)optimize)) != 0)
		die_line(0, 1, "seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE): %s%s", strerror(-rc), "");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		/* Resolving the name is part of a compile (runc does it per name); it is cheap. */
		int nr = seccomp_syscall_resolve_name(r->name);
		rc = seccomp_rule_add_array(ctx, r->action, nr, r->ncmp, r->cmp);
		if (rc != 0) {
			char what[128];
			snprintf(what, sizeof(what), "%s", r->name);
			die_line(r->line, 1, "seccomp_rule_add_array(%s) failed: %s (EACCES: the action equals the default; EINVAL: a bad condition, e.g. two on one argument)", what, strerror(-rc));
		}
	}
	return ctx;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int time_compiles(const struct policy *p, int optimize, long n, const char *out_file)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0) {
		perror("libseccomp-compile: /dev/null");
		return 4;
	}
	long warm = n / 10 + 3;
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	if (t == NULL) {
		perror("libseccomp-compile: calloc");
		return 70;
	}
	for (long i = -warm; i < n; i++) {
		uint64_t start = now_ns();
		scmp_filter_ctx ctx = build(p, optimize);
		int rc = seccomp_export_bpf(ctx, devnull);
		seccomp_release(ctx);
		uint64_t end = now_ns();
		if (rc != 0) {
			fprintf(stderr, "libseccomp-compile: seccomp_export_bpf: %s\n", strerror(-rc));
			return 1;
		}
		if (i >= 0)
			t[i] = end - start;
	}
	close(devnull);
	double mean = 0;
	for (long i = 0; i < n; i++)
		mean += (double)t[i];
	mean /= (double)n;
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	uint64_t median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	fprintf(stderr, "compile-time runs=%ld median_ns=%llu min_ns=%llu mean_ns=%.0f\n", n,
		(unsigned long long)median, (unsigned long long)t[0], mean);
	if (out_file != NULL) {
		FILE *f = fopen(out_file, "w");
		if (f == NULL) {
			perror(out_file);
			return 4;
		}
		fprintf(f, "{\"runs\": %ld, \"warmup\": %ld, \"medianNs\": %llu, \"minNs\": %llu, \"meanNs\": %.0f, \"optimize\": %d, \"rules\": %zu}\n",
			n, warm, (unsigned long long)median, (unsigned long long)t[0], mean, optimize, p->nrules);
		if (fclose(f) != 0) {
			perror(out_file);
			return 4;
		}
	}
	free(t);
	return 0;
}

static int resolve(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		uint32_t token = seccomp_arch_resolve_name(name);
		if (token == 0) {
			fprintf(stderr, "libseccomp-compile: unknown architecture '%s'\n", name);
			return 2;
		}
		int base = token == SCMP_ARCH_X32 ? 0x40000000 : 0;
		int count = token == SCMP_ARCH_X32 ? 1024 : 8000;
		for (int nr = base; nr < base + count; nr++) {
			char *s = seccomp_syscall_resolve_num_arch(token, nr);
			if (s != NULL) {
				printf("%s %d %s\n", name, nr, s);
				free(s);
			}
		}
	}
	free(copy);
	return fflush(stdout) == 0 ? 0 : 4;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --batch: policies separated by 'end' lines; per policy u32 length (instructions, little-endian) + BPF. */
static int run_batch(FILE *in, int optimize, int skip_unknown)
{
	struct policy p;
	int mfd = memfd_create("libseccomp-compile", MFD_CLOEXEC);
	if (mfd < 0) {
		perror("libseccomp-compile: memfd_create");
		return 70;
	}
	char *bpf = NULL;
	while (read_policy(in, &p, skip_unknown)) {
		if (ftruncate(mfd, 0) != 0 || lseek(mfd, 0, SEEK_SET) != 0) {
			perror("libseccomp-compile: memfd");
			return 70;
		}
		scmp_filter_ctx ctx = build(&p, optimize);
		int rc = seccomp_export_bpf(ctx, mfd);
		seccomp_release(ctx);
		free_policy(&p);
		if (rc != 0) {
			fprintf(stderr, "libseccomp-compile: %s:%d: seccomp_export_bpf: %s\n", input_name, line, strerror(-rc));
			return 1;
		}
		off_t size = lseek(mfd, 0, SEEK_CUR);
		bpf = realloc(bpf, (size_t)size + 4);
		uint32_t n = (uint32_t)(size / 8);
		memcpy(bpf, &n, 4); /* x86_64: little-endian */
		if (pread(mfd, bpf + 4, (size_t)size, 0) != size || write_all(STDOUT_FILENO, bpf, (size_t)size + 4) != 0) {
			perror("libseccomp-compile: batch output");
			return 4;
		}
	}
	free(bpf);
	close(mfd);
	return 0;
}

static void usage(void)
{
	fputs("usage: libseccomp-compile [-O 1|2] [-i POLICY] [-o FILE.bpf] [--skip-unknown] [--batch] [--time N [--time-out FILE.json]]\n"
	      "       libseccomp-compile --resolve ARCH[,ARCH...] | --version\n"
	      "The policy format is described at the top of native/libseccomp-compile.c.\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int optimize = 1, skip_unknown = 0, batch = 0;
	long time_n = 0;
	const char *in_file = NULL, *out_file = NULL, *time_out = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if ((strcmp(a, "-O") == 0 || strcmp(a, "--optimize") == 0) && v) {
			if (strcmp(v, "1") != 0 && strcmp(v, "2") != 0)
				usage();
			optimize = v[0] - '0';
			i++;
		} else if (strcmp(a, "-i") == 0 && v) {
			in_file = v;
			i++;
		} else if (strcmp(a, "-o") == 0 && v) {
			out_file = v;
			i++;
		} else if (strcmp(a, "--batch") == 0) {
			batch = 1;
		} else if (strcmp(a, "--skip-unknown") == 0) {
			skip_unknown = 1;
		} else if (strcmp(a, "--time") == 0 && v) {
			char *end;
			time_n = strtol(v, &end, 10);
			if (*end != '\0' || time_n < 1)
				usage();
			i++;
		} else if (strcmp(a, "--time-out") == 0 && v) {
			time_out = v;
			i++;
		} else if (strcmp(a, "--resolve") == 0 && v) {
			return resolve(v);
		} else if (strcmp(a, "--version") == 0) {
			const struct scmp_version *ver = seccomp_version();
			printf("%u.%u.%u\n", ver->major, ver->minor, ver->micro);
			return 0;
		} else {
			usage();
		}
	}

	FILE *in = stdin;
	if (in_file != NULL) {
		in = fopen(in_file, "r");
		if (in == NULL) {
			perror(in_file);
			return 3;
		}
		input_name = in_file;
	}
	struct policy p;
	if (batch)
		return run_batch(in, optimize, skip_unknown);
	if (!read_policy(in, &p, skip_unknown))
		die_line(line, 3, "no 'default <action>' line%s%s", "", "");

	int fd = STDOUT_FILENO;
	if (out_file != NULL) {
		fd = open(out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(out_file);
			return 4;
		}
	}
	scmp_filter_ctx ctx = build(&p, optimize);
	int rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc != 0) {
		fprintf(stderr, "libseccomp-compile: seccomp_export_bpf: %s\n", strerror(-rc));
		return rc == -ECANCELED ? 1 : 4;
	}
	if (out_file != NULL && close(fd) != 0) {
		perror(out_file);
		return 4;
	}
	if (time_n > 0)
		return time_compiles(&p, optimize, time_n, time_out);
	return 0;
}
