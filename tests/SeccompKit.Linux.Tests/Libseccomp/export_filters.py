#!/usr/bin/python3
"""Builds seccomp filters with libseccomp (python3-seccomp), exports their BPF and writes test vectors.

Run with Debian's /usr/bin/python3 (the python3-seccomp module lives in its dist-packages):

    /usr/bin/python3 export_filters.py --out DIR --profile data/profiles/docker-default.json
    /usr/bin/python3 export_filters.py --docker-only FILE.bpf --profile data/profiles/docker-default.json \
        [--arches FILE]   # the benchmark's input: the Docker filter and each ABI's syscall number range

DIR receives one NAME.bpf per filter (libseccomp's seccomp_export_bpf output) and manifest.json:
each filter's vectors (arch, nr, args[6], expected return value) plus, for the Docker filter, the
cross-check table (profile syscall name -> number by libseccomp's resolver -> action of the profile).

The expected values are NOT read from the BPF: they come from the rule sets' meaning as libseccomp
defines it (model_action below). Facts the model relies on, each checked against libseccomp 2.5.4's
seccomp_export_pfc output:
  * A rule's conditions are ANDed; a syscall's rules are ORed; no match -> the filter's default action.
    Rules are only generated so that every input matching several rules of a syscall sees one action
    (random sets: one action per syscall; hand-written sets: disjoint conditions), because libseccomp
    does not document which action wins when rules with different actions overlap.
  * x86_64 is a 64-bit ABI for libseccomp: conditions compare all 64 bits (high word first).
    x86 and x32 are 32-bit ABIs for libseccomp (arch-x32.c: ARCH_SIZE_32): only the low 32 bits of
    the argument are compared with the low 32 bits of the datum (and mask).
  * MASKED_EQ(mask, datum) matches when (arg & mask) == (datum & mask): libseccomp masks the datum
    when it builds the rule (db.c), so datum bits outside the mask never matter.
  * Arch dispatch (gen_bpf.c): arch == AUDIT_ARCH_I386 -> x86 rules; arch == AUDIT_ARCH_X86_64 with
    nr >= 0x40000000 -> x32 rules if x32 is in the filter, else (nr != 0xffffffff) the bad-arch action;
    nr < 0x40000000 -> x86_64 rules if x86_64 is in the filter, else the bad-arch action; any other
    arch -> the bad-arch action (KILL_THREAD = 0 unless set).
  * libseccomp 2.5.4 refuses: a rule whose action equals the default (EACCES), two conditions on the
    same argument in one rule (EINVAL), TRAP with data and ERRNO data >= 4095 (EINVAL). The generator
    never asks for those.
"""

import argparse
import json
import os
import platform
import random
import sys

try:
    import seccomp
except ImportError:  # pragma: no cover - the C# test turns this into an actionable failure
    sys.stderr.write("cannot import seccomp: apt-get install python3-seccomp (and run with /usr/bin/python3)\n")
    sys.exit(3)

U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF
X32_BIT = 0x40000000
AUDIT_X86_64 = 0xC000003E
AUDIT_I386 = 0x40000003
AUDIT_AARCH64 = 0xC00000B7

ARCHES = {  # name -> (libseccomp token, audit arch, 64-bit compares?, number base)
    "x86_64": (seccomp.Arch.X86_64, AUDIT_X86_64, True, 0),
    "x86": (seccomp.Arch.X86, AUDIT_I386, False, 0),
    "x32": (seccomp.Arch.X32, AUDIT_X86_64, False, X32_BIT),
}

OPS = {"EQ": seccomp.EQ, "NE": seccomp.NE, "LT": seccomp.LT, "LE": seccomp.LE,
       "GT": seccomp.GT, "GE": seccomp.GE, "MASKED_EQ": seccomp.MASKED_EQ}

