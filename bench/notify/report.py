"""Turns bench/notify/run.sh's measurements into bench/results/notify.{json,md}."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import results  # noqa: E402
from machine import describe as describe_machine  # noqa: E402

NAMES = {
    "c-raw/on": "C loop, raw ioctls (anchor), SYNC_WAKE_UP on",
    "c-raw/off": "C loop, raw ioctls, SYNC_WAKE_UP off",
    "c-libseccomp/on": "C loop, libseccomp 2.5.4, SYNC_WAKE_UP on",
    "seccompkit/on": "SeccompKit NotificationSupervisor, SYNC_WAKE_UP on",
    "seccompkit/off": "SeccompKit NotificationSupervisor, SYNC_WAKE_UP off",
    "learn/on": "`seccompkit learn` (records every call), SYNC_WAKE_UP on",
}


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p * (len(v) - 1))))]


def load(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.startswith("{")]


def main():
    o = results.arguments()
    v = o.versions
    rtt = load(os.path.join(o.work, "rtt.jsonl"))
    many = load(os.path.join(o.work, "many.jsonl"))

    # Part 1. Targets' lines, in run order; a round starts at each "bare" line.
    rounds, cur = [], None
    for line in rtt:
        if line.get("role") != "target":
            continue
        if line["label"] == "bare":
            cur = {"bare": line}
            rounds.append(cur)
        else:
            cur[line["label"]] = line
    bare = statistics.median(x for r in rounds for x in r["bare"]["nsPerCall"])
    configs = [c for c in NAMES if all(c in r for r in rounds)]
    per = {}
    for c in configs:
        us = [(x - bare) / 1000 for r in rounds for x in r[c]["nsPerCall"]]
        per[c] = {"medianUs": statistics.median(us), "p99Us": pct(us, 0.99), "minUs": min(us), "batches": len(us),
                  "roundMediansUs": [statistics.median((x - bare) / 1000 for x in r[c]["nsPerCall"]) for r in rounds]}
    anchor = per["c-raw/on"]

    def ratio(c, key):
        return per[c][key] / anchor[key]

    def round_ratios(c):
        return [a / b for a, b in zip(per[c]["roundMediansUs"], anchor["roundMediansUs"])]

    targets = [
        ("NotificationSupervisor alone", "seccompkit/on", 1.05),
        ("learn's added cost per notified call", "learn/on", 1.10),
    ]
    target_rows = []
    for name, c, limit in targets:
        if c not in per:
            continue
        rr = round_ratios(c)
        target_rows.append({"what": name, "config": c, "limit": limit, "median": ratio(c, "medianUs"), "p99": ratio(c, "p99Us"),
                            "roundRatios": rr, "met": ratio(c, "medianUs") <= limit and ratio(c, "p99Us") <= limit})

    # Part 2. Median over rounds per (workload, supervisor).
    groups = {}
    for line in many:
        if line.get("role") != "many":
            continue
        groups.setdefault(line["label"], []).append(line)
    many_rows = []
    for label, lines in groups.items():
        w, mode, kills, impl, threads = label.split("/")
        many_rows.append({"workers": int(w), "mode": mode, "killed": int(kills), "supervisor": impl, "threads": int(threads),
                          "callsPerSecond": statistics.median(x["callsPerSecond"] for x in lines),
                          "callsPerSecondRange": [min(x["callsPerSecond"] for x in lines), max(x["callsPerSecond"] for x in lines)],
                          "p50Us": statistics.median(x["p50Us"] for x in lines), "p99Us": statistics.median(x["p99Us"] for x in lines),
                          "failed": sum(x["failed"] for x in lines), "runs": len(lines)})
    many_rows.sort(key=lambda r: (r["killed"], r["mode"], r["workers"], r["supervisor"] != "c-raw", r["threads"]))
    sups = [("c-raw", 1), ("c-raw", 2), ("seccompkit", 1), ("seccompkit", 2)]

    result = {"machine": describe_machine(), "versions": v, "unfilteredNs": bare, "roundTrip": per, "targets": target_rows,
              "many": many_rows}
    results.write_json(o.out, "notify.json", result)

    m = result["machine"]
    f = lambda x: f"{x:.2f}"  # noqa: E731
    md = ["# Notification benchmark (issue 16: round trip, many targets)", "",
          f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['os']}. "
          f"**Load average (1 min) {v['loadBefore']} at the start, {v['loadAfter']} at the end**: "
          + ("other work was running on this 2-core machine during the run, so absolute times are inflated and noisy; the "
             "ratios come from interleaved runs in the same rounds. **A rerun on a quiet machine is due.** "
             if max(float(v['loadBefore']), float(v['loadAfter'])) > 4 else
             "no other work was running (the load is the benchmark's own); the ratios come from interleaved runs in the same rounds. ")
          + 
          f"dotnet {v['dotnet']}, gcc {v['gcc']}, libseccomp {v['libseccomp']}, seccompkit {v['seccompkit']} (commit {v['commit']}). "
          f"Timed commands at nice {v['nice']}.", "",
          "## Round trip", "",
          f"native/notify-rtt target: 200 batches of 1000 raw getppid() calls (200,000), each batch timed; {len(rounds)} rounds, each "
          "running the unfiltered target and every supervisor once (a process each), order rotated per round. Round trip = time per "
          f"call minus the unfiltered call's median ({bare:.0f} ns); median and p99 over all batches of a configuration.", "",
          "| supervisor | median µs | p99 µs | fastest batch µs | × anchor (median) | × anchor (p99) | per-round median ratios | batches |",
          "|---|---:|---:|---:|---:|---:|---|---:|"]
    for c in configs:
        p = per[c]
        rr = ", ".join(f(x) for x in round_ratios(c))
        md.append(f"| {NAMES[c]} | {f(p['medianUs'])} | {f(p['p99Us'])} | {f(p['minUs'])} | {f(ratio(c, 'medianUs'))} | {f(ratio(c, 'p99Us'))} | {rr} | {p['batches']} |")
    md += ["", "| target | limit | median | p99 | met |", "|---|---:|---:|---:|---|"]
    for t in target_rows:
        md.append(f"| {t['what']} (× the raw C loop) | ≤ {t['limit']:.2f} | {f(t['median'])} | {f(t['p99'])} | {'met' if t['met'] else '**not met**'} |")
    md += ["", "## Many targets", "",
           f"native/notify-rtt many: W workers each calling getppid for 500 ms, every call timed into one histogram (100 ns buckets); "
           f"{v['manyRounds']} rounds, supervisors in rotated order; medians over rounds (calls/s: min–max in brackets). With 8 killed, "
           "8 more worker processes were SIGKILLed halfway, mid-call, and only the 16 survivors' calls count. SYNC_WAKE_UP on. "
           "C: native/notify-rtt's raw loop with 1 or 2 threads in NOTIF_RECV; SeccompKit: NotificationSupervisor, MaxConcurrency 1 "
           "or 2 (a second thread receives only while a handler is slow, so with this instant handler it stays at one).", "",
           "| workers | killed | " + " | ".join(f"{'C raw' if s == 'c-raw' else 'SeccompKit'} ×{t} calls/s (p50 / p99 µs)" for s, t in sups)
           + " | SeccompKit ×1 / C ×1 (calls/s) |",
           "|---|---:|" + "---:|" * len(sups) + "---:|"]
    keyed = {(r["workers"], r["mode"], r["killed"], r["supervisor"], r["threads"]): r for r in many_rows}
    for (w, mode, kills) in sorted({(r["workers"], r["mode"], r["killed"]) for r in many_rows}, key=lambda k: (k[2], k[1], k[0])):
        cells = []
        for s, t in sups:
            r = keyed.get((w, mode, kills, s, t))
            cells.append("—" if r is None else
                         f"{r['callsPerSecond']:,.0f} [{r['callsPerSecondRange'][0]:,.0f}–{r['callsPerSecondRange'][1]:,.0f}] "
                         f"({r['p50Us']:.1f} / {r['p99Us']:.1f})" + (f", {r['failed']} failed" if r["failed"] else ""))
        a, b = keyed.get((w, mode, kills, "seccompkit", 1)), keyed.get((w, mode, kills, "c-raw", 1))
        rat = f(a["callsPerSecond"] / b["callsPerSecond"]) if a and b else "—"
        md.append(f"| {w} {mode} | {kills} | " + " | ".join(cells) + f" | {rat} |")
    md.append("")
    perf = {}
    for impl in ("c-raw", "seccompkit"):
        prof, stat = os.path.join(o.work, f"perf-{impl}.txt"), os.path.join(o.work, f"perfstat-{impl}.txt")
        if os.path.exists(prof) and os.path.exists(stat):
            with open(prof) as fh:
                lines = [line.rstrip() for line in fh if line.strip()]
            counters = {}
            with open(stat) as fh:
                for line in fh:
                    cells = line.strip().split(",")
                    if len(cells) > 2 and cells[0] and not line.startswith("#"):
                        counters[cells[2]] = float(cells[0])
            perf[impl] = {"profile": lines, "stat": counters}
    result["perf"] = perf
    results.write_json(o.out, "notify.json", result)
    def supervisor_user_us(impl):
        """Microseconds per notification the supervisor thread spent in user mode: its non-kernel share of the profile times task-clock."""
        rows = []
        for line in perf[impl]["profile"]:
            cells = line.split()
            if len(cells) >= 3 and cells[0].endswith("%"):
                rows.append((float(cells[0][:-1]), cells[1].split(":")[0], " ".join(cells[1:-1]), cells[-1]))
        if impl == "seccompkit":
            tids = {r[1] for r in rows if "seccomp supervi" in r[2]}
        else:  # the responder runs less of notify-rtt's own code than the target's loop
            own = {}
            for pct_, tid, _, dso in rows:
                if dso == "notify-rtt":
                    own[tid] = own.get(tid, 0) + pct_
            tids = {min(own, key=own.get)} if len(own) >= 2 else set()
        share = sum(r[0] for r in rows if r[1] in tids and r[3] != "[kernel.kallsyms]") / 100
        return share * perf[impl]["stat"].get("task-clock", 0) * 1000 / 200_000
    if perf:
        md += ["## Where the round trip goes (perf)", "",
               "One more run of each loop under `perf record -e cpu-clock` (by thread: `pid:comm`, and binary) and `perf stat` "
               "(200,000 notifications each; the supervisor thread is `seccomp supervi` for SeccompKit; for the C loop it is the "
               "thread with the smaller share of `notify-rtt`'s own code, the other one being the target).", ""]
        for impl, p in perf.items():
            st = p["stat"]
            md += [f"{'C raw loop' if impl == 'c-raw' else 'SeccompKit NotificationSupervisor'}: task-clock {st.get('task-clock', 0):.0f} ms, "
                   f"{st.get('context-switches', 0):,.0f} context switches.", "", "```"] + p["profile"] + ["```", ""]
        if len(perf) == 2:
            c_us, sk_us = supervisor_user_us("c-raw"), supervisor_user_us("seccompkit")
            result["supervisorUserUsPerNotification"] = {"c-raw": c_us, "seccompkit": sk_us}
            results.write_json(o.out, "notify.json", result)
            md += [f"Both loops make the same two system calls and two context switches per notification (NOTIF_RECV asleep, NOTIF_SEND); "
                   f"what differs is the supervisor thread's time in user mode, which with SYNC_WAKE_UP lies on the target's path (the target "
                   f"waits on the supervisor's CPU): {sk_us:.2f} µs per notification for SeccompKit (NativeAOT code: two P/Invoke transitions "
                   f"(one reference on the listener per loop, errno read only on failure since issue 16's second part), the zeroing of the "
                   f"receive buffer, the stop protocol's fenced state change, the handler call) against {c_us:.2f} µs for the C loop, {sk_us - c_us:.2f} µs more, i.e. about "
                   f"{(sk_us - c_us) / anchor['medianUs'] * 100:.0f}% of the anchor's median round trip: the part of SeccompKit's round trip "
                   f"that the kernel does not account for, and what stands between it and 1.05x. The round-to-round spread (per-round ratios "
                   f"in the table) shows how stable the ratios are from round to round.", ""]
    results.write(o.out, "notify.md", "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
