#!/usr/bin/env python3
"""Turns bench/learn/run.sh's measurements into bench/results/learn.{md,json}."""
import collections
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from machine import describe as describe_machine  # noqa: E402
import results  # noqa: E402

ADDED_TARGET = 0.2   # learn - bare <= 0.2 x (strace - bare): issue 16 (an earlier issue asked 0.1; at the C loop's round trip the limit on find is about 0.17)
FROM_TARGET = 1.05   # learn --from P <= 1.05 x bare
RTT_TARGET = 1.1     # SeccompKit's round trip <= 1.1 x the C loop's (median)
WORKLOADS = [("find", "`find /usr/share -xdev` (output to /dev/null)"),
             ("python", "`/usr/bin/python3 -c 'import json, sqlite3, email, http.client, xml.etree.ElementTree, asyncio, decimal'`"),
             ("true", "`/bin/true` (learn's fixed cost)")]
VARIANTS = ["bare", "strace", "learn", "learn-from"]
IMPLS = [("c", "C, libseccomp"), ("c+poll", "C, libseccomp, poll(2) before each receive"), ("seccompkit", "SeccompKit (NotificationSupervisor)")]


def percentile(values, p):
    """Nearest-rank percentile of a list (p in 0..100)."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def strace_calls(path):
    """The total of `strace -c`'s table."""
    for line in open(path):
        f = line.split()
        if f and f[-1] == "total":
            return int(f[3])
    raise SystemExit(f"{path}: no total line")


def overhead(runs, work):
    by = collections.defaultdict(list)
    for r in runs:
        by[(r["workload"], r["variant"])].append(r)
    out = {}
    for w, _ in WORKLOADS:
        s = {}
        for v in VARIANTS:
            rs = by[(w, v)]
            wall = [r["wallMs"] for r in rs]
            s[v] = {
                "medianMs": round(statistics.median(wall), 3), "meanMs": round(statistics.fmean(wall), 3),
                "minMs": round(min(wall), 3), "maxMs": round(max(wall), 3), "runs": len(rs),
                "cpuMs": round(statistics.median((r["userS"] + r["sysS"]) * 1e3 for r in rs), 2),
                "sysMs": round(statistics.median(r["sysS"] * 1e3 for r in rs), 2),
                "voluntarySwitches": statistics.median(r["voluntarySwitches"] for r in rs),
                "involuntarySwitches": statistics.median(r["involuntarySwitches"] for r in rs),
            }
        bare = s["bare"]["medianMs"]
        added = {v: round(s[v]["medianMs"] - bare, 3) for v in ("strace", "learn", "learn-from")}
        # Per round (every command ran once per round, interleaved): the same ratios, for their spread.
        per_round = collections.defaultdict(dict)
        for v in VARIANTS:
            for r in by[(w, v)]:
                per_round[r["round"]][v] = r["wallMs"]
        added_ratio_rounds = [(p["learn"] - p["bare"]) / (p["strace"] - p["bare"]) for p in per_round.values() if p["strace"] > p["bare"]]
        from_rounds = [p["learn-from"] / p["bare"] for p in per_round.values()]
        learn_report = json.load(open(os.path.join(work, f"{w}-learn-report.json")))
        from_report = json.load(open(os.path.join(work, f"{w}-from-report.json")))
        ratio_added = added["learn"] / added["strace"] if added["strace"] > 0 else None
        cpu_added = {k: s[k]["cpuMs"] - s["bare"]["cpuMs"] for k in ("strace", "learn")}
        # strace's time can jump several-fold for a stretch of rounds on this shared VM, its CPU time with it (strace itself
        # works more, it does not just wait), while bare and learn in the same rounds do not change. The rounds where strace
        # ran within 1.5x of its fastest run give the comparison without those stretches.
        fastest = min(r["wallMs"] for r in by[(w, "strace")])
        normal = [p for p in per_round.values() if p["strace"] <= 1.5 * fastest]
        normal_ratio = None
        if len(normal) < len(per_round) and normal:
            nb = statistics.median(p["bare"] for p in normal)
            normal_ratio = (statistics.median(p["learn"] for p in normal) - nb) / (statistics.median(p["strace"] for p in normal) - nb)
        ratio_from = s["learn-from"]["medianMs"] / bare
        out[w] = {
            "commands": s,
            "addedMs": added,
            "learnAddedOverStraceAdded": None if ratio_added is None else round(ratio_added, 3),
            "learnAddedOverStraceAddedPerRound": {"min": round(min(added_ratio_rounds), 3), "max": round(max(added_ratio_rounds), 3)} if added_ratio_rounds else None,
            "learnAddedOverStraceAddedCpu": round(cpu_added["learn"] / cpu_added["strace"], 3) if cpu_added["strace"] > 0 else None,
            "learnFromOverBare": round(ratio_from, 3),
            "learnFromOverBarePerRound": {"min": round(min(from_rounds), 3), "max": round(max(from_rounds), 3)},
            "addedTargetMet": None if ratio_added is None else ratio_added <= ADDED_TARGET,
            "straceNormalSpeedRounds": len(normal),
            "straceSlowestOverFastest": round(max(r["wallMs"] for r in by[(w, "strace")]) / fastest, 2),
            "straceCpuSlowestOverFastest": round(max(r["userS"] + r["sysS"] for r in by[(w, "strace")]) / min(r["userS"] + r["sysS"] for r in by[(w, "strace")]), 2),
            "learnSlowestOverFastest": round(max(r["wallMs"] for r in by[(w, "learn")]) / min(r["wallMs"] for r in by[(w, "learn")]), 2),
            "learnAddedOverStraceAddedNormalSpeedRounds": None if normal_ratio is None else round(normal_ratio, 3),
            "addedTargetMetNormalSpeedRounds": None if normal_ratio is None else normal_ratio <= ADDED_TARGET,
            "fromTargetMet": ratio_from <= FROM_TARGET,
            "syscallsStraceCounted": strace_calls(os.path.join(work, f"{w}-strace-count.txt")),
            "notificationsLearn": learn_report["notifications"],
            "notificationsLearnFrom": from_report["notifications"],
            "syncWakeUp": learn_report["syncWakeUp"],
            "profileSyscalls": len(json.load(open(os.path.join(work, f"{w}-profile.json"))).get("syscalls", [])),
        }
    return out