# Action values as the kernel sees them (python3-seccomp gives KILL_PROCESS as a negative int).
KILL_PROCESS = seccomp.KILL_PROCESS & U32
KILL = seccomp.KILL & U32
TRAP = seccomp.TRAP & U32
LOG = seccomp.LOG & U32
ALLOW = seccomp.ALLOW & U32
NOTIFY = seccomp.NOTIFY & U32


def ERRNO(n):
    return seccomp.ERRNO(n) & U32


def TRACE(n):
    return seccomp.TRACE(n) & U32


# Ordinary syscalls that exist on x86_64, x86 and x32 and are not multiplexed through socketcall/ipc
# on x86 (libseccomp rewrites those rules for socketcall and drops their argument conditions there).
POOL = ["read", "write", "open", "close", "lseek", "mmap", "mprotect", "munmap", "brk", "ioctl",
        "access", "pipe", "dup", "dup2", "getpid", "kill", "uname", "fcntl", "flock", "fsync",
        "truncate", "ftruncate", "getcwd", "chdir", "rename", "mkdir", "rmdir", "link", "unlink",
        "chmod", "fchmod", "chown", "umask", "getuid", "getgid", "setuid", "setgid", "geteuid",
        "setpgid", "getppid", "setsid", "personality", "prctl", "sync", "mount", "umount2",
        "gettid", "tkill", "futex", "exit_group", "tgkill", "openat", "mkdirat", "unlinkat",
        "eventfd2", "dup3", "pipe2", "prlimit64", "getrandom", "memfd_create", "execveat",
        "clone", "fork", "vfork", "wait4", "setns", "unshare", "nanosleep", "getpriority"]


def u32(v):
    return v & U32


def lib(action):
    """python3-seccomp takes actions as C ints: KILL_PROCESS (0x80000000) goes in as a negative number."""
    return action - (1 << 32) if action & 0x80000000 else action


def cond_holds(op, arg, a, b, wide):
    """One libseccomp condition on one argument value. a = datum (or mask for MASKED_EQ), b = datum."""
    if not wide:
        arg, a, b = u32(arg), u32(a), u32(b)
    if op == "EQ":
        return arg == a
    if op == "NE":
        return arg != a
    if op == "LT":
        return arg < a
    if op == "LE":
        return arg <= a
    if op == "GT":
        return arg > a
    if op == "GE":
        return arg >= a
    if op == "MASKED_EQ":
        return (arg & a) == (b & a)
    raise ValueError(op)


class Resolver:
    """Syscall numbers per arch as libseccomp knows them (its own tables, via seccomp.resolve_syscall)."""

    def __init__(self):
        self.by_nr = {}
        self.max_nr = {}
        for arch, (token, _, _, base) in ARCHES.items():
            table = {}
            for n in range(0, 1100):
                try:
                    table[base + n] = seccomp.resolve_syscall(token, base + n).decode()
                except ValueError:
                    pass
            self.by_nr[arch] = table
            self.max_nr[arch] = max(table)
        self._cache = {}

    def numbers(self, arch, name):
        """Every number a rule on NAME covers on ARCH: the forward resolution (which on x86 maps socket
        calls to socketcall) and every number whose reverse resolution is NAME."""
        key = (arch, name)
        if key not in self._cache:
            nrs = {nr for nr, n in self.by_nr[arch].items() if n == name}
            fwd = seccomp.resolve_syscall(ARCHES[arch][0], name)
            if fwd >= 0:
                nrs.add(fwd)
            self._cache[key] = frozenset(nrs)
        return self._cache[key]


