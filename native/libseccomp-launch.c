/*
 * libseccomp-launch: the C anchor of the launch benchmark (bench/launch). Reads an OCI linux.seccomp JSON
 * object, builds the filter with libseccomp the way runc does, loads it and execs the program:
 *
 *   libseccomp-launch PROFILE.json -- PROGRAM [ARGS...]     parse + compile + load + exec, every launch
 *   libseccomp-launch --export FILE.bpf PROFILE.json        write libseccomp's BPF (seccomp_export_bpf) instead
 *
 * What runc does (libcontainer/seccomp/seccomp_linux.go, config.go), and so this program:
 *   - seccomp_init(defaultAction); SCMP_ACT_ERRNO and SCMP_ACT_TRACE take errnoRet (defaultErrnoRet for the
 *     default action), EPERM when absent;
 *   - seccomp_arch_add for each of "architectures" (SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, ...);
 *   - flags: SECCOMP_FILTER_FLAG_SPEC_ALLOW sets SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_LOG SCMP_FLTATR_CTL_LOG,
 *     SECCOMP_FILTER_FLAG_TSYNC SCMP_FLTATR_CTL_TSYNC;
 *   - each "syscalls" entry whose action differs from the default: each of its names is resolved
 *     (seccomp_syscall_resolve_name; unknown names are skipped, as runc skips them) and added with
 *     seccomp_rule_add_array: no args = unconditional; args = one rule with all conditions, or, when two
 *     conditions name the same argument, one rule per condition (runc's "old behaviour"). For
 *     SCMP_CMP_MASKED_EQ value is the mask (datum_a) and valueTwo the expected value (datum_b).
 * It then loads with seccomp_load, which sets no_new_privs first (libseccomp's default SCMP_FLTATR_CTL_NNP;
 * runc sets no_new_privs itself), and execvp's the program. runc instead exports the BPF, prepends its ENOSYS
 * stub and calls seccomp(2); the kernel work is the same.
 *
 * The input is the OCI form, as runc receives it in config.json: dockerd has already resolved a Docker
 * profile (archMap, includes/excludes, capabilities) into it. The benchmark writes it once with
 * `seccompkit convert PROFILE --to oci`; `seccompkit run` resolves the Docker profile itself on every launch.
 *
 * Exit codes before the program runs: 2 usage, 121 the profile cannot be read or libseccomp refuses a rule,
 * 120 seccomp_load failed, 4 --export could not write, 126 the program cannot be executed, 127 not found.
 *
 * Build: native/build.sh (gcc -O2 ... -lseccomp -ljansson; Debian: libseccomp-dev libjansson-dev).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_OUTPUT 4
#define EXIT_LOAD 120
#define EXIT_POLICY 121

static const char *profile_path;

static void die(int code, const char *what, const char *detail)
{
	fprintf(stderr, "libseccomp-launch: %s: %s%s%s\n", profile_path ? profile_path : "", what, detail ? ": " : "", detail ? detail : "");
	exit(code);
}

/* The errno of an ERRNO/TRACE action: errnoRet when given, else EPERM (runc). */
static uint32_t errno_ret(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return EPERM;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		die(EXIT_POLICY, key, "not a non-negative integer");
	return (uint32_t)json_integer_value(v);
}

static uint32_t action(const char *name, uint32_t ret)
{
	if (name == NULL)
		die(EXIT_POLICY, "an action is missing", NULL);
	if (strcmp(name, "SCMP_ACT_ALLOW") == 0) return SCMP_ACT_ALLOW;
	if (strcmp(name, "SCMP_ACT_ERRNO") == 0) return SCMP_ACT_ERRNO(ret);
	if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0) return SCMP_ACT_KILL_THREAD;
	if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0) return SCMP_ACT_KILL_PROCESS;
	if (strcmp(name, "SCMP_ACT_TRAP") == 0) return SCMP_ACT_TRAP;
	if (strcmp(name, "SCMP_ACT_TRACE") == 0) return SCMP_ACT_TRACE(ret);
	if (strcmp(name, "SCMP_ACT_LOG") == 0) return SCMP_ACT_LOG;
	if (strcmp(name, "SCMP_ACT_NOTIFY") == 0) return SCMP_ACT_NOTIFY;
	die(EXIT_POLICY, "unknown action", name);
	return 0;
}

static uint32_t arch_token(const char *name)
{
	static const struct { const char *oci; const char *libseccomp; } map[] = {
		{ "SCMP_ARCH_X86", "x86" }, { "SCMP_ARCH_X86_64", "x86_64" }, { "SCMP_ARCH_X32", "x32" },
		{ "SCMP_ARCH_ARM", "arm" }, { "SCMP_ARCH_AARCH64", "aarch64" }, { "SCMP_ARCH_MIPS", "mips" },
		{ "SCMP_ARCH_MIPS64", "mips64" }, { "SCMP_ARCH_MIPS64N32", "mips64n32" }, { "SCMP_ARCH_MIPSEL", "mipsel" },
		{ "SCMP_ARCH_MIPSEL64", "mipsel64" }, { "SCMP_ARCH_MIPSEL64N32", "mipsel64n32" }, { "SCMP_ARCH_PPC", "ppc" },
		{ "SCMP_ARCH_PPC64", "ppc64" }, { "SCMP_ARCH_PPC64LE", "ppc64le" }, { "SCMP_ARCH_S390", "s390" },
		{ "SCMP_ARCH_S390X", "s390x" }, { "SCMP_ARCH_RISCV64", "riscv64" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i].oci) == 0)
			return seccomp_arch_resolve_name(map[i].libseccomp);
	die(EXIT_POLICY, "unknown architecture", name);
	return 0;
}

