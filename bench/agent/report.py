#!/usr/bin/env python3
"""Turns bench/agent/run.sh's measurements into bench/results/agent.{md,json}."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from machine import describe as describe_machine  # noqa: E402
import results  # noqa: E402

RUNTIMES = ["runc", "crun"]


def spread(values):
    """median, min, max, quartiles and count of a list of numbers."""
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"median": round(statistics.median(values), 3), "min": round(values[0], 3), "max": round(values[-1], 3),
            "q1": round(q[0], 3), "q3": round(q[2], 3), "n": len(values)}


def summarize(rows):
    out = {}
    for rt in RUNTIMES:
        tp = {v: [r for r in rows if r["kind"] == "throughput" and r["runtime"] == rt and r["variant"] == v] for v in ("agent", "bare")}
        if not tp["agent"]:
            continue
        per_s = [r["calls"] / (r["loopNs"] / 1e9) for r in tp["agent"]]
        bare_ns = [r["loopNs"] / r["calls"] for r in tp["bare"]]
        agent_ns = [r["loopNs"] / r["calls"] for r in tp["agent"]]
        # per round: the agent's added cost per call over the same container without it
        by_round = {r["round"]: r for r in tp["bare"]}
        added = [a["loopNs"] / a["calls"] - by_round[a["round"]]["loopNs"] / by_round[a["round"]]["calls"] for a in tp["agent"] if a["round"] in by_round]
        notified = [r["notified"] for r in tp["agent"]]
        st = {v: [r["wallMs"] for r in rows if r["kind"] == "start" and r["runtime"] == rt and r["variant"] == v] for v in ("none", "allow", "learn")}
        learn_notified = [r["notified"] for r in rows if r["kind"] == "start" and r["runtime"] == rt and r["variant"] == "learn"]
        med = {v: statistics.median(t) for v, t in st.items()}
        out[rt] = {
            "notificationsPerSecond": spread(per_s),
            "nsPerCall": {"agent": spread(agent_ns), "bare": spread(bare_ns), "addedByAgent": spread(added)},
            "notifiedPerContainer": {"min": min(notified), "max": max(notified)} if min(notified) >= 0 else None,
            "startMs": {v: spread(t) for v, t in st.items()},
            "startRatio": {"learnToAllow": round(med["learn"] / med["allow"], 3), "learnToNone": round(med["learn"] / med["none"], 3),
                           "allowToNone": round(med["allow"] / med["none"], 3)},
            "startAddedMs": round(med["learn"] - med["allow"], 3),
            "learnStartNotified": {"min": min(learn_notified), "max": max(learn_notified)} if learn_notified and min(learn_notified) >= 0 else None,
        }
    return out


def main():
    o = results.arguments()
    w, v = o.work, o.versions
    passes = {}
    for name, file, label in (("inProcess", "inproc.jsonl", "SeccompAgent in the driver's process (JIT), learn session (ContainerLearnSession)"),
                              ("cli", "cli.jsonl", v.get("cliAgent", "none"))):
        path = os.path.join(w, file)
        if os.path.exists(path):
            rows = [json.loads(line) for line in open(path) if line.strip()]
            passes[name] = {"agent": label, "runtimes": summarize(rows)}
    result = {
        "benchmark": "agent",
        "workload": {
            "throughput": f"a busybox container (OCI bundle, busybox-static rootfs) runs bench/agent/getppid-loop {v['calls']}: that many raw getppid(2) calls, "
                          "timed inside the container with CLOCK_MONOTONIC. 'agent': its profile notifies getppid (listenerPath = the agent, metadata learn) and "
                          "the agent's learn session records each call and answers CONTINUE (and writes the learned profile at exit); 'bare': the same profile with getppid allowed, no agent.",
            "start": "`RUNTIME run` of busybox `true`, wall time from spawn to exit (OciBundle.Run; the container's delete is not timed). 'learn': the "
                     "profile `seccompkit agent profile --metadata learn` writes for the installed runtime (AgentProfile.For) served by the "
                     "agent's learn session; 'allow': the same profile with SCMP_ACT_ALLOW and no listener; 'none': no "
                     "linux.seccomp. 3 starts per variant and round.",
            "order": f"{v['rounds']} rounds after 1 warm-up round; in each round runc and crun (order alternating), variants rotated; nice {v['nice']}.",
        },
        "passes": passes,
        "cliAgentPass": v.get("cliAgent", "none"),
        "load": {"before": float(v["loadBefore"]), "after": float(v["loadAfter"])},
        "machine": describe_machine(),
        "versions": {k: v[k] for k in ("dotnet", "runc", "crun", "busybox", "gcc", "seccompkit", "commit")},
    }
    results.write_json(o.out, "agent.json", result)

    m = result["machine"]
    md = ["# Agent benchmark", "",
          f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['os']}. runc {v['runc']}, crun {v['crun']}, busybox {v['busybox']}, "
          f".NET {v['dotnet']}, seccompkit {v['seccompkit']} (commit {v['commit']}). Load average {v['loadBefore']} before, {v['loadAfter']} after.", "",
          "Produced by `bench/agent/run.sh`; numbers are medians with [min – max] over the rounds.", "",
          "## What was measured", "",
          "- Throughput: " + result["workload"]["throughput"],
          "- Start: " + result["workload"]["start"],
          "- Order: " + result["workload"]["order"],
          "- The `seccompkit agent` pass: " + result["cliAgentPass"], ""]
    for name, p in passes.items():
        md += [f"## Agent: {p['agent']}", "",
               "| runtime | notifications/s | ns/call with agent | ns/call without | added by the agent (ns/call) | calls seen by the agent |",
               "|---|---|---|---|---|---|"]
        for rt, r in p["runtimes"].items():
            n, a, b, d = r["notificationsPerSecond"], r["nsPerCall"]["agent"], r["nsPerCall"]["bare"], r["nsPerCall"]["addedByAgent"]
            seen = "not counted (external agent)" if r["notifiedPerContainer"] is None else f"{r['notifiedPerContainer']['min']}–{r['notifiedPerContainer']['max']} of {v['calls']}"
            md.append(f"| {rt} | {n['median']:,.0f} [{n['min']:,.0f} – {n['max']:,.0f}] | {a['median']:,.0f} [{a['min']:,.0f} – {a['max']:,.0f}] | "
                      f"{b['median']:,.0f} [{b['min']:,.0f} – {b['max']:,.0f}] | {d['median']:,.0f} [{d['min']:,.0f} – {d['max']:,.0f}] | {seen} |")
        md += ["", "| runtime | start, no seccomp (ms) | start, learn profile, NOTIFY as ALLOW (ms) | start, learn through the agent (ms) | learn / ALLOW | learn / none | added (ms) | calls notified per start |",
               "|---|---|---|---|---|---|---|---|"]
        for rt, r in p["runtimes"].items():
            s, q = r["startMs"], r["startRatio"]
            seen = "–" if r["learnStartNotified"] is None else f"{r['learnStartNotified']['min']}–{r['learnStartNotified']['max']}"
            md.append(f"| {rt} | " + " | ".join(f"{s[x]['median']:.1f} [{s[x]['min']:.1f} – {s[x]['max']:.1f}]" for x in ("none", "allow", "learn")) +
                      f" | {q['learnToAllow']:.2f} | {q['learnToNone']:.2f} | {r['startAddedMs']:+.1f} | {seen} |")
        md.append("")
    results.write(o.out, "agent.md", "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
