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

# Builds what the notification benchmarks (learn, notify) run, from the repository root $repo: the native helpers
# (sets rtt to notify-rtt), the NativeAOT seccompkit (SECCOMPKIT, unless given) and SeccompKit.LearnBench (LEARNBENCH,
# unless given).
build_notify_binaries() {
  echo "== native helpers (native/build.sh)"
  bash "$repo/native/build.sh"
  rtt="$repo/native/build/notify-rtt"
  echo "== NativeAOT binaries: seccompkit (build-aot.sh) and bench/learn/SeccompKit.LearnBench"
  if [ -z "${SECCOMPKIT:-}" ]; then
    bash "$repo/build-aot.sh" linux-x64 "$repo/artifacts/aot"
    SECCOMPKIT="$repo/artifacts/aot/seccompkit"
  fi
  if [ -z "${LEARNBENCH:-}" ]; then
    dotnet publish "$repo/bench/learn/SeccompKit.LearnBench" -c Release -r linux-x64 -o "$repo/artifacts/bench/learn" --nologo -v q
    LEARNBENCH="$repo/artifacts/bench/learn/SeccompKit.LearnBench"
  fi
}