static enum scmp_compare compare_op(const char *name)
{
	static const struct { const char *oci; enum scmp_compare op; } ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; name != NULL && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(name, ops[i].oci) == 0)
			return ops[i].op;
	die(EXIT_POLICY, "unknown operator", name);
	return 0;
}

static uint64_t u64(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		die(EXIT_POLICY, key, "not an integer");
	return (uint64_t)json_integer_value(v); /* jansson reads integers as long long; values above 2^63 do not occur in the profiles */
}

static void add(scmp_filter_ctx ctx, uint32_t act, int nr, const char *name, unsigned int n, const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, act, nr, n, cmp);
	if (rc != 0)
		die(EXIT_POLICY, name, strerror(-rc));
}

static scmp_filter_ctx build(json_t *root)
{
	uint32_t def = action(json_string_value(json_object_get(root, "defaultAction")), errno_ret(root, "defaultErrnoRet"));
	scmp_filter_ctx ctx = seccomp_init(def);
	if (ctx == NULL)
		die(EXIT_POLICY, "seccomp_init refused the default action", NULL);
	size_t i, j, k;
	json_t *v, *w;
	json_array_foreach(json_object_get(root, "architectures"), i, v) {
		int rc = seccomp_arch_add(ctx, arch_token(json_string_value(v)));
		if (rc != 0 && rc != -EEXIST)
			die(EXIT_POLICY, "seccomp_arch_add", strerror(-rc));
	}
	json_array_foreach(json_object_get(root, "flags"), i, v) {
		const char *f = json_string_value(v);
		enum scmp_filter_attr attr = f == NULL ? 0
			: strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0 ? SCMP_FLTATR_CTL_SSB
			: strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0 ? SCMP_FLTATR_CTL_LOG
			: strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0 ? SCMP_FLTATR_CTL_TSYNC : 0;
		if (attr == 0)
			die(EXIT_POLICY, "unsupported flag", f);
		int rc = seccomp_attr_set(ctx, attr, 1);
		if (rc != 0)
			die(EXIT_POLICY, "seccomp_attr_set", strerror(-rc));
	}
	json_array_foreach(json_object_get(root, "syscalls"), i, v) {
		uint32_t act = action(json_string_value(json_object_get(v, "action")), errno_ret(v, "errnoRet"));
		if (act == def)
			continue; /* runc: a rule with the default action is skipped (libseccomp would refuse it) */
		struct scmp_arg_cmp cmp[6];
		unsigned int n = 0, seen = 0, repeated = 0;
		json_array_foreach(json_object_get(v, "args"), j, w) {
			if (n == 6)
				die(EXIT_POLICY, "more than six conditions in one entry", NULL);
			uint64_t index = u64(w, "index");
			if (index > 5)
				die(EXIT_POLICY, "argument index above 5", NULL);
			cmp[n].arg = (unsigned int)index;
			cmp[n].op = compare_op(json_string_value(json_object_get(w, "op")));
			cmp[n].datum_a = u64(w, "value");
			cmp[n].datum_b = u64(w, "valueTwo");
			repeated |= seen & (1u << index);
			seen |= 1u << index;
			n++;
		}
		json_array_foreach(json_object_get(v, "names"), j, w) {
			const char *name = json_string_value(w);
			int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
			if (nr == __NR_SCMP_ERROR)
				continue; /* runc: a name this libseccomp does not know is skipped */
			if (!repeated)
				add(ctx, act, nr, name, n, cmp);
			else
				for (k = 0; k < n; k++)
					add(ctx, act, nr, name, 1, &cmp[k]);
		}
	}
	return ctx;
}

int main(int argc, char **argv)
{
	const char *export_path = NULL;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--export") == 0) {
		export_path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		goto usage;
	profile_path = argv[i++];
	if (export_path == NULL) {
		if (i + 1 >= argc || strcmp(argv[i], "--") != 0)
			goto usage;
		i++;
	} else if (i != argc) {
		goto usage;
	}

	json_error_t error;
	json_t *root = json_load_file(profile_path, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL) {
		char where[256];
		snprintf(where, sizeof(where), "line %d column %d: %s", error.line, error.column, error.text);
		die(EXIT_POLICY, "invalid JSON", where);
	}
	if (!json_is_object(root))
		die(EXIT_POLICY, "not an OCI linux.seccomp object", NULL);
	scmp_filter_ctx ctx = build(root);
	json_decref(root);

	if (export_path != NULL) {
		int fd = open(export_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0 || close(fd) != 0)
			die(EXIT_OUTPUT, export_path, "cannot write the BPF");
		seccomp_release(ctx);
		return 0;
	}
	int rc = seccomp_load(ctx);
	if (rc != 0)
		die(EXIT_LOAD, "seccomp_load", strerror(-rc));
	seccomp_release(ctx);
	execvp(argv[i], &argv[i]);
	int e = errno;
	fprintf(stderr, "libseccomp-launch: %s: %s\n", argv[i], strerror(e));
	return e == ENOENT ? 127 : 126;

usage:
	fputs("usage: libseccomp-launch PROFILE.json -- PROGRAM [ARGS...]\n"
	      "       libseccomp-launch --export FILE.bpf PROFILE.json\n"
	      "PROFILE is an OCI linux.seccomp object (seccompkit convert PROFILE --to oci writes one).\n", stderr);
	return EXIT_USAGE;
}
