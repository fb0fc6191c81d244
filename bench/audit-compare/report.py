#!/usr/bin/env python3
"""Builds bench/results/audit-compare.{json,md} from the outputs bench/audit-compare/run.sh collected.

For each filter: seccomp-tools `audit --format json` findings (check id, severity, arch, syscalls) next to
`seccompkit lint --format json` findings (rule ID, name, syscalls, instruction), or lint's refusal (exit 6) with its
reasons. Then, per kind of finding, on how many filters each tool reports it. The kinds pair audit's checks with the
lint rules that look for the same weakness (docs/LINT.md, "Side by side with seccomp-tools audit").
"""
import argparse
import collections
import json
import os
import re

EXEC = {"execve", "execveat"}
OPEN = {"open", "openat", "openat2", "creat"}
READ_WRITE = {"read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
              "sendfile"}
FORK = {"fork", "vfork", "clone", "clone3"}


def audit_alt(group):
    return lambda f: f["id"] == "syscall-alt-gap" and set(f["syscalls"]) <= group


def audit_danger(names):
    return lambda f: f["id"] == "dangerous-allow" and set(f["syscalls"]) & names


def lint_ids(*ids, syscalls=None):
    def pred(f):
        if f["id"] not in ids:
            return False
        return syscalls is None or bool(set(f.get("syscalls", [])) & syscalls)
    return pred


def refusal_arch(reasons):
    return any("does not check arch" in r for r in reasons)


def refusal_x32(reasons):
    return any(re.search(r": x32 [a-z0-9_]+: the recovered policy gives \S+ where the filter gives ALLOW", r)
               for r in reasons)


