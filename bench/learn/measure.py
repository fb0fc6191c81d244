#!/usr/bin/env python3
"""Times commands interleaved: round after round, every command once per round, in an order rotated by one each round
(so that no command always follows the same one). Each run is posix_spawn'd (no shell) with standard output to
/dev/null and standard error to a file, and reaped with wait4, which gives the wall time (perf_counter_ns around spawn
and reap) and the CPU time and context switches of the command and all the descendants it reaped.

    measure.py --rounds R --warmup W --out RUNS.jsonl --stderr-dir DIR SPEC.json

SPEC.json: [{"workload": "find", "variant": "bare", "argv": ["/usr/bin/find", ...]}, ...]. The first W rounds are
warm-ups (page cache, .pyc files) and are not written. Writes one JSON object per timed run to RUNS.jsonl:
{"workload", "variant", "round", "wallMs", "userS", "sysS", "voluntarySwitches", "involuntarySwitches"}. Stops with an
error if any run exits non-zero (its standard error is in DIR)."""
import argparse
import json
import os
import sys
import time


def run_once(argv, stderr_path):
    err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_DUP2, err, 2)]
        start = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        end = time.perf_counter_ns()
    finally:
        os.close(err)
    return os.waitstatus_to_exitcode(status), {
        "wallMs": round((end - start) / 1e6, 4),
        "userS": round(ru.ru_utime, 6),
        "sysS": round(ru.ru_stime, 6),
        "voluntarySwitches": ru.ru_nvcsw,
        "involuntarySwitches": ru.ru_nivcsw,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--stderr-dir", required=True)
    ap.add_argument("spec")
    o = ap.parse_args()
    spec = json.load(open(o.spec))
    with open(o.out, "a") as out:
        for r in range(-o.warmup, o.rounds):
            k = r % len(spec)
            for s in spec[k:] + spec[:k]:
                name = f"{s['workload']}-{s['variant']}"
                code, m = run_once(s["argv"], os.path.join(o.stderr_dir, name + ".stderr"))
                if code != 0:
                    sys.exit(f"measure.py: {name} exited with {code}: {' '.join(s['argv'])} (see {o.stderr_dir}/{name}.stderr)")
                if r >= 0:
                    out.write(json.dumps({"workload": s["workload"], "variant": s["variant"], "round": r, **m}) + "\n")
            print(f"   round {r + 1 if r >= 0 else 'warm-up'} of {o.rounds} done (load {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
