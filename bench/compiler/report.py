#!/usr/bin/env python3
"""Turns SeccompKit.CompilerBench's stats.json into bench/results/compiler.{md,json}. Called by bench/compiler/run.sh."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from machine import describe as describe_machine  # noqa: E402
import results  # noqa: E402

ENGINES = [("seccompkit", "SeccompKit `PolicyCompiler`"), ("libseccompO1", "libseccomp -O1 (default)"), ("libseccompO2", "libseccomp -O2 (binary tree)")]
ABIS = ["x86_64", "x86", "x32"]
TARGETS = {"executedMean": 0.7, "executedMax": 0.7, "compileTime": 0.2}


def main():
    o = results.arguments()
    stats = json.load(open(os.path.join(o.work, "stats.json")))
    versions = o.versions

    profiles = []
    for p in stats["profiles"]:
        f, ct = p["filters"], p["compileTime"]
        ours, lib = f["seccompkit"], [f["libseccompO1"], f["libseccompO2"]]

        def best(key):
            return min(x[key] for x in lib)

        lib_compile = min(ct["libseccompO1"]["medianNs"], ct["libseccompO2"]["medianNs"])
        ratios = {
            "length": round(ours["length"] / best("length"), 3),
            "executedMean": round(ours["executedMean"] / best("executedMean"), 3),
            "executedMax": round(ours["executedMax"] / best("executedMax"), 3),
            "executedMixWeighted": round(ours["executedMixWeighted"] / best("executedMixWeighted"), 3),
            "longestPathMean": round(ours["longestPathMean"] / best("longestPathMean"), 3),
            "longestPathMax": round(ours["longestPathMax"] / best("longestPathMax"), 3),
            "compileTime": round(ct["seccompkit"]["medianNs"] / lib_compile, 3),
        }
        cache = {a: {"seccompkit": ours["abis"][a]["cacheEligible"], "libseccompO1": f["libseccompO1"]["abis"][a]["cacheEligible"],
                     "libseccompO2": f["libseccompO2"]["abis"][a]["cacheEligible"], "max": p["cacheMax"][a]} for a in p["cacheMax"]}
        targets = {
            "executedMean<=0.7": ratios["executedMean"] <= TARGETS["executedMean"],
            "executedMax<=0.7": ratios["executedMax"] <= TARGETS["executedMax"],
            "cacheEligibleEqualsMax": all(c["seccompkit"] == c["max"] for c in cache.values()),
            "compileTime<=0.2": ratios["compileTime"] <= TARGETS["compileTime"],
        }
        profiles.append({**p, "ratiosToLibseccompBest": ratios, "cache": cache, "targetsMet": targets})

    result = {
        "benchmark": "compiler",
        "workload": {
            "profiles": "data/profiles/docker-default.json (moby engine, Docker's default caps) and podman-default.json (podman engine, podman's default caps), "
                        "resolved for amd64 by SeccompKit's DockerProfile.Resolve on this kernel; runc's ENOSYS cutoffs left out (libseccomp does not generate them); "
                        "names libseccomp does not know, or numbers differently, left out of both sides",
            "abis": ABIS,
            "executed": "Interpreter.Run(...).Executed for every syscall number of each ABI's table (x32 with the 0x40000000 bit), arguments zero; the per-ABI columns name the first syscall taking the max",
            "mix": stats["mix"],
            "mixWeighting": "x86_64 numbers of the recorded calls; each workload weighs the same (its calls divided by its total), arguments zero",
            "cache": "ActionCache.IsConstantAllow per syscall below the ABI's bitmap size, for the ABIs an x86_64 kernel caches (x86_64, x86; never x32); max = syscalls the policy allows whatever the arguments",
            "compileTime": "warm, in-process, median of single compiles after warm-up. SeccompKit: Stopwatch around PolicyCompiler.Compile(policy) (policy already built and validated), "
                           "after >= 2 s / 50 compiles of warm-up. libseccomp: libseccomp-compile --time, clock_gettime around seccomp_init, arch/attribute calls, "
                           "name resolution and every seccomp_rule_add_array, seccomp_export_bpf to /dev/null, seccomp_release (policy text parsed once, outside)",
        },
        "targets": {"executedMeanAndMax": "<= 0.7x libseccomp's best", "cacheEligible": "== the policy's maximum", "compileTime": "<= 0.2x libseccomp's best"},
        "profiles": profiles,
        "machine": describe_machine(),
        "versions": {**versions, "libseccompHelper": stats["libseccomp"]},
    }
    results.write_json(o.out, "compiler.json", result)

    def yes(b):
        return "met" if b else "**not met**"

    md = ["# Compiler: SeccompKit vs libseccomp", "",
          f"Workload: {result['workload']['profiles']}. ABIs x86_64, x86, x32 (runc's list for amd64).",
          f"Syscall mix: {stats['mix']['calls']:,} calls of {stats['mix']['distinctSyscalls']} syscalls recorded from "
          f"{', '.join(stats['mix']['workloads'])} by `bench/compiler/record-mix.sh` (`bench/data/syscall-mix.tsv`; {stats['mix']['header'].lstrip('# ')}).", ""]
    for p in profiles:
        f, ct, r, t = p["filters"], p["compileTime"], p["ratiosToLibseccompBest"], p["targetsMet"]
        md += [f"## {p['name']}: {p['rules']} rules, {p['syscallNames']} syscall names"
               + (f" (left out on both sides: {', '.join(p['droppedNames'])})" if p["droppedNames"] else ""), "",
               "| compiler | length | executed mean | executed max | " + " | ".join(f"{a} mean / max" for a in ABIS)
               + " | mix-weighted mean | any-args path mean / max | cache-eligible x86_64 / x86 | compile median |",
               "|---|---:|---:|---:|" + "---:|" * len(ABIS) + "---:|---:|---:|---:|"]
        for key, label in ENGINES:
            x = f[key]
            tm = ct[key]["medianNs"] / 1e6
            cache = " / ".join(f"{x['abis'][a]['cacheEligible']} of {p['cacheMax'][a]}" for a in p["cacheMax"])
            md.append(f"| {label} | {x['length']} | {x['executedMean']:.1f} | {x['executedMax']} | "
                      + " | ".join(f"{x['abis'][a]['executedMean']:.1f} / {x['abis'][a]['executedMax']} ({x['abis'][a]['worstSyscall']})" for a in ABIS)
                      + f" | {x['executedMixWeighted']:.1f} | {x['longestPathMean']:.1f} / {x['longestPathMax']} | {cache} | {tm:.2f} ms |")
        md += ["",
               f"Against libseccomp's best (the smaller of -O1/-O2 for each measure): length {r['length']}x, executed mean {r['executedMean']}x "
               f"(target <= 0.7: {yes(t['executedMean<=0.7'])}), executed max {r['executedMax']}x (target <= 0.7: {yes(t['executedMax<=0.7'])}), "
               f"mix-weighted {r['executedMixWeighted']}x, any-args path mean {r['longestPathMean']}x and max {r['longestPathMax']}x; action cache {yes(t['cacheEligibleEqualsMax'])} (equal to the policy's maximum); "
               f"compile time {r['compileTime']}x (target <= 0.2: {yes(t['compileTime<=0.2'])}).",
               f"Compile-time detail (median / min / mean, ms): SeccompKit {ct['seccompkit']['medianNs']/1e6:.2f} / {ct['seccompkit']['minNs']/1e6:.2f} / {ct['seccompkit']['meanNs']/1e6:.2f} "
               f"({ct['seccompkit']['runs']} runs after {ct['seccompkit']['warmup']} warm-up; with `Optimize = false`, for information: {ct['seccompkitUnoptimized']['medianNs']/1e6:.2f} / {ct['seccompkitUnoptimized']['minNs']/1e6:.2f} / {ct['seccompkitUnoptimized']['meanNs']/1e6:.2f}); libseccomp -O1 {ct['libseccompO1']['medianNs']/1e6:.2f} / {ct['libseccompO1']['minNs']/1e6:.2f} / {ct['libseccompO1']['meanNs']/1e6:.2f}; "
               f"-O2 {ct['libseccompO2']['medianNs']/1e6:.2f} / {ct['libseccompO2']['minNs']/1e6:.2f} / {ct['libseccompO2']['meanNs']/1e6:.2f} ({ct['libseccompO1']['runs']} runs each).", ""]
    m, v = result["machine"], result["versions"]
    md += ["## Method", "",
           f"- Executed instructions: {result['workload']['executed']}; the mix weights {result['workload']['mixWeighting']}.",
           "- Any-args path: `CompileReport.LongestPath` per syscall number, taking both branches of every jump that depends on arguments: an upper bound on what any call of that syscall executes (mean over the numbers of all three ABIs, and max).",
           f"- Action cache: {result['workload']['cache']}.",
           f"- Compile time: {result['workload']['compileTime']}. Both sides run on this shared 2-core machine in one run; spread between runs is large, compare ratios from one run.",
           "- Before measuring, every filter is checked to give the policy's action (PolicyEvaluator) for every syscall number of every ABI; the differential tests "
           "(tests/SeccompKit.Linux.Tests/Compiler) check far more inputs.", "",
           f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['os']}.",
           f"Versions: .NET SDK {v.get('dotnet')} (runtime {v.get('dotnetRuntime')}), gcc {v.get('gcc')}, libseccomp {v.get('libseccomp')} (helper reports {v['libseccompHelper']}), SeccompKit commit {v.get('commit')}.",
           "", "Regenerate with `bench/compiler/run.sh` (also run by `bench/run.sh`).", ""]
    results.write(o.out, "compiler.md", "\n".join(md))


if __name__ == "__main__":
    main()