# (key, label, audit check, lint rules, audit predicate, lint predicate, refusal predicate, comment)
KINDS = [
    ("arch", "arch never checked, or another arch reaches ALLOW", "arch-unchecked", "SK101",
     lambda f: f["id"] == "arch-unchecked", lint_ids("SK101"), refusal_arch,
     "lint: on BPF no policy expresses, SK101 comes from the explanation itself; audit-only rows are programs whose decision never depends on nr, or that the kernel refuses"),
    ("x32", "x32 numbers (nr + 0x40000000) reach ALLOW where the native number is refused", "x32-guard",
     "SK102 (x32)", lambda f: f["id"] == "x32-guard",
     lambda f: f["id"] == "SK102" and "x32" in f.get("why", ""), refusal_x32,
     "lint: SK102 from the explanation itself, naming the calls and the ret that lets them through"),
    ("compat", "an i386 variant or multiplexer runs where the syscall is refused (socketcall, mmap2, *32)", "-",
     "SK102 (x86)", lambda f: False, lambda f: f["id"] == "SK102" and "x32" not in f.get("why", ""), None,
     "audit flags socketcall only as a dangerous allow (next rows)"),
    ("default", "default ALLOW (a deny-list)", "permissive-default", "-",
     lambda f: f["id"] == "permissive-default", lambda f: False, None,
     "lint: not a finding by itself (SK104 notes a deny-list that leaves x86/x32 uncovered); the SK2xx gaps and "
     "SK3xx allows say what the deny-list misses"),
    ("exec-gap", "execve refused, execveat runs (or the reverse)", "syscall-alt-gap (exec)", "SK201",
     audit_alt(EXEC), lint_ids("SK201"), None, ""),
    ("open-gap", "one of open/openat/openat2(/creat) refused, another runs", "syscall-alt-gap (open)", "SK202",
     audit_alt(OPEN), lint_ids("SK202"), None, "audit's group has no creat"),
    ("rw-gap", "one read or write syscall refused, a sibling runs", "syscall-alt-gap (read, write)", "SK205",
     lambda f: f["id"] == "syscall-alt-gap" and set(f["syscalls"]) <= READ_WRITE,
     lint_ids("SK205", syscalls=READ_WRITE), None, ""),
    ("fork-gap", "one of fork/vfork/clone/clone3 refused, another runs", "syscall-alt-gap (fork)", "SK205, SK602",
     audit_alt(FORK), lambda f: (f["id"] == "SK205" and bool(set(f.get("syscalls", [])) & FORK)) or f["id"] == "SK602",
     None, "lint: clone3 answered ENOSYS next to clone is the correct pattern (glibc falls back), not a gap; "
           "EPERM is SK602"),
    ("ptrace", "ptrace allowed", "dangerous-allow (ptrace)", "SK301",
     audit_danger({"ptrace"}), lint_ids("SK301"), None, ""),
    ("process-vm", "process_vm_readv/writev allowed", "dangerous-allow (process_vm_*)", "SK204",
     audit_danger({"process_vm_readv", "process_vm_writev"}), lint_ids("SK204"), None,
     "lint: only when ptrace is refused (same access check); with ptrace allowed SK301 covers it"),
    ("io-uring", "io_uring_setup allowed", "dangerous-allow (io_uring_setup)", "SK203",
     audit_danger({"io_uring_setup"}), lint_ids("SK203"), None,
     "lint: only when syscalls a ring performs (read/write/openat/socket...) are refused"),
    ("exec", "execve/execveat allowed", "dangerous-allow (execve, execveat)", "-",
     audit_danger(EXEC), lambda f: False, None, "lint: a container must exec"),
    ("network", "socket/connect (i386: socketcall) allowed", "dangerous-allow (socket, connect, socketcall)", "-",
     audit_danger({"socket", "connect", "socketcall"}), lambda f: False, None,
     "lint: a container usually networks; SK102 when socket is refused but socketcall(SYS_SOCKET) runs"),
    ("orw", "open, read and write all allowed", "orw-chain", "-",
     lambda f: f["id"] == "orw-chain", lambda f: False, None, "lint: every file-using program has it"),
    ("kernel-surface", "bpf, userfaultfd, keyrings, perf, kexec, modules, mount API, namespaces, personality, "
     "open_by_handle_at, host administration allowed", "-", "SK302-SK312",
     lambda f: False, lambda f: re.fullmatch(r"SK30[2-9]|SK31[0-2]", f["id"]) is not None, None, ""),
    ("arg-width", "64-bit compare of a 32-bit argument", "-", "SK401", lambda f: False, lint_ids("SK401"), None, ""),
    ("dead-rules", "shadowed, contradictory, unreachable or default-equal rules", "-", "SK501-SK504",
     lambda f: False, lambda f: f["id"] in ("SK501", "SK502", "SK503", "SK504"), None, ""),
    ("enosys", "EPERM instead of ENOSYS for syscalls newer than the profile", "-", "SK601",
     lambda f: False, lint_ids("SK601"), None, ""),
    ("kill-thread", "KILL_THREAD as the default", "-", "SK603", lambda f: False, lint_ids("SK603"), None, ""),
    ("notify", "NOTIFY on the runtime's own syscalls", "-", "SK604", lambda f: False, lint_ids("SK604"), None,
     "needs --runtime; not run here"),
]


def read(path, default=""):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return default


