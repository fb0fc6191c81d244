#!/usr/bin/env bash
# Runs the benchmarks, each in its own folder bench/<name>/ (run.sh, report.py, its project or C anchor), sharing
# bench/common/ (machine.py: the machine description in every result; lib.sh: the load-average check) and bench/data/;
# each writes bench/results/<name>.{md,json}:
#   interpreter  Interpreter.Evaluate vs libpcap's bpf_filter()        -> interpreter-throughput.{md,json}  (~2 min)
#   compiler     PolicyCompiler vs libseccomp 2.5.4                    -> compiler.{md,json}                (~1 min)
#   launch       seccompkit run vs a C libseccomp launcher (root)      -> launch.{md,json}                  (~3 min)
#   learn        seccompkit learn vs the bare run and strace           -> learn.{md,json}                   (~3-6 min)
# Usage: bench/run.sh [NAME...]   (no NAME: all four, in this order; --list prints the names)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
all=(interpreter compiler launch learn)
if [ "${1:-}" = "--list" ]; then printf '%s\n' "${all[@]}"; exit 0; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for n in "${names[@]}"; do
  [ -x "$here/$n/run.sh" ] || { echo "bench/run.sh: no benchmark '$n' (one of: ${all[*]})" >&2; exit 2; }
done
for n in "${names[@]}"; do
  echo "== $n benchmark (bench/$n/run.sh)"
  "$here/$n/run.sh"
done
