"""What the benchmarks' report.py share besides machine.py: their command line and how they write bench/results."""
import argparse
import json
import os


def arguments():
    """--work DIR (the run's measurements), --versions FILE (KEY=VALUE lines, read into a dict), --out DIR (bench/results)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--out", required=True)
    o = ap.parse_args()
    with open(o.versions) as fh:
        o.versions = dict(line.strip().split("=", 1) for line in fh if "=" in line)
    return o


def write(out, name, text):
    """Writes OUT/NAME atomically (a temporary file renamed over it): an interrupted report leaves the old result whole."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    with open(path + ".tmp", "w") as fh:
        fh.write(text)
    os.replace(path + ".tmp", path)


def write_json(out, name, result):
    """OUT/NAME as indented JSON with a final newline, atomically."""
    write(out, name, json.dumps(result, indent=2) + "\n")
