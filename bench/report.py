#!/usr/bin/env python3
"""Combines the anchor's JSON, SeccompKit's prepare statistics and BenchmarkDotNet's JSON export into
bench/results/interpreter-throughput.{md,json}. Called by bench/run.sh."""
import argparse
import glob
import json
import os
import platform
import re


def cpu_model():
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--out", required=True)
    o = ap.parse_args()

    anchor = json.load(open(os.path.join(o.work, "anchor.json")))
    stats = json.load(open(os.path.join(o.work, "stats.json")))
    bdn_file = glob.glob(os.path.join(o.work, "bdn", "results", "*InterpreterThroughput*-report-full-compressed.json"))[0]
    bdn = json.load(open(bdn_file))
    bench = bdn["Benchmarks"][0]
    versions = dict(line.strip().split("=", 1) for line in open(o.versions) if "=" in line)

    n = stats["inputs"]
    if anchor["inputs"] != n or not anchor["verified"]:
        raise SystemExit("anchor and SeccompKit did not run the same verified inputs")
    sweep_ns = bench["Statistics"]["Mean"]
    ours_ns = sweep_ns / n
    ours_eps = 1e9 / ours_ns
    anchor_ns, anchor_eps = anchor["nsPerEval"], anchor["evalsPerSecond"]
    result = {
        "benchmark": "interpreter-throughput",
        "workload": {
            "filter": "data/profiles/docker-default.json for amd64, compiled by libseccomp (runc's translation)",
            "filterInstructions": stats["instructions"],
            "inputs": n,
            "abis": stats["abis"],
            "args": "all zero",
            "results": stats["results"],
            "instructionsExecutedPerEvalMean": round(stats["executedMean"], 2),
            "instructionsExecutedPerEvalMin": stats["executedMin"],
            "instructionsExecutedPerEvalMax": stats["executedMax"],
            "data": versions.get("data"),
        },
        "seccompkit": {
            "method": "Interpreter.Evaluate over every input, BenchmarkDotNet short job (mean of one sweep / inputs)",
            "sweepMeanNs": round(sweep_ns, 1),
            "sweepStdDevNs": round(bench["Statistics"]["StandardDeviation"], 1),
            "nsPerEval": round(ours_ns, 2),
            "evalsPerSecond": round(ours_eps),
        },
        "anchor": {
            "method": "libpcap bpf_filter() over big-endian copies of the same seccomp_data, gcc -O2; results checked equal to SeccompKit's for every input before timing; best of 5 rounds",
            "nsPerEval": round(anchor_ns, 2),
            "evalsPerSecond": round(anchor_eps),
            "libpcap": anchor["libpcap"],
        },
        "ratioOursToAnchor": round(ours_eps / anchor_eps, 3),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "kernel": platform.release(),
            "os": " ".join(platform.freedesktop_os_release().get(k, "") for k in ("NAME", "VERSION_ID")).strip()
            if hasattr(platform, "freedesktop_os_release") else platform.platform(),
        },
        "versions": {
            "dotnet": versions.get("dotnet"),
            "dotnetRuntime": bdn["HostEnvironmentInfo"].get("RuntimeVersion"),
            "benchmarkDotNet": bdn["HostEnvironmentInfo"].get("BenchmarkDotNetVersion"),
            "gcc": versions.get("gcc"),
            "libpcap": versions.get("libpcap"),
            "libseccomp": versions.get("libseccomp"),
        },
    }
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "interpreter-throughput.json"), "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")

    w, s, a, m, v = result["workload"], result["seccompkit"], result["anchor"], result["machine"], result["versions"]
    abis = ", ".join(f"{x['name']} ({x['auditArch']}, {x['first']}..{x['last']})" for x in w["abis"])
    md = f"""# Interpreter throughput

Workload: the Docker default profile (`data/profiles/docker-default.json`, amd64, Docker's default capabilities)
compiled by libseccomp {v['libseccomp']} the way runc adds its rules: {w['filterInstructions']} instructions.
Inputs: every syscall number of each ABI, arguments zero, {w['inputs']} in all: {abis}.
Results over the inputs: {", ".join(f"{k} {c}" for k, c in w['results'].items())}.
Filter data: {w['data']}.

| | evaluations/s | ns/eval |
|---|---:|---:|
| SeccompKit `Interpreter.Evaluate` | {s['evalsPerSecond']:,} | {s['nsPerEval']} |
| anchor: libpcap `bpf_filter()` (C, gcc -O2) | {a['evalsPerSecond']:,} | {a['nsPerEval']} |

Ratio (SeccompKit / anchor, evaluations/s): **{result['ratioOursToAnchor']}**.
Instructions executed per evaluation: mean {w['instructionsExecutedPerEvalMean']}, min {w['instructionsExecutedPerEvalMin']}, max {w['instructionsExecutedPerEvalMax']}
(so SeccompKit runs {s['nsPerEval'] / w['instructionsExecutedPerEvalMean']:.2f} ns and libpcap {a['nsPerEval'] / w['instructionsExecutedPerEvalMean']:.2f} ns per BPF instruction).

Method: SeccompKit is measured by BenchmarkDotNet (short job) as the mean time of one sweep over all inputs
(sweep {s['sweepMeanNs']:,} ns, stddev {s['sweepStdDevNs']:,} ns), divided by the input count. The anchor runs libpcap's
classic-BPF interpreter over the same inputs with every 32-bit word stored big-endian (bpf_filter reads words
big-endian; wirelen = buflen = 64); before timing, its result for every input was checked equal to SeccompKit's
(the run aborts otherwise). Anchor time: best of 5 rounds of whole sweeps.

Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['os']}.
Versions: .NET SDK {v['dotnet']} (runtime {v['dotnetRuntime']}), BenchmarkDotNet {v['benchmarkDotNet']}, gcc {v['gcc']}, libpcap {v['libpcap']}, libseccomp {v['libseccomp']}.

Regenerate with `bench/run.sh`.
"""
    with open(os.path.join(o.out, "interpreter-throughput.md"), "w") as fh:
        fh.write(md)


if __name__ == "__main__":
    main()
