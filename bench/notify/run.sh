#!/usr/bin/env bash
# Notification benchmark (issue 16, first part: the round trip and a supervisor serving many targets). One run measures,
# on this machine, everything interleaved (per round every configuration once, in an order rotated each round):
#  1. The round trip as the target sees it: native/notify-rtt's target makes 200,000 raw getppid calls (200 batches of
#     1000, each batch timed), notified, under
#       - the anchor: native/notify-rtt's raw-ioctl C loop (NOTIF_RECV blocking, NOTIF_SEND with CONTINUE), SYNC_WAKE_UP
#         on and off, and libseccomp's loop (SYNC_WAKE_UP on) for reference;
#       - SeccompKit's NotificationSupervisor (bench/learn/SeccompKit.LearnBench rtt, NativeAOT), SYNC_WAKE_UP on and off;
#       - `seccompkit learn` (NativeAOT, ./build-aot.sh): notifies every syscall, records, answers CONTINUE;
#     minus the unfiltered call (the target alone). Targets: NotificationSupervisor <= 1.05x the C loop, learn's added
#     cost per notified call <= 1.1x, median and p99 (of the batches' per-call times).
#  2. Many targets: native/notify-rtt many, W workers (1, 4, 16, 64; processes, and threads of one process) making
#     getppid calls for 500 ms, each call timed into a shared histogram; and 16 processes with 8 more SIGKILLed halfway
#     (mid-call). Supervisors: the raw C loop with 1 and 2 receiving threads, NotificationSupervisor with MaxConcurrency
#     1 and 2; SYNC_WAKE_UP on. Calls per second (all workers) and p50/p99 latency of one call.
# Needs: gcc, libseccomp-dev, python3, the .NET 10 SDK. No privilege. Writes bench/results/notify.{md,json}.
# Usage: bench/notify/run.sh [ROUNDS [MANY_ROUNDS]]   (default 5 and 3; env SECCOMPKIT=path and LEARNBENCH=path use those
# binaries instead of publishing them; NOTIFY_BENCH_KEEP=DIR keeps the raw measurements in DIR)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
rounds="${1:-5}"
many_rounds="${2:-3}"
if [ -n "${NOTIFY_BENCH_KEEP:-}" ]; then
  work="$NOTIFY_BENCH_KEEP"; rm -rf "$work"; mkdir -p "$work"
else
  work="$(mktemp -d /tmp/seccompkit-notify-bench.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
# shellcheck source=../common/lib.sh
. "$here/../common/lib.sh"
note_load_before notify

build_notify_binaries

nice_level=0
if [ "$(id -u)" = 0 ] && renice -n -20 -p $$ > /dev/null; then nice_level=-20; fi

target=("$rtt" target --batches 200 --calls 1000)
configs=(c-raw/on c-raw/off c-libseccomp/on seccompkit/on seccompkit/off learn/on)
echo "== part 1: round trip, $rounds rounds x (bare + ${#configs[@]} supervisors), 200,000 getppid calls each (load $(load1))"
: > "$work/rtt.jsonl"
for ((round = 0; round < rounds; round++)); do
  "${target[@]}" --label bare >> "$work/rtt.jsonl"
  n=${#configs[@]}
  for ((k = 0; k < n; k++)); do
    cfg=${configs[$(((k + round) % n))]}
    IFS=/ read -r impl sync <<< "$cfg"
    s=(); [ "$sync" = on ] && s=(--sync)
    case "$impl" in
      c-raw) "$rtt" supervise --label "$cfg" --raw "${s[@]}" -- "${target[@]}" --label "$cfg" >> "$work/rtt.jsonl" ;;
      c-libseccomp) "$rtt" supervise --label "$cfg" "${s[@]}" -- "${target[@]}" --label "$cfg" >> "$work/rtt.jsonl" ;;
      seccompkit) "$LEARNBENCH" rtt --label "$cfg" "${s[@]}" -- "${target[@]}" --label "$cfg" >> "$work/rtt.jsonl" ;;
      learn) "$SECCOMPKIT" learn -q --force -o "$work/learned.json" -- "${target[@]}" --label "$cfg" >> "$work/rtt.jsonl" ;;
    esac
  done
  echo "   round $((round + 1)) of $rounds done (load $(load1))"
done

# Where the round trip goes: one perf profile (cpu-clock) and one perf stat of each of the two loops the target compares,
# split by thread and binary (perf is optional; perf_event_paranoid <= 2 suffices for one's own processes).
have_perf=0
if command -v perf > /dev/null; then
  have_perf=1
  for impl in c-raw seccompkit; do
    if [ "$impl" = c-raw ]; then sup=("$rtt" supervise --label perf --raw --sync --); else sup=("$LEARNBENCH" rtt --label perf --sync --); fi
    perf record -q -e cpu-clock -F 4999 -o "$work/perf-$impl.data" -- "${sup[@]}" "${target[@]}" --label perf > /dev/null 2>&1 || have_perf=0
    perf report -i "$work/perf-$impl.data" --no-children --sort pid,dso --stdio 2> /dev/null | grep -v '^#' | grep . | head -8 > "$work/perf-$impl.txt" || have_perf=0
    perf stat -x, -e task-clock,context-switches -o "$work/perfstat-$impl.txt" -- "${sup[@]}" "${target[@]}" --label perf > /dev/null 2>&1 || have_perf=0
  done
fi
[ "$have_perf" = 1 ] || echo "bench/notify: no perf profile (perf missing or not permitted)" >&2

echo "== part 2: many targets, $many_rounds rounds"
: > "$work/many.jsonl"
workloads=()
for w in 1 4 16 64; do workloads+=("$w/procs/0" "$w/threads/0"); done
workloads+=("16/procs/8")
sups=(c-raw/1 c-raw/2 seccompkit/1 seccompkit/2)
for ((round = 0; round < many_rounds; round++)); do
  for wl in "${workloads[@]}"; do
    IFS=/ read -r w mode kills <<< "$wl"
    margs=(many --workers "$w" --kill "$kills" --ms 500)
    [ "$mode" = threads ] && margs+=(--threads)
    m=${#sups[@]}
    for ((k = 0; k < m; k++)); do
      sup=${sups[$(((k + round) % m))]}
      IFS=/ read -r impl threads <<< "$sup"
      label="$wl/$sup"
      if [ "$impl" = c-raw ]; then
        "$rtt" supervise --label "$label" --raw --sync --threads "$threads" -- "$rtt" "${margs[@]}" --label "$label" >> "$work/many.jsonl"
      else
        "$LEARNBENCH" rtt --label "$label" --sync --concurrency "$threads" -- "$rtt" "${margs[@]}" --label "$label" >> "$work/many.jsonl"
      fi
    done
  done
  echo "   round $((round + 1)) of $many_rounds done (load $(load1))"
done
load_after=$(load1)

echo "== report"
{
  echo "dotnet=$(dotnet --version)"
  echo "gcc=$(gcc -dumpfullversion)"
  echo "libseccomp=$(dpkg-query -W -f='${Version}' libseccomp2 2>/dev/null || echo unknown)"
  echo "seccompkit=$("$SECCOMPKIT" --version)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src native bench || echo '+dirty')"
  echo "loadBefore=$load_before"
  echo "loadAfter=$load_after"
  echo "rounds=$rounds"
  echo "manyRounds=$many_rounds"
  echo "nice=$nice_level"
} > "$work/versions.txt"
python3 "$here/report.py" --work "$work" --versions "$work/versions.txt" --out "$repo/bench/results"
cat "$repo/bench/results/notify.md"