class RuleSet:
    """A filter as rules: default action, arches, rules (name, action, [(arg, op, a, b)])."""

    def __init__(self, name, default, arches, rules, badarch=None, optimize=None, priorities=None, desc=""):
        self.name, self.default, self.arches, self.rules = name, default, list(arches), rules
        self.badarch = KILL if badarch is None else badarch
        self.optimize, self.priorities, self.desc = optimize, priorities or {}, desc

    def build(self):
        f = seccomp.SyscallFilter(lib(self.default))
        for arch in self.arches:
            if arch != "x86_64":
                f.add_arch(ARCHES[arch][0])
        if "x86_64" not in self.arches:
            f.remove_arch(seccomp.Arch.X86_64)
        if self.badarch != KILL:
            f.set_attr(seccomp.Attr.ACT_BADARCH, lib(self.badarch))
        if self.optimize is not None:
            f.set_attr(seccomp.Attr.CTL_OPTIMIZE, self.optimize)
        for name, action, conds in self.rules:
            f.add_rule(lib(action), name, *[seccomp.Arg(i, OPS[op], a, b) for (i, op, a, b) in conds])
        for name, prio in self.priorities.items():
            f.syscall_priority(name, prio)
        return f

    def section(self, arch_value, nr):
        """Which arch's rules apply (libseccomp's dispatch), or None for the bad-arch action."""
        nr = u32(nr)
        if arch_value == AUDIT_I386:
            return "x86" if "x86" in self.arches else None
        if arch_value == AUDIT_X86_64:
            if nr >= X32_BIT:
                if "x32" in self.arches:
                    return "x32"
                return "x86_64" if nr == U32 and "x86_64" in self.arches else None
            return "x86_64" if "x86_64" in self.arches else None
        return None

    def expected(self, resolver, arch_value, nr, args):
        sec = self.section(arch_value, nr)
        if sec is None:
            return self.badarch
        wide = ARCHES[sec][2]
        hits = set()
        for name, action, conds in self.rules:
            if u32(nr) in resolver.numbers(sec, name) and all(cond_holds(op, args[i], a, b, wide) for (i, op, a, b) in conds):
                hits.add(action)
        if len(hits) > 1:
            raise ValueError(f"{self.name}: arch {sec} nr {nr} args {args} match rules with actions {sorted(hits)}; the generator must not make overlapping rules with different actions")
        return hits.pop() if hits else self.default


def interesting(v):
    """Values around a 64-bit constant: itself, +-1, each 32-bit half alone, a flipped high half."""
    lo, hi = v & U32, v >> 32
    out = {v, (v + 1) & U64, (v - 1) & U64, lo, hi << 32, hi, lo | (U32 << 32), v ^ (1 << 32),
           ((hi + 1) & U32) << 32 | lo, ((hi - 1) & U32) << 32 | lo, v ^ 0x80000000}
    return out


def satisfying(op, a, b):
    return {"EQ": a, "NE": (a + 1) & U64, "LT": (a - 1) & U64 if a else 0, "LE": a,
            "GT": (a + 1) & U64, "GE": a, "MASKED_EQ": b & a}[op]


def vectors_for(rs, resolver, sweep=False):
    vecs = {}

    def add(arch_value, nr, args):
        key = (arch_value, u32(nr), tuple(args))
        if key not in vecs:
            vecs[key] = rs.expected(resolver, arch_value, nr, list(args))

    zero = (0,) * 6
    for arch in rs.arches:
        av, base = ARCHES[arch][1], ARCHES[arch][3]
        rule_nrs = set()
        for name, _, conds in rs.rules:
            for nr in resolver.numbers(arch, name):
                rule_nrs.add(nr)
                add(av, nr, zero)
                add(av, nr, (U64,) * 6)
                base_args = [0] * 6
                for (i, op, a, b) in conds:
                    base_args[i] = satisfying(op, a, b)
                add(av, nr, base_args)
                for (i, op, a, b) in conds:
                    cands = interesting(a) | interesting(b) | {0, U64, U32}
                    if op == "MASKED_EQ":
                        cands |= {b & a, (b & a) | (~a & U64), (b & a) ^ (a & -a & U64)}
                    for v in cands:
                        args = list(base_args)
                        args[i] = v
                        add(av, nr, args)
        # Numbers no rule names, next to the ruled ones, and the edges of the table.
        for nr in list(rule_nrs):
            for d in (-1, 1, 2):
                if nr + d >= base:
                    add(av, nr + d, zero)
        for nr in (base, base + resolver.max_nr[arch] - base, base + 1000):
            add(av, nr, zero)
        if sweep:
            for nr in range(base, resolver.max_nr[arch] + 1):
                add(av, nr, zero)
    # Arches the filter does not handle, and ABIs sharing AUDIT_ARCH_X86_64.
    add(AUDIT_AARCH64, 0, zero)
    add(AUDIT_AARCH64, 63, zero)
    add(AUDIT_I386, 3, zero)
    add(AUDIT_X86_64, 0, zero)
    add(AUDIT_X86_64, X32_BIT, zero)
    add(AUDIT_X86_64, X32_BIT + 1, zero)
    add(AUDIT_X86_64, X32_BIT - 1, zero)
    return [[av, nr, *args, exp] for (av, nr, args), exp in vecs.items()]