FIXED_STEPS = [("bare", "/bin/true"), ("start", "seccompkit --version"), ("compile", "seccompkit compile P -o FILE"),
               ("run", "seccompkit run --profile P -- /bin/true"), ("learn-from", "seccompkit learn --from P -o FILE -- /bin/true")]


def fixed_cost(runs):
    """learn --from's fixed cost on /bin/true taken apart: medians of the commands that each add one step, same rounds."""
    by = collections.defaultdict(list)
    for r in runs:
        if r["workload"] == "true":
            by[r["variant"]].append(r)
    if any(not by[v] for v, _ in FIXED_STEPS):
        return None
    out = {}
    for v, _ in FIXED_STEPS:
        rs = by[v]
        if any(r.get("exit", 0) != 0 for r in rs):
            raise SystemExit(f"learn bench: the fixed-cost step '{v}' failed")
        out[v] = {"medianMs": round(statistics.median(r["wallMs"] for r in rs), 2),
                  "p10Ms": round(percentile([r["wallMs"] for r in rs], 10), 2), "p90Ms": round(percentile([r["wallMs"] for r in rs], 90), 2),
                  "cpuMs": round(statistics.median((r["userS"] + r["sysS"]) * 1e3 for r in rs), 2)}
    return out


def sessions(path, ov):
    """LearningSession runs, SYNC_WAKE_UP on/off: medians per workload and setting, per-notification breakdown."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    out = {}
    for w in sorted({r["label"] for r in rows}):
        out[w] = {}
        bare_sys_ms = ov[w]["commands"]["bare"]["sysMs"]
        bare_ms = ov[w]["commands"]["bare"]["medianMs"]
        for sync in (True, False):
            rs = [r for r in rows if r["label"] == w and r["sync"] == sync]
            if not rs:
                continue
            if any(r["exit"] != 0 for r in rs):
                raise SystemExit(f"LearnBench learn {w}: the program failed")
            n = statistics.median(r["notifications"] for r in rs)
            med = lambda f: statistics.median(f(r) for r in rs)  # noqa: E731
            secs = med(lambda r: r["seconds"])
            out[w]["on" if sync else "off"] = {
                "runs": len(rs),
                "medianMs": round(secs * 1e3, 2),
                "notifications": n,
                "notificationsPerSecond": round(n / secs),
                "addedUsPerNotification": round((secs * 1e3 - bare_ms) * 1e3 / n, 2),
                "supervisorUserUsPerNotification": round(med(lambda r: r["supervisor"]["userS"]) * 1e6 / n, 2),
                "supervisorSysUsPerNotification": round(med(lambda r: r["supervisor"]["sysS"]) * 1e6 / n, 2),
                "programSysUsPerNotificationOverBare": round((med(lambda r: r["program"]["sysS"]) * 1e3 - bare_sys_ms) * 1e3 / n, 2),
                "supervisorSwitchesPerNotification": round(med(lambda r: r["supervisor"]["voluntarySwitches"] + r["supervisor"]["involuntarySwitches"]) / n, 2),
                "supervisorInvoluntarySwitchesPerNotification": round(med(lambda r: r["supervisor"]["involuntarySwitches"]) / n, 2),
                "programSwitchesPerNotification": round(med(lambda r: r["program"]["voluntarySwitches"] + r["program"]["involuntarySwitches"]) / n, 2),
            }
    return out


def perf_profile(work):
    path = os.path.join(work, "perf-dso.txt")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None

    def rows(p):
        for line in open(p):
            f = [x.strip() for x in line.split("|")]
            if len(f) >= 3 and f[0].endswith("%"):
                yield float(f[0].rstrip("%")), f[1], f[2]

    groups = collections.Counter()
    for pct, comm, dso in rows(path):
        thread = "supervisor" if comm.startswith("seccomp supervi") else "program" if comm == "find" else "other"
        where = "kernel" if dso == "[kernel.kallsyms]" else "SeccompKit (managed, NativeAOT)" if dso.startswith("SeccompKit") else "libc" if dso.startswith("libc") else "program" if dso == "find" else "other"
        groups[f"{thread}: {where}"] += pct
    top = [{"percent": pct, "thread": comm, "symbol": sym} for pct, comm, sym in rows(os.path.join(work, "perf-sym.txt"))][:12]
    switch = sum(pct for pct, _, sym in rows(os.path.join(work, "perf-sym.txt")) if "finish_task_switch" in sym)
    return {"groups": {k: round(v, 2) for k, v in groups.most_common()}, "topSymbols": top, "finishTaskSwitchPercent": round(switch, 2)}


def rtt(path):
    lines = [json.loads(line) for line in open(path) if line.strip()]
    bare = [x for r in lines if r["role"] == "target" and r["label"] == "bare" for x in r["nsPerCall"]]
    bare_median = statistics.median(bare)
    batches = collections.defaultdict(list)
    processes = collections.Counter()
    pending = {}
    for r in lines:
        if r["label"] == "bare":
            continue
        if r["role"] == "target":
            pending[r["label"]] = r
            continue
        t = pending.pop(r["label"], None)
        if t is None:
            raise SystemExit(f"rtt: supervisor line without its target's: {r}")
        expected = (t["batches"] + 1) * t["calls"] + 1  # warm-up batch, timed batches, the first call
        if r["exit"] != 0 or r["notifications"] != expected:
            raise SystemExit(f"rtt {r['label']}: exit {r['exit']}, {r['notifications']} notifications answered, {expected} expected")
        want = 4242 if r["respond"] == "return" else r["pid"]  # the value, or after CONTINUE the real parent: the supervisor
        if t["result"] != want:
            raise SystemExit(f"rtt {r['label']}: getppid returned {t['result']}, expected {want}")
        batches[r["label"]] += t["nsPerCall"]
        processes[r["label"]] += 1
    configs = {}
    for label, v in batches.items():
        configs[label] = {
            "medianUs": round((statistics.median(v) - bare_median) / 1e3, 3),
            "p99Us": round((percentile(v, 99) - bare_median) / 1e3, 3),
            "minUs": round((min(v) - bare_median) / 1e3, 3),
            "batches": len(v), "processes": processes[label], "callsPerBatch": lines[0]["calls"],
        }
    ratios = {}
    for sync in ("off", "on"):
        for respond in ("continue", "return"):
            c = configs[f"c/{sync}/{respond}"]
            for impl in ("c+poll", "seccompkit"):
                o = configs[f"{impl}/{sync}/{respond}"]
                ratios[f"{impl}/{sync}/{respond}"] = {"median": round(o["medianUs"] / c["medianUs"], 3), "p99": round(o["p99Us"] / c["p99Us"], 3)}
    met = {k: v["median"] <= RTT_TARGET for k, v in ratios.items() if k.startswith("seccompkit/")}
    return {"bareNsPerCall": round(bare_median, 2), "configs": configs, "ratioToC": ratios, "targetMet": met}


def main():
    o = results.arguments()
    w = o.work
    v = o.versions
    runs = [json.loads(line) for line in open(os.path.join(w, "runs.jsonl")) if line.strip()]
    ov = overhead(runs, w)
    ses = sessions(os.path.join(w, "sessions.jsonl"), ov)
    prof = perf_profile(w)
    rt = rtt(os.path.join(w, "rtt.jsonl"))
    fc = fixed_cost(runs)

    f = ov["find"]
    c_floor = rt["configs"]["c/on/continue"]["medianUs"]
    floor_ratio = {k: round(ov[k]["notificationsLearn"] * c_floor / 1e3 / ov[k]["addedMs"]["strace"], 3) for k in ("find", "python") if ov[k]["addedMs"]["strace"] > 0}
    fixed = ov["true"]["addedMs"]["learn-from"]
    analysis = {
        "straceAddedUsPerSyscall": {k: round(ov[k]["addedMs"]["strace"] * 1e3 / ov[k]["syscallsStraceCounted"], 2) for k in ("find", "python")},
        "learnAddedUsPerNotification": {k: round(ov[k]["addedMs"]["learn"] * 1e3 / ov[k]["notificationsLearn"], 2) for k in ("find", "python")},
        "cLoopRoundTripUs": c_floor,
        "lowerBoundRatioWithCLoop": floor_ratio,
        "learnFixedCostMs": fixed,
        "learnFromAddedBeyondFixedMs": {k: round(ov[k]["addedMs"]["learn-from"] - fixed, 2) for k in ("find", "python")},
        "learnFixedCpuMs": round(ov["true"]["commands"]["learn-from"]["cpuMs"] - ov["true"]["commands"]["bare"]["cpuMs"], 2),
        # CPU time is less disturbed by other load than wall time: what learn --from costs per syscall beyond its fixed cost.
        "learnFromCpuNsPerSyscallBeyondFixed": {k: round(((ov[k]["commands"]["learn-from"]["cpuMs"] - ov[k]["commands"]["bare"]["cpuMs"])
                                                          - (ov["true"]["commands"]["learn-from"]["cpuMs"] - ov["true"]["commands"]["bare"]["cpuMs"]))
                                                         * 1e6 / ov[k]["syscallsStraceCounted"], 1) for k in ("find", "python")},
        "learnFromAllowedMs": {k: round((FROM_TARGET - 1) * ov[k]["commands"]["bare"]["medianMs"], 2) for k in ("find", "python")},
    }

    result = {
        "benchmark": "learn",
        "workload": {
            "overhead": "Every command once per round, in an order rotated each round (bench/learn/measure.py: posix_spawn, no shell, standard "
                        f"output to /dev/null, wait4), {v['rounds']} timed rounds after one warm-up round; medians of the wall time. bare: the program; "
                        "strace: `strace -f -qq -c -o /dev/null -- PROGRAM`; learn: `seccompkit learn -q -o FILE -- PROGRAM` (NativeAOT, notifies "
                        "every syscall, SYNC_WAKE_UP on); learn --from: `seccompkit learn -q --from P -o FILE -- PROGRAM` with P the profile `learn` "
                        "wrote for that workload before the timed rounds. CPU = user + system time of the command and everything it reaped (wait4).",
            "sessions": "bench/learn/SeccompKit.LearnBench `learn` (NativeAOT): LearningSession, as `seccompkit learn` uses it, with SYNC_WAKE_UP on "
                        "and off, 5 interleaved runs each; timed from the filter's installation to the end of supervision (no CLI start, no "
                        "profile synthesis), CPU time and context switches from getrusage: supervisor = the bench process (the supervisor thread "
                        "does all the work), program = its reaped child.",
            "rtt": "native/build/notify-rtt target: one warm-up batch, then 30 batches of 1000 raw getppid() calls in a tight loop, each batch timed "
                   "(CLOCK_MONOTONIC); getppid is the one notified syscall. Supervisors: notify-rtt supervise (C, libseccomp 2.5.4 "
                   "seccomp_notify_receive/respond on one thread; with --poll a poll(2) on the listener and an eventfd before each receive) and "
                   "SeccompKit.LearnBench rtt (NotificationSupervisor on a NotificationListener from SandboxLauncher.StartSupervised, NativeAOT). "
                   "10 rounds; each round runs the unfiltered target once and every configuration once (a process each), in an order rotated "
                   "each round. Round trip = time per call minus the unfiltered call's median; median and p99 over all batches of a configuration.",
        },
        "targets": {
            "learnAdded": f"learn - bare <= {ADDED_TARGET} x (strace - bare), median wall time",
            "learnFrom": f"learn --from P <= {FROM_TARGET} x bare, median wall time",
            "rtt": f"SeccompKit's round trip <= {RTT_TARGET} x the C loop's, median, per SYNC_WAKE_UP setting and answer",
        },
        "overhead": ov,
        "analysis": analysis,
        "fixedCostSteps": fc,
        "sessions": ses,
        "perf": prof,
        "rtt": rt,
        "load": {"before": float(v["loadBefore"]), "after": float(v["loadAfter"])},
        "machine": describe_machine(),
        "versions": {k: v[k] for k in ("dotnet", "gcc", "libseccomp", "strace", "python", "findutils", "perf", "seccompkit", "commit")},
        "nice": int(v.get("nice", "0")),
    }
    results.write_json(o.out, "learn.json", result)

    m = result["machine"]
    yes = lambda b: "met" if b else "**not met**"  # noqa: E731
    md = ["# Learn benchmark", "",
          f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['os']}. "
          f"Load average (1 min) {result['load']['before']} at the start, {result['load']['after']} at the end (this benchmark's own load included). "
          f"dotnet {v['dotnet']}, libseccomp {v['libseccomp']}, gcc {v['gcc']}, strace {v['strace']}, Python {v['python']}, findutils {v['findutils']}, "
          f"perf {v['perf']}, seccompkit {v['seccompkit']} (commit {v['commit']}). "
          + (f"Every timed command ran at nice {v['nice']} (the machine is shared; other load at nice 0 disturbs it less)." if v.get("nice", "0") != "0" else "Timed commands ran at nice 0."), "",
          "## learn against the bare run and strace", "", result["workload"]["overhead"], "",
          "| workload | command | median ms | min ms | max ms | CPU ms | context switches (vol/invol) | runs |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    names = {"bare": "bare", "strace": "strace -f -c", "learn": "seccompkit learn", "learn-from": "seccompkit learn --from P"}
    for wl, _ in WORKLOADS:
        for var in VARIANTS:
            c = ov[wl]["commands"][var]
            md.append(f"| {wl} | {names[var]} | {c['medianMs']:.1f} | {c['minMs']:.1f} | {c['maxMs']:.1f} | {c['cpuMs']:.1f} | "
                      f"{c['voluntarySwitches']:.0f} / {c['involuntarySwitches']:.0f} | {c['runs']} |")
    md += ["", "Workloads: " + "; ".join(f"{k}: {d}" for k, d in WORKLOADS) + ".", "",
           "| workload | syscalls (strace -c) | learn: notified | learn --from P: notified | strace added ms | learn added ms | learn / strace added (per round) | "
           f"target ≤ {ADDED_TARGET} | same in CPU time | learn --from P / bare (per round) | target ≤ {FROM_TARGET} |", "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"]
    for wl in ("find", "python"):
        x = ov[wl]
        pr, fr = x["learnAddedOverStraceAddedPerRound"], x["learnFromOverBarePerRound"]
        md.append(f"| {wl} | {x['syscallsStraceCounted']:,} | {x['notificationsLearn']:,} | {x['notificationsLearnFrom']:,} | {x['addedMs']['strace']:.1f} | "
                  f"{x['addedMs']['learn']:.1f} | {x['learnAddedOverStraceAdded']:.2f} ({pr['min']:.2f} – {pr['max']:.2f}) | "
                  f"{'met on wall time only: noise, see below' if x['addedTargetMet'] and (x['learnAddedOverStraceAddedCpu'] or 0) > ADDED_TARGET else yes(x['addedTargetMet'])} | "
                  f"{x['learnAddedOverStraceAddedCpu']:.2f} | "
                  f"{x['learnFromOverBare']:.2f} ({fr['min']:.2f} – {fr['max']:.2f}) | {yes(x['fromTargetMet'])} |")
    for wl in ("find", "python"):
        x = ov[wl]
        if x["addedMs"]["learn"] <= 0 or x["addedMs"]["learn-from"] <= 0:
            b = x["commands"]["bare"]
            md += ["", f"**{wl}: the wall-time differences are within this run's noise**: the bare run alone took {b['minMs']:.0f} – {b['maxMs']:.0f} ms, "
                       f"and learn's median came out {'below' if x['addedMs']['learn'] <= 0 else 'above'} it. "
                       f"CPU time (user + system of everything run) is steadier here: learn adds {x['commands']['learn']['cpuMs'] - b['cpuMs']:.1f} ms, strace "
                       f"{x['commands']['strace']['cpuMs'] - b['cpuMs']:.1f} ms, a ratio of {x['learnAddedOverStraceAddedCpu']:.2f}, which misses the target; "
                       "a verdict of \"met\" on wall time here is an artefact of the noise."
                       if x["learnAddedOverStraceAddedCpu"] is not None and x["learnAddedOverStraceAddedCpu"] > ADDED_TARGET and x["addedTargetMet"] else
                       f"**{wl}: the wall-time differences are within this run's noise** (bare {b['minMs']:.0f} – {b['maxMs']:.0f} ms); see the CPU column."]
        if x["learnAddedOverStraceAddedNormalSpeedRounds"] is not None:
            md += ["", f"**strace's time was not steady on {wl}**: its slowest run took {x['straceSlowestOverFastest']:.1f}× its fastest, and it ran "
                       f"within 1.5× of its fastest in only {x['straceNormalSpeedRounds']} of {v['rounds']} rounds; its CPU time varied "
                       f"{x['straceCpuSlowestOverFastest']:.1f}× as well (strace itself worked longer, it did not just wait), learn's wall time "
                       f"{x['learnSlowestOverFastest']:.1f}×. On those rounds alone, learn / strace added = "
                       f"{x['learnAddedOverStraceAddedNormalSpeedRounds']:.3f} — target {yes(x['addedTargetMetNormalSpeedRounds'])}; "
                       "the verdict above uses every round, as specified."]
    a = analysis
    md += ["", "## Why", "",
           f"- **learn vs strace.** strace adds {a['straceAddedUsPerSyscall']['find']:.1f} µs per syscall on find (two ptrace stops per call); learn adds "
           f"{a['learnAddedUsPerNotification']['find']:.1f} µs per notification. A notification round trip costs {c_floor:.1f} µs with the C libseccomp "
           f"loop on this machine (below), so even a supervisor that cost nothing beyond libseccomp's would add {floor_ratio['find']:.2f}× strace's time on "
           f"find and {floor_ratio['python']:.2f}× on python: the {ADDED_TARGET}× target needs a round trip of at most "
           f"{ADDED_TARGET * a['straceAddedUsPerSyscall']['find']:.1f} µs here. On python, learn's fixed cost (next point) is most of its added time "
           f"({ov['python']['notificationsLearn']:,} notifications).",
           f"- **learn --from P.** Nothing is notified, but every run pays learn's fixed cost: /bin/true takes {ov['true']['commands']['learn-from']['medianMs']:.1f} ms "
           f"under `learn --from` against {ov['true']['commands']['bare']['medianMs']:.1f} ms bare (+{fixed:.1f} ms: two NativeAOT process starts — seccompkit "
           f"and its stage two, which installs the filter and execs — reading P, compiling, replaying and writing the profile). 5% of the bare run allows "
           f"{a['learnFromAllowedMs']['find']:.1f} ms on find and {a['learnFromAllowedMs']['python']:.1f} ms on python. Beyond the fixed cost, learn --from adds "
           f"{a['learnFromAddedBeyondFixedMs']['find']:.1f} ms of wall time on find and {a['learnFromAddedBeyondFixedMs']['python']:.1f} ms on python. In CPU time, "
           f"which other load disturbs less (fixed cost {a['learnFixedCpuMs']:.1f} ms), "
           + (f"find's {ov['find']['syscallsStraceCounted']:,} syscalls cost {a['learnFromCpuNsPerSyscallBeyondFixed']['find']:.0f} ns each beyond it: the "
              "learning filter runs P's argument checks on every call the kernel cannot answer from its action cache"
              if a['learnFromCpuNsPerSyscallBeyondFixed']['find'] > 20 else
              f"nothing measurable is left beyond it on find ({a['learnFromCpuNsPerSyscallBeyondFixed']['find']:.0f} ns per syscall): the filter's own cost "
              f"(P's argument checks on the calls the kernel cannot answer from its action cache) is below this run's noise")
           + " (python's 2 thousand calls are within the noise). So the fixed cost decides this target."]
    if fc:
        step = lambda a_, b_: fc[b_]["medianMs"] - fc[a_]["medianMs"]
        md += ["", "  The fixed cost taken apart (/bin/true; each command does more than the one above it, `run` writes no file; the same rounds, median wall "
               "time, 10th–90th percentile, median CPU of the command and what it reaped):", "",
               "  | command | wall ms | p10–p90 | CPU ms | step added | step ms |", "  |---|---|---|---|---|---|"]
        what = {"bare": "—", "start": "seccompkit's NativeAOT start and exit", "compile": "reading P, compiling it, writing the filter atomically (fsync of the file and the directory)",
                "run": "instead of the write: the stage two's start, its filter, exec of /bin/true (overlapping the parent's compile)",
                "learn-from": "the listener, the supervisor thread, building the profile, the replay of P's records, writing it atomically"}
        prev = None
        for v, cmd in FIXED_STEPS:
            c = fc[v]
            md.append(f"  | `{cmd}` | {c['medianMs']:.1f} | {c['p10Ms']:.1f}–{c['p90Ms']:.1f} | {c['cpuMs']:.1f} | {what[v]} | "
                      f"{'—' if prev is None else f'{step(prev, v):+.1f}'} |")
            prev = v
        md += ["", f"  A process start alone costs {step('bare', 'start'):.1f} ms over the bare /bin/true, so `learn --from`, which starts seccompkit "
               f"and its stage two, cannot come within the {a['learnFromAllowedMs']['python']:.1f} ms that 5% of python's bare run allows unless both "
               "starts and the compile fit in it."]
    if "find" in ses and "on" in ses["find"]:
        s_on, s_off = ses["find"]["on"], ses["find"].get("off")
        md.append(f"- **Where a notification's time goes** (find, LearningSession, SYNC_WAKE_UP on): {s_on['notificationsPerSecond']:,} notifications/s; per "
                  f"notification the supervisor spends {s_on['supervisorUserUsPerNotification']:.2f} µs in user mode (SeccompKit's managed code, recording "
                  f"included) and {s_on['supervisorSysUsPerNotification']:.2f} µs in the kernel (poll + NOTIF_RECV + NOTIF_SEND and the switches), the program "
                  f"{s_on['programSysUsPerNotificationOverBare']:.2f} µs more kernel time than bare; {s_on['supervisorSwitchesPerNotification']:.2f} supervisor and "
                  f"{s_on['programSwitchesPerNotification']:.2f} program context switches per notification."
                  + (f" SYNC_WAKE_UP off: {s_off['notificationsPerSecond']:,}/s ({s_off['medianMs']:.0f} ms against {s_on['medianMs']:.0f} ms on)." if s_off else ""))
    if prof:
        g = prof["groups"]
        kernel = sum(val for k, val in g.items() if k.endswith(": kernel"))
        managed = sum(val for k, val in g.items() if "SeccompKit" in k)
        md.append(f"- **perf** (cpu-clock, the same session on find): {kernel:.0f}% of the samples are in the kernel ({prof['finishTaskSwitchPercent']:.0f}% in "
                  f"finish_task_switch alone: the context switch between program and supervisor), {managed:.1f}% in SeccompKit's managed code. "
                  "By thread and binary: " + ", ".join(f"{k} {val:.1f}%" for k, val in list(g.items())[:6]) + ".")
    md += ["", "### LearningSession, SYNC_WAKE_UP on and off", "", result["workload"]["sessions"], "",
           "| workload | SYNC_WAKE_UP | median ms | notifications | per s | added µs/notif. | supervisor user µs | supervisor sys µs | program sys µs over bare | "
           "switches/notif. supervisor (invol.) / program |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for wl, d in ses.items():
        for k, s in d.items():
            if wl != "find":  # a few thousand notifications: start-up dominates, the per-notification columns mean nothing
                md.append(f"| {wl} | {k} | {s['medianMs']:.1f} | {s['notifications']:,.0f} | — | — | — | — | — | — |")
                continue
            md.append(f"| {wl} | {k} | {s['medianMs']:.1f} | {s['notifications']:,.0f} | {s['notificationsPerSecond']:,} | {s['addedUsPerNotification']:.2f} | "
                      f"{s['supervisorUserUsPerNotification']:.2f} | {s['supervisorSysUsPerNotification']:.2f} | {s['programSysUsPerNotificationOverBare']:.2f} | "
                      f"{s['supervisorSwitchesPerNotification']:.2f} ({s['supervisorInvoluntarySwitchesPerNotification']:.2f}) / {s['programSwitchesPerNotification']:.2f} |")
    md += ["", "Per-notification columns only for find: python makes a few thousand notified calls, and its times are mostly start-up."]
    if prof:
        md += ["", "Top symbols of the perf profile (cpu-clock; in a VM, time with interrupts off lands on the symbol that turns them back on):", "",
               "| % | thread | symbol |", "|---:|---|---|"]
        md += [f"| {t['percent']:.2f} | {t['thread']} | `{t['symbol']}` |" for t in prof["topSymbols"]]
    md += ["", "## Notification round trip", "", result["workload"]["rtt"], "",
           f"Unfiltered getppid: {rt['bareNsPerCall']:.0f} ns.", "",
           "| supervisor | SYNC_WAKE_UP | answer | median µs | p99 µs | fastest batch µs | × C (median) | × C (p99) | batches |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for sync in ("off", "on"):
        for respond in ("continue", "return"):
            for impl, desc in IMPLS:
                key = f"{impl}/{sync}/{respond}"
                c = rt["configs"][key]
                r = rt["ratioToC"].get(key, {"median": 1.0, "p99": 1.0})
                md.append(f"| {desc} | {sync} | {respond.upper() if respond == 'continue' else 'value'} | {c['medianUs']:.2f} | {c['p99Us']:.2f} | {c['minUs']:.2f} | "
                          f"{r['median']:.2f} | {r['p99']:.2f} | {c['batches']} |")
    md.append("")
    for key, ok in rt["targetMet"].items():
        _, sync, respond = key.split("/")
        md.append(f"- Target (SeccompKit ≤ {RTT_TARGET}× the C loop, median), SYNC_WAKE_UP {sync}, {respond}: {rt['ratioToC'][key]['median']:.2f}× — {yes(ok)}.")
    poll_us = {k: round(rt["configs"][f"c+poll/{k}"]["medianUs"] - rt["configs"][f"c/{k}"]["medianUs"], 2) for k in ("off/continue", "on/continue")}
    rest_us = {k: round(rt["configs"][f"seccompkit/{k}"]["medianUs"] - rt["configs"][f"c+poll/{k}"]["medianUs"], 2) for k in ("off/continue", "on/continue")}
    fmt = lambda x: f"{x:.2f} µs" if x > 0 else "nothing measurable"  # noqa: E731
    md += ["", "Both loops make the same two ioctls per notification (NOTIF_RECV, NOTIF_SEND); SeccompKit's adds a poll(2) on the listener and its "
               "stop eventfd before each receive, which is what lets NotificationSupervisor.Stop wake a waiting loop. The same poll in the C loop adds "
               f"{fmt(poll_us['off/continue'])} (CONTINUE, SYNC_WAKE_UP off) and {fmt(poll_us['on/continue'])} (on); what SeccompKit adds beyond the C loop "
               f"with the poll — the managed side: P/Invoke transitions, SafeHandle reference counts, counters, the handler call — is "
               f"{fmt(rest_us['off/continue'])} and {fmt(rest_us['on/continue'])} (medians of a loaded machine: differences below about 0.5 µs are noise).", ""]
    result["rtt"]["pollUs"] = poll_us
    result["rtt"]["managedUs"] = rest_us
    results.write_json(o.out, "learn.json", result)
    results.write(o.out, "learn.md", "\n".join(md))


if __name__ == "__main__":
    main()
