#!/usr/bin/env python3
"""Turns bench/launch/run.sh's measurements into bench/results/launch.{md,json}."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from machine import describe as describe_machine  # noqa: E402
import results  # noqa: E402

TARGET = 1.0  # seccompkit run <= 1.0x the C launcher's median wall time (issue 16; issue 5 asked for 1.5x)
CALLS = ["getppid", "personality(0xffffffff)", "clone(CLONE_SIGHAND)", "clone(CLONE_NEWUSER|CLONE_SIGHAND)"]
FILTERS = [("seccompkit", "SeccompKit"), ("libseccomp", "libseccomp")]


def hyperfine(*paths):
    """name -> {medianMs, meanMs, minMs, maxMs, stddevMs, runs} from hyperfine --export-json files, runs pooled per command."""
    times = {}
    for path in paths:
        for r in json.load(open(path))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
    out = {}
    for name, t in times.items():
        out[name] = {
            "medianMs": round(statistics.median(t) * 1e3, 4),
            "meanMs": round(statistics.fmean(t) * 1e3, 4),
            "minMs": round(min(t) * 1e3, 4),
            "maxMs": round(max(t) * 1e3, 4),
            "stddevMs": round(statistics.stdev(t) * 1e3, 4) if len(t) > 1 else 0.0,
            "runs": len(t),
        }
    return out


def main():
    o = results.arguments()
    w = o.work
    v = o.versions

    rounds_files = sorted(f for f in os.listdir(w) if f.startswith("launch-") and f.endswith(".json"))
    launch = hyperfine(*(os.path.join(w, f) for f in rounds_files))
    c = launch["C launcher (libseccomp)"]["medianMs"]
    for name, r in launch.items():
        r["ratioToC"] = round(r["medianMs"] / c, 3)
        per_round = [hyperfine(os.path.join(w, f)) for f in rounds_files]
        ratios_ = [p[name]["medianMs"] / p["C launcher (libseccomp)"]["medianMs"] for p in per_round]
        r["ratioToCPerRound"] = {"min": round(min(ratios_), 3), "max": round(max(ratios_), 3), "rounds": len(ratios_)}
    ours = launch.get("seccompkit run (NativeAOT)")
    launch_target = None if ours is None else ours["ratioToC"] <= TARGET

    cost = [json.loads(line) for line in open(os.path.join(w, "cost.jsonl")) if line.strip()]
    by = {}  # (label, call) -> the median of the processes' medians, fastest and slowest round, processes
    for key in {(r["label"], r["call"]) for r in cost}:
        rs = [r for r in cost if (r["label"], r["call"]) == key]
        if len({min(r["result"], 0) for r in rs}) != 1:  # getppid returns a pid: compare the errno only
            raise SystemExit(f"syscall-cost: {key} answered differently in different processes: {sorted({r['result'] for r in rs})}")
        by[key] = {"medianNs": round(statistics.median(r["medianNs"] for r in rs), 2), "minNs": min(r["minNs"] for r in rs),
                   "maxNs": max(r["maxNs"] for r in rs), "result": rs[0]["result"], "processes": len(rs)}
    filters = {}
    for key, _ in FILTERS:
        size = os.path.getsize(os.path.join(w, f"{key}.bpf")) // 8
        cached = {r["syscall"]: r["cached"] for r in json.load(open(os.path.join(w, f"emulate-{key}-all.json")))["syscalls"]}
        calls = {}
        for i, call in enumerate(CALLS):
            e = json.load(open(os.path.join(w, f"emulate-{key}-{i}.json")))
            m, base = by[(key, call)], by[("none", call)]
            name = call.split("(")[0]
            # The kernel's answer must be the one SeccompKit's emulator gives for this filter (EPERM = -1).
            if (m["result"] == -1) != (e["text"] == "ERRNO(EPERM)"):
                raise SystemExit(f"{key} {call}: the kernel returned {m['result']} but the emulator says {e['text']}")
            calls[call] = {
                "medianNs": m["medianNs"], "minNs": m["minNs"], "maxNs": m["maxNs"], "result": m["result"],
                "overNoFilterNs": round(m["medianNs"] - base["medianNs"], 2),
                "action": e["text"], "cachedByKernel": bool(cached.get(name)),
                "instructionsExecuted": 0 if cached.get(name) else e["executed"],
            }
        filters[key] = {"length": size, "calls": calls}
    baseline = {call: {k: by[("none", call)][k] for k in ("medianNs", "minNs", "maxNs", "result")} for call in CALLS}
    ratios = {call: round(filters["seccompkit"]["calls"][call]["medianNs"] / filters["libseccomp"]["calls"][call]["medianNs"], 3) for call in CALLS}
    rounds, ncalls, processes = cost[0]["rounds"], cost[0]["calls"], by[("none", CALLS[0])]["processes"]

    startup = hyperfine(os.path.join(w, "startup.json"))
    compile_ = hyperfine(os.path.join(w, "compile.json"))

    result = {
        "benchmark": "launch",
        "workload": {
            "launch": "hyperfine -N (no shell), in 5 rounds over all commands (10 warm-ups each); runs pooled per command, median over all. "
                      "C launcher: native/build/libseccomp-launch reads the Docker profile as OCI linux.seccomp JSON (jansson; written once by "
                      "`seccompkit convert --to oci`, as dockerd hands runc the resolved profile), builds the filter with libseccomp as runc does, "
                      "seccomp_load (no_new_privs + seccomp), execvp /bin/true: every launch. seccompkit run: reads data/profiles/docker-default.json, "
                      "resolves it for amd64 (archMap, capabilities, minKernel), compiles, starts its stage two, which installs the filter and execs /bin/true.",
            "perSyscall": f"native/build/syscall-cost: each process installs one filter (no_new_privs, SECCOMP_FILTER_FLAG_SPEC_ALLOW) or none, then per call "
                          f"times {rounds} rounds of {ncalls} raw syscall(2) calls after a warm-up round and keeps the median round; {processes} processes per filter, "
                          "interleaved and pinned to one CPU; the table gives the median of the processes' medians, ns/call. Filters: "
                          "`seccompkit compile data/profiles/docker-default.json` and libseccomp's export of the same OCI JSON by libseccomp-launch "
                          "(without runc's ENOSYS stub; SeccompKit's filter has runc's ENOSYS cutoff built in).",
            "aotVsJit": "hyperfine -N: `--version` (50 runs after 5 warm-ups) and `compile data/profiles/docker-default.json -q -o FILE` (20 runs after 3); "
                        "JIT = `dotnet artifacts/cli/SeccompKit.Cli.dll` (framework-dependent, tiered JIT). Outputs compared byte for byte.",
        },
        "targets": {"launch": f"seccompkit run median <= {TARGET}x the C launcher's"},
        "launch": launch,
        "launchTargetMet": launch_target,
        "perSyscall": {"noFilter": baseline, "filters": filters, "ratioSeccompkitToLibseccomp": ratios},
        "aot": {
            "binaryBytes": int(v["aotBinaryBytes"]),
            "publishSeconds": int(v["aotPublishSeconds"]),
            "startup": startup,
            "compileDocker": compile_,
        },
        "load": {"before": float(v["loadBefore"]), "after": float(v["loadAfter"])},
        "machine": describe_machine(),
        "versions": {k: v[k] for k in ("dotnet", "gcc", "libseccomp", "jansson", "hyperfine", "seccompkit", "commit")},
    }
    results.write_json(o.out, "launch.json", result)

    m = result["machine"]
    md = ["# Launch benchmark", "",
          f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['os']}. "
          f"Load average (1 min) {result['load']['before']} at the start, {result['load']['after']} at the end (this benchmark's own load included). "
          f"dotnet {v['dotnet']}, libseccomp {v['libseccomp']}, gcc {v['gcc']}, hyperfine {v['hyperfine']}, seccompkit {v['seccompkit']}.", "",
          "## Launch: `/bin/true` under Docker's default profile", "",
          result["workload"]["launch"], "",
          "| command | median ms | mean ms | min ms | runs | × C launcher | × C launcher, per round |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in launch.items():
        pr = r["ratioToCPerRound"]
        md.append(f"| {name} | {r['medianMs']:.3f} | {r['meanMs']:.3f} | {r['minMs']:.3f} | {r['runs']} | {r['ratioToC']:.2f} | {pr['min']:.2f} – {pr['max']:.2f} |")
    md.append("")
    if ours is None:
        md.append(f"Target (seccompkit run ≤ {TARGET}× the C launcher, median): **not measured** — `seccompkit run` is not in this build.")
    else:
        md.append(f"Target (seccompkit run ≤ {TARGET}× the C launcher, median): {ours['ratioToC']:.2f}× — {'met' if launch_target else '**not met**'}.")
    md += ["", "## Per-syscall cost of the Docker filter", "", result["workload"]["perSyscall"], "",
           f"Filter length: SeccompKit {filters['seccompkit']['length']}, libseccomp {filters['libseccomp']['length']} instructions.", "",
           "| call | no filter ns | SeccompKit ns (+over none) | libseccomp ns (+over none) | SeccompKit / libseccomp | action | instructions SeccompKit / libseccomp |",
           "|---|---:|---:|---:|---:|---|---:|"]
    for call in CALLS:
        s, lb = filters["seccompkit"]["calls"][call], filters["libseccomp"]["calls"][call]
        ins = "cached (filter not run)" if s["cachedByKernel"] and lb["cachedByKernel"] else f"{s['instructionsExecuted']} / {lb['instructionsExecuted']}"
        md.append(f"| {call} | {baseline[call]['medianNs']:.1f} | {s['medianNs']:.1f} ({s['overNoFilterNs']:+.1f}) | {lb['medianNs']:.1f} ({lb['overNoFilterNs']:+.1f}) | "
                  f"{ratios[call]:.2f} | {s['action']} | {ins} |")
    md += ["", "A denied call can be cheaper than no filter: the filter answers before the syscall body runs.", "",
           "## NativeAOT vs JIT", "", result["workload"]["aotVsJit"], "",
           f"NativeAOT binary: {result['aot']['binaryBytes'] / 1e6:.1f} MB ({result['aot']['binaryBytes']} bytes, stripped, linux-x64); "
           + (f"`build-aot.sh` published it in {result['aot']['publishSeconds']} s in this run (incremental when obj/ was warm)."
              if result['aot']['publishSeconds'] >= 0 else "a prebuilt binary ($SECCOMPKIT) was measured."), "",
           "| measurement | NativeAOT median ms | JIT median ms | JIT / NativeAOT |", "|---|---:|---:|---:|"]
    for label, d in (("`seccompkit --version` (startup)", startup), ("`seccompkit compile` Docker profile", compile_)):
        a, j = d["NativeAOT"]["medianMs"], d["JIT"]["medianMs"]
        md.append(f"| {label} | {a:.2f} | {j:.2f} | {j / a:.1f} |")
    md.append("")
    results.write(o.out, "launch.md", "\n".join(md))


if __name__ == "__main__":
    main()