# ---------------------------------------------------------------- hand-written rule sets

H = 0x1_0000_0000


def handwritten():
    sets = []

    def rs(name, default, arches, rules, desc, **kw):
        sets.append(RuleSet(name, default, arches, rules, desc=desc, **kw))

    x64 = ["x86_64"]
    all3 = ["x86_64", "x86", "x32"]
    rs("allow-default-kill-process", ALLOW, x64, [("ptrace", KILL_PROCESS, []), ("mount", KILL_PROCESS, [])], "KILL_PROCESS rules under an allow-all default")
    rs("allow-default-kill-thread", ALLOW, x64, [("ptrace", KILL, []), ("getpid", KILL, [(0, "EQ", 7, 0)])], "KILL (thread) rules")
    rs("kill-default-allow-list", KILL, all3, [(n, ALLOW, []) for n in ("read", "write", "exit_group", "futex", "mmap", "brk")], "allow list, kill the rest, three ABIs")
    rs("kill-process-default", KILL_PROCESS, all3, [(n, ALLOW, []) for n in ("read", "write", "close")], "KILL_PROCESS as the default action")
    rs("trap-rules", ALLOW, all3, [("mkdir", TRAP, []), ("rmdir", TRAP, [(1, "GT", 0o777, 0)])], "TRAP (libseccomp 2.5.4 only allows TRAP with data 0)")
    rs("errno-values", ALLOW, all3, [("open", ERRNO(1), []), ("openat", ERRNO(2), []), ("unlink", ERRNO(4094), []), ("chmod", ERRNO(0), [])], "ERRNO data 0, 1, 2, 4094")
    rs("trace-values", ALLOW, x64, [("kill", TRACE(0), []), ("tkill", TRACE(1), []), ("tgkill", TRACE(65535), [])], "TRACE data 0, 1, 65535")
    rs("log-and-notify", ALLOW, all3, [("uname", LOG, []), ("getcwd", NOTIFY, []), ("chdir", LOG, [(0, "NE", 0, 0)])], "LOG and USER_NOTIF")
    rs("every-action", ERRNO(38), all3, [("read", ALLOW, []), ("write", LOG, []), ("close", TRACE(9), []), ("getpid", NOTIFY, []), ("kill", TRAP, []), ("open", ERRNO(13), []), ("mount", KILL, []), ("ptrace", KILL_PROCESS, [])], "every action, one syscall each, ERRNO(ENOSYS) default")
    rs("eq-high-halves", ERRNO(1), x64, [("read", ALLOW, [(0, "EQ", 0xFFFFFFFF, 0)]), ("write", ALLOW, [(1, "EQ", H, 0)]), ("close", ALLOW, [(2, "EQ", 0xFFFFFFFF_FFFFFFFF, 0)]), ("lseek", ALLOW, [(3, "EQ", 0x8000_0000_0000_0001, 0)])], "EQ on values whose halves differ")
    rs("ne-high-halves", ALLOW, all3, [("read", ERRNO(5), [(0, "NE", 0x1_0000_0005, 0)]), ("write", ERRNO(6), [(2, "NE", 0xFFFFFFFF, 0)])], "NE with a 64-bit datum (x86/x32 compare low halves)")
    rs("lt-le-64", ERRNO(1), x64, [("read", ALLOW, [(0, "LT", 0x2_0000_0000, 0)]), ("write", ALLOW, [(0, "LE", 0x1_FFFF_FFFF, 0)]), ("pread64", ALLOW, [(5, "LT", 1, 0)]), ("pwrite64", ALLOW, [(4, "LE", 0, 0)])], "LT/LE across the 32-bit boundary")
    rs("gt-ge-64", ERRNO(1), x64, [("read", ALLOW, [(0, "GT", 0xFFFFFFFF, 0)]), ("write", ALLOW, [(0, "GE", 0x1_0000_0000, 0)]), ("mmap", ALLOW, [(1, "GT", 0x7FFF_FFFF_FFFF_FFFF, 0)]), ("munmap", ALLOW, [(1, "GE", 0xFFFF_FFFF_FFFF_FFFF, 0)])], "GT/GE with high halves")
    rs("gt-ge-32bit-abis", ERRNO(1), ["x86", "x32"], [("read", ALLOW, [(0, "GT", 0x1_0000_0005, 0)]), ("write", ALLOW, [(2, "GE", 0xFFFF_FFFF_8000_0000, 0)])], "x86+x32 only: 64-bit data truncated to the low half")
    rs("masked-eq", ERRNO(1), all3, [("clone", ALLOW, [(0, "MASKED_EQ", 0x7E020000, 0)]), ("mmap", ALLOW, [(2, "MASKED_EQ", 0x4, 0x4)]), ("fcntl", ALLOW, [(1, "MASKED_EQ", 0xFFFF_0000_0000_00FF, 0x1234_0000_0000_0012)])], "MASKED_EQ with high-half masks")
    rs("masked-eq-datum-outside-mask", ALLOW, x64, [("write", ERRNO(9), [(1, "MASKED_EQ", 0xFF00_0000_00FF, 0x12_0000_0034)])], "datum bits outside the mask are ignored by libseccomp")
    rs("several-rules-one-syscall", ERRNO(1), all3, [("ioctl", ALLOW, [(1, "EQ", 0x5401, 0)]), ("ioctl", ALLOW, [(1, "EQ", 0x5413, 0)]), ("ioctl", ALLOW, [(1, "EQ", 0x541B, 0), (0, "LE", 2, 0)]), ("ioctl", ALLOW, [(1, "MASKED_EQ", 0xFFFF_FF00, 0x8900)])], "four OR-ed rules on ioctl")
    rs("disjoint-actions-one-syscall", ALLOW, all3, [("getpid", KILL_PROCESS, [(0, "EQ", 1, 0)]), ("getpid", TRAP, [(0, "EQ", 2, 0)]), ("getpid", LOG, [(0, "GE", 100, 0)]), ("getpid", ERRNO(3), [(0, "EQ", 50, 0)])], "different actions on disjoint arg0 ranges")
    rs("six-args", ERRNO(1), x64, [("mmap", ALLOW, [(0, "EQ", 0, 0), (1, "LE", 0x10000, 0), (2, "MASKED_EQ", 0x7, 0x3), (3, "NE", 0x10, 0), (4, "GE", 0xFFFF_FFFF, 0), (5, "LT", 0x1000, 0)])], "one rule with a condition on each of the six arguments")
    rs("unconditional-and-conditional", ERRNO(1), all3, [("read", ALLOW, [(0, "EQ", 3, 0)]), ("read", ALLOW, []), ("write", ALLOW, [(0, "GT", 2, 0)])], "an unconditional rule subsumes a conditional one with the same action")
    rs("x86-only", ERRNO(1), ["x86"], [("read", ALLOW, []), ("write", ALLOW, [(0, "EQ", 1, 0)])], "only the i386 ABI; AUDIT_ARCH_X86_64 is a bad arch")
    rs("x32-only", ERRNO(1), ["x32"], [("read", ALLOW, []), ("rt_sigaction", ALLOW, []), ("ioctl", LOG, [])], "only the x32 ABI (x32-specific numbers 512+)")
    rs("x86_64-and-x32", ERRNO(1), ["x86_64", "x32"], [("read", ALLOW, []), ("execve", TRAP, [])], "x86_64 and x32 share AUDIT_ARCH_X86_64")
    rs("badarch-errno", ALLOW, ["x86_64"], [("ptrace", ERRNO(1), [])], "bad-arch action ERRNO(ENOSYS)", badarch=ERRNO(38))
    rs("badarch-log", ERRNO(1), ["x86"], [("read", ALLOW, [])], "bad-arch action LOG", badarch=LOG)
    rs("binary-tree", ERRNO(1), all3, [(n, ALLOW, []) for n in POOL[:40] if n != "kill"] + [("kill", TRAP, [(1, "EQ", 9, 0)])], "CTL_OPTIMIZE=2: binary search over syscall numbers", optimize=2)
    rs("binary-tree-args", KILL, ["x86_64"], [(n, ALLOW, [(0, "LE", i * 1000 + 7, 0)]) for i, n in enumerate(POOL[:25])], "CTL_OPTIMIZE=2 with argument checks", optimize=2)
    rs("priorities", ERRNO(1), all3, [("read", ALLOW, []), ("write", LOG, []), ("futex", ALLOW, [(1, "EQ", 128, 0)])], "syscall_priority reorders the checks", priorities={"futex": 250, "write": 100})
    rs("many-syscalls-errno", ALLOW, all3, [(n, ERRNO(i + 1), []) for i, n in enumerate(POOL)], "every pool syscall with its own errno")
    rs("personality-like", ERRNO(1), all3, [("personality", ALLOW, [(0, "EQ", v, 0)]) for v in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF)], "Docker's personality rules alone")
    rs("notify-default", NOTIFY, ["x86_64"], [("read", ALLOW, []), ("write", ALLOW, []), ("exit_group", ALLOW, [])], "USER_NOTIF as the default action")
    rs("log-default", LOG, all3, [("mount", ERRNO(1), []), ("umount2", ERRNO(1), [(1, "MASKED_EQ", 2, 2)])], "LOG as the default action")
    return sets