def main():
    ap = argparse.ArgumentParser()
    for opt in ("manifest", "out-dir", "json", "md", "st-version", "st-commit", "st-patched", "ruby", "seccompkit",
                "libseccomp", "repo"):
        ap.add_argument("--" + opt, required=True)
    a = ap.parse_args()

    filters = []
    with open(a.manifest, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for i, (name, path, arch, group, origin) in enumerate(rows, start=1):
        base = os.path.join(a.out_dir, str(i))
        audit_rc = int(read(base + ".audit.rc", "-1").strip())
        audit_findings, audit_error = [], None
        try:
            doc = json.loads(read(base + ".audit.json"))
            for rep in doc["reports"]:
                for x in rep["findings"]:
                    audit_findings.append({"id": x["id"], "severity": x["severity"], "arch": x["arch"],
                                           "syscalls": x["syscalls"], "title": x["title"]})
            audit_arches = sorted({arch for rep in doc["reports"] for arch in rep["arches"]})
            audit_truncated = any(rep["truncated"] for rep in doc["reports"])
        except (ValueError, KeyError):
            audit_error = read(base + ".audit.err").strip().splitlines()[:3]
            audit_arches, audit_truncated = [], False
        lint_rc = int(read(base + ".lint.rc", "-1").strip())
        lint_err = [l for l in read(base + ".lint.err").splitlines() if l.strip()]
        lint_findings, refused, not_linted = [], False, False
        try:
            doc = json.loads(read(base + ".lint.json"))
            for x in doc["findings"]:
                lint_findings.append({"id": x["id"], "name": x["name"], "severity": x["severity"],
                                      "instruction": x.get("instruction"), "syscalls": x.get("syscalls", []),
                                      "why": x.get("why", "")})
        except ValueError:
            # exit 6: no policy expresses the filter (reasons on stderr; only the arch checks ran); otherwise the input
            # was refused before linting (a program the kernel would refuse is exit 3, BadInput in ExitCodes.cs).
            refused = lint_rc == 6
            not_linted = not refused
        # Paths relative to the checkout (data/peers/st/...) or to the scratch directory (filters/...), so the
        # recorded results do not depend on where the script ran.
        lint_err = [l.replace(a.repo.rstrip("/") + "/", "").replace(os.path.dirname(a.out_dir.rstrip("/")) + "/", "")
                    for l in lint_err]
        reasons = [l.split(": ", 1)[1] if l.startswith("seccompkit: ") else l for l in lint_err] if refused else []
        filters.append({
            "name": name, "group": group, "arch": arch, "origin": origin,
            "audit": {"exitCode": audit_rc, "arches": audit_arches, "truncated": audit_truncated,
                      "findings": audit_findings, "error": audit_error},
            "lint": {"exitCode": lint_rc, "refused": refused, "notLinted": not_linted, "findings": lint_findings,
                     "reasonCount": len(reasons), "reasons": reasons[:20], "allReasons": reasons, "stderr": [] if refused else lint_err},
        })

    kinds = []
    for key, label, audit_check, lint_rule, ap_, lp, rp, comment in KINDS:
        per = {"audit": [], "lint": [], "lintRefusedNamingIt": []}
        for flt in filters:
            if any(ap_(x) for x in flt["audit"]["findings"]):
                per["audit"].append(flt["name"])
            if any(lp(x) for x in flt["lint"]["findings"]):
                per["lint"].append(flt["name"])
            elif rp is not None and flt["lint"]["refused"] and rp(flt["lint"]["allReasons"]):
                per["lintRefusedNamingIt"].append(flt["name"])
        kinds.append({"kind": key, "label": label, "auditCheck": audit_check, "lintRules": lint_rule,
                      "comment": comment, "filters": per})

    for flt in filters:
        del flt["lint"]["allReasons"]  # the kinds above used them all; the JSON keeps the first 20
        for x in flt["lint"]["findings"]:
            del x["why"]  # used by the kinds (SK102 on x32 or x86); the sentences are lint's own output
    result = {
        "tools": {"seccompTools": {"version": a.st_version, "commit": a.st_commit, "ruby": a.ruby,
                                   "dumpableRbPatchedForRuby31": a.st_patched == "yes",
                                   "command": "seccomp-tools audit --format json -a ARCH FILE"},
                  "seccompkit": {"version": a.seccompkit,
                                 "command": "seccompkit lint FILE --format json --fail-on never"},
                  "libseccomp": a.libseccomp},
        "filters": filters,
        "kinds": kinds,
    }
    with open(a.json, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    with open(a.md, "w", encoding="utf-8") as f:
        f.write(markdown(result))


def counted(items):
    c = collections.Counter(items)
    return ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in c.items())


def audit_cell(flt):
    if flt["audit"]["error"]:
        return "error: " + " ".join(flt["audit"]["error"])[:160]
    items = []
    for x in flt["audit"]["findings"]:
        if x["id"] in ("dangerous-allow",):
            items.append(f"dangerous-allow {','.join(x['syscalls'])}" + (f" [{x['arch']}]" if x["arch"] else ""))
        elif x["id"] == "syscall-alt-gap":
            items.append(f"syscall-alt-gap {'/'.join(x['syscalls'])}" + (f" [{x['arch']}]" if x["arch"] else ""))
        else:
            items.append(x["id"] + (f" [{x['arch']}]" if x["arch"] else ""))
    text = counted(items) or "none"
    if flt["audit"]["truncated"]:
        text += " (analysis truncated)"
    return text


def lint_cell(flt):
    lint = flt["lint"]
    if lint["refused"]:
        return f"refused, exit 6 ({lint['reasonCount']} reason lines)"
    if lint["notLinted"]:
        text = " ".join(lint["stderr"])
        text = re.sub(r"^seccompkit: \S+: ", "", text)
        return f"not linted, exit {lint['exitCode']}: {text[:140]}"
    return counted(x["id"] for x in lint["findings"]) or "none"


def markdown(r):
    t = r["tools"]
    out = []
    out.append("# seccomp-tools `audit` and `seccompkit lint` on the same filters\n")
    out.append("Written by `bench/audit-compare/run.sh` (a one-off comparison, not part of CI; docs/LINT.md quotes it).\n")
    out.append(f"- seccomp-tools {t['seccompTools']['version']} (commit {t['seccompTools']['commit']}) from source under "
               f"{t['seccompTools']['ruby']}; `{t['seccompTools']['command']}`"
               + ("; lib/seccomp-tools/cli/dumpable.rb's anonymous block renamed for Ruby 3.1.2 (see run.sh)"
                  if t["seccompTools"]["dumpableRbPatchedForRuby31"] else ""))
    out.append(f"- seccompkit {t['seccompkit']['version']} (NativeAOT); `{t['seccompkit']['command']}`")
    out.append(f"- libseccomp {t['libseccomp']} for the `*-libseccomp` filters\n")

    out.append("## Who reports what\n")
    out.append("Columns: filters where audit reports it / lint reports it / both; audit only, split by whether lint "
               "linted the filter or refused it (exit 6, and whether a reason names the hole) or did not lint it "
               "(a program the kernel refuses, exit 3); lint only.\n")
    linted = {flt["name"] for flt in r["filters"] if not flt["lint"]["refused"] and not flt["lint"]["notLinted"]}
    out.append("| kind | audit check | lint rule | audit | lint | both | audit only, linted | audit only, lint refused "
               "(reason names it) | audit only, not linted | lint only | comment |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for k in r["kinds"]:
        p = k["filters"]
        a, l, rf = set(p["audit"]), set(p["lint"]), set(p["lintRefusedNamingIt"])
        only = a - l
        refused = {n for n in only for flt in r["filters"] if flt["name"] == n and flt["lint"]["refused"]}
        not_linted = only - linted - refused
        ref_text = ", ".join(n + (" (named)" if n in rf else "") for n in sorted(refused)) or "-"
        out.append(f"| {k['label']} | {k['auditCheck']} | {k['lintRules']} | {len(a)} | {len(l)} | {len(a & l)} | "
                   f"{', '.join(sorted(only & linted)) or '-'} | {ref_text} | {', '.join(sorted(not_linted)) or '-'} | "
                   f"{', '.join(sorted(l - a)) or '-'} | {k['comment']} |")
    out.append("")

    out.append("## Per filter\n")
    out.append("| filter | group | seccomp-tools audit | seccompkit lint |")
    out.append("|---|---|---|---|")
    for flt in r["filters"]:
        out.append(f"| {flt['name']} | {flt['group']} | {audit_cell(flt)} | {lint_cell(flt)} |")
    out.append("")

    out.append("## Details\n")
    for flt in r["filters"]:
        out.append(f"### {flt['name']}\n")
        out.append(f"{flt['origin']}; arch {flt['arch']}; audit exit {flt['audit']['exitCode']}, "
                   f"lint exit {flt['lint']['exitCode']}\n")
        out.append("- audit: " + audit_cell(flt))
        if flt["lint"]["refused"]:
            reasons = flt["lint"]["reasons"]
            shown = reasons[:4]
            out.append(f"- lint: refused (exit 6); first reasons of {flt['lint']['reasonCount']}:")
            for line in shown:
                out.append(f"  - {line[:300]}")
        else:
            items = [f"{x['id']} {x['name']}" + (f" ({', '.join(x['syscalls'][:4])}"
                                                 + (", ..." if len(x['syscalls']) > 4 else "") + ")"
                                                 if x["syscalls"] else "")
                     for x in flt["lint"]["findings"]]
            out.append("- lint: " + (counted(items) if items else lint_cell(flt)))
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
