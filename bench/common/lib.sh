# Sourced by the benchmarks' run.sh (bench/<name>/run.sh): what they share besides machine.py.
# shellcheck shell=bash

# The 1-minute load average.
load1() { cut -d' ' -f1 /proc/loadavg; }

# Records the load average at the start in load_before (before the benchmark adds its own) and warns above 0.5:
# timings on a busy machine are not comparable. $1 names the benchmark in the warning.
note_load_before() {
  load_before=$(load1)
  awk -v a="$load_before" 'BEGIN { exit !(a > 0.5) }' && echo "bench/$1: WARNING: load average $load_before at the start: the machine is not quiet" >&2
  return 0
}