# ---------------------------------------------------------------- random rule sets

ACTIONS = [lambda r: KILL_PROCESS, lambda r: KILL, lambda r: TRAP, lambda r: ERRNO(r.randrange(0, 4095)),
           lambda r: TRACE(r.randrange(0, 65536)), lambda r: LOG, lambda r: ALLOW, lambda r: NOTIFY]


def rand_value(r):
    kind = r.randrange(8)
    if kind == 0:
        return r.choice([0, 1, 2, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 1 << 32, U64, 1 << 63])
    if kind == 1:
        return r.randrange(0, 256)
    if kind == 2:
        return r.randrange(0, 1 << 32)
    if kind == 3:
        return r.randrange(1, 16) << 32 | r.randrange(0, 1 << 32)
    if kind == 4:
        return r.randrange(0, 1 << 32) << 32
    if kind == 5:
        return U32 << 32 | r.randrange(0, 1 << 32)
    return r.randrange(0, 1 << 64)


def rand_cond(r, i, ops=tuple(OPS)):
    op = r.choice(ops)
    if op == "MASKED_EQ":
        mask = rand_value(r)
        return (i, op, mask, rand_value(r) & mask)
    return (i, op, rand_value(r), 0)


def random_set(r, idx):
    """A seeded random rule set whose meaning libseccomp pins down. seccomp_rule_add(3) only says that a
    rule's comparisons are ANDed and that an argument may be compared once per rule; how several rules of
    one syscall combine is not specified (seccomp/libseccomp#118, #225), and 2.5.4 does not OR rules whose
    conditions sit on different arguments, nor rules comparing one 64-bit argument with ranges (found
    by this generator: dup2 with arg0 <= 0xcca7cff1 OR arg0 <= 0x28f6e79d4 gives arg0 = 0xcca7cff2 the
    default action). So a syscall gets one action and one of three shapes."""
    default = r.choice(ACTIONS)(r)
    arches = [a for a in ARCHES if r.random() < 0.6] or [r.choice(list(ARCHES))]
    names = r.sample(POOL, r.randrange(1, 9))
    rules = []
    for name in names:
        action = r.choice(ACTIONS)(r)
        while action == default:
            action = r.choice(ACTIONS)(r)
        shape = r.randrange(3)
        if shape == 0:    # unconditional
            rules.append((name, action, []))
        elif shape == 1:  # one rule, 1..3 conditions on distinct arguments (ANDed)
            rules.append((name, action, [rand_cond(r, i) for i in sorted(r.sample(range(6), r.randrange(1, 4)))]))
        else:             # 2..4 rules with one EQ/MASKED_EQ condition each, all on the same argument (ORed)
            arg = r.randrange(6)
            rules.extend((name, action, [rand_cond(r, arg, ("EQ", "MASKED_EQ"))]) for _ in range(r.randrange(2, 5)))
    badarch = r.choice(ACTIONS)(r) if r.random() < 0.2 else None
    optimize = 2 if r.random() < 0.3 else None
    prios = {n: r.randrange(0, 256) for n in names if r.random() < 0.2}
    return RuleSet(f"random-{idx:03d}", default, arches, rules, badarch=badarch, optimize=optimize,
                   priorities=prios, desc="seeded random rule set")


# ---------------------------------------------------------------- Docker profile, the runc way

DOCKER_DEFAULT_CAPS = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                       "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                       "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
SCMP_ARCH = {"SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X32": "x32"}


def kernel_at_least(version):
    def parts(v):
        return [int("".join(c for c in p if c.isdigit()) or 0) for p in v.split(".")[:2]]
    return parts(platform.release()) >= parts(version)


def docker_action(name, errno_ret, default_errno=1):
    if name == "SCMP_ACT_ALLOW":
        return ALLOW
    if name == "SCMP_ACT_ERRNO":
        return ERRNO(default_errno if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_KILL":
        return KILL
    if name == "SCMP_ACT_KILL_PROCESS":
        return KILL_PROCESS
    if name == "SCMP_ACT_LOG":
        return LOG
    if name == "SCMP_ACT_TRAP":
        return TRAP
    if name == "SCMP_ACT_TRACE":
        return TRACE(default_errno if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_NOTIFY":
        return NOTIFY
    raise ValueError(f"unknown action {name}")


def docker_profile(path):
    """moby's profile -> OCI config for amd64 with Docker's default caps -> libseccomp rules as runc adds them.
    Returns (RuleSet, names, entries): every name the profile lists, and the entries kept for amd64 as
    (names, action, conditions)."""
    prof = json.load(open(path))
    default = docker_action(prof["defaultAction"], prof.get("defaultErrnoRet"))
    arch_entry = next(a for a in prof["archMap"] if a["architecture"] == "SCMP_ARCH_X86_64")
    arches = [SCMP_ARCH[a] for a in [arch_entry["architecture"]] + arch_entry["subArchitectures"]]
    rules, names, entries = [], set(), []
    for call in prof["syscalls"]:
        inc, exc = call.get("includes") or {}, call.get("excludes") or {}
        if inc.get("arches") and "amd64" not in inc["arches"]:
            continue
        if inc.get("caps") and not all(c in DOCKER_DEFAULT_CAPS for c in inc["caps"]):
            continue
        if inc.get("minKernel") and not kernel_at_least(inc["minKernel"]):
            continue
        if exc.get("arches") and "amd64" in exc["arches"]:
            continue
        if exc.get("caps") and any(c in DOCKER_DEFAULT_CAPS for c in exc["caps"]):
            continue
        action = docker_action(call["action"], call.get("errnoRet"))
        args = call.get("args") or []
        conds = [(a["index"], a["op"].replace("SCMP_CMP_", ""), a["value"], a.get("valueTwo", 0)) for a in args]
        names.update(call["names"])
        entries.append((call["names"], action, conds))
        for name in call["names"]:
            # runc: names libseccomp cannot resolve are skipped; rules equal to the default are skipped.
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1:
                continue
            if action == default:
                continue
            indices = [c[0] for c in conds]
            if len(indices) != len(set(indices)):
                rules.extend((name, action, [c]) for c in conds)
            else:
                rules.append((name, action, conds))
    for call in prof["syscalls"]:
        names.update(call["names"])
    return RuleSet("docker-default", default, arches, rules, desc="data/profiles/docker-default.json for amd64, Docker's default caps"), names, entries


def profile_action(default, entries, name, args, wide):
    """What the profile itself says for NAME with ARGS, read by name (no syscall numbers involved)."""
    hits = {action for names, action, conds in entries
            if name in names and all(cond_holds(op, args[i], a, b, wide) for (i, op, a, b) in conds)}
    if len(hits) > 1:
        raise ValueError(f"profile gives {name} several actions: {sorted(hits)}")
    return hits.pop() if hits else default


def export(rs, path):
    f = rs.build()
    with open(path, "wb") as fh:
        f.export_bpf(fh)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="directory for *.bpf and manifest.json")
    ap.add_argument("--profile", required=True, help="path of data/profiles/docker-default.json")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--random", type=int, default=300, help="number of random rule sets")
    ap.add_argument("--docker-only", help="export only the Docker filter to this file")
    ap.add_argument("--arches", help="with --docker-only: write 'name audit_arch first_nr last_nr' per ABI of the filter")
    opts = ap.parse_args()

    docker, docker_names, docker_entries = docker_profile(opts.profile)
    if opts.docker_only:
        export(docker, opts.docker_only)
        if opts.arches:
            resolver = Resolver()
            with open(opts.arches, "w") as fh:
                fh.write(f"# ABIs of the Docker filter (libseccomp {'.'.join(str(x) for x in seccomp_version())}): name audit_arch first_nr last_nr\n")
                for arch in docker.arches:
                    base = ARCHES[arch][3]
                    fh.write(f"{arch} 0x{ARCHES[arch][1]:08x} 0x{base:x} 0x{resolver.max_nr[arch]:x}\n")
        return 0
    if not opts.out:
        ap.error("--out or --docker-only is required")
    os.makedirs(opts.out, exist_ok=True)
    resolver = Resolver()
    r = random.Random(opts.seed)
    sets = handwritten() + [docker] + [random_set(r, i) for i in range(opts.random)]
    filters = []
    for rs in sets:
        file = rs.name + ".bpf"
        export(rs, os.path.join(opts.out, file))
        filters.append({"name": rs.name, "file": file, "description": rs.desc,
                        "vectors": vectors_for(rs, resolver, sweep=rs is docker)})
    # Cross-check: each profile name -> libseccomp's number on each arch -> the profile's action for
    # that name with all arguments zero (names libseccomp does not know, or that an arch lacks, have no number).
    cross = []
    for name in sorted(docker_names):
        for arch in docker.arches:
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1:
                continue
            nr = seccomp.resolve_syscall(ARCHES[arch][0], name)
            if nr >= 0:
                expected = profile_action(docker.default, docker_entries, name, [0] * 6, ARCHES[arch][2])
                cross.append({"name": name, "arch": arch, "auditArch": ARCHES[arch][1], "nr": nr, "expected": expected})
    manifest = {"libseccomp": ".".join(str(x) for x in seccomp_version()), "seed": opts.seed,
                "filters": filters, "dockerCrossCheck": cross}
    with open(os.path.join(opts.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh)
    return 0


def seccomp_version():
    # python3-seccomp has no version call; ask the shared library it is linked with.
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_version.restype = ctypes.POINTER(ctypes.c_uint * 3)
    v = lib.seccomp_version().contents
    return list(v)


if __name__ == "__main__":
    sys.exit(main())
