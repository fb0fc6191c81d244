#!/usr/bin/env bash
# Launch benchmark (issue 5): in one hyperfine run, median wall time of
#   seccompkit run --profile data/profiles/docker-default.json -- /bin/true   (NativeAOT binary)
#   native/build/libseccomp-launch DOCKER-OCI.json -- /bin/true             (C: parse JSON + libseccomp compile + load + exec)
#   /bin/true                                                                (bare)
# target: seccompkit run <= 1.0x the C launcher (issue 16). With SECCOMPKIT_BASELINE=path (an older seccompkit binary,
# e.g. one published from an earlier commit), `run` of that binary is timed in the same rounds as a further row. Then the per-syscall cost of SeccompKit's compiled Docker filter vs
# libseccomp's (native/build/syscall-cost: getppid, personality, two clone calls, in ns/call), and NativeAOT vs JIT
# (binary size, `--version` startup, compiling the Docker profile).
# Needs: root (filters are installed), gcc, libseccomp-dev, libjansson-dev, hyperfine, the .NET 10 SDK.
# Writes bench/results/launch.{md,json}. Takes about three minutes. Run it on a quiet machine: the 1-minute load
# average at the start (before this script adds its own) is recorded, with a warning above 0.5, and at the end.
# Usage: bench/launch/run.sh [LAUNCH_RUNS]     (default 500 per command; env SECCOMPKIT=path uses that binary instead of publishing one)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
runs="${1:-500}"
work="$(mktemp -d /tmp/seccompkit-launch-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
profile=data/profiles/docker-default.json
# shellcheck source=../common/lib.sh
. "$here/../common/lib.sh"
command -v hyperfine > /dev/null || { echo "bench/launch: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
note_load_before launch

echo "== native helpers (native/build.sh)"
bash native/build.sh
launcher="$repo/native/build/libseccomp-launch"
cost="$repo/native/build/syscall-cost"

echo "== NativeAOT binary (build-aot.sh) and the JIT build (SECCOMPKIT_JIT=1 ./seccompkit)"
publish_s=-1 # not published by this run
if [ -z "${SECCOMPKIT:-}" ]; then
  start=$SECONDS
  bash build-aot.sh linux-x64 "$repo/artifacts/aot"
  publish_s=$((SECONDS - start))
  SECCOMPKIT="$repo/artifacts/aot/seccompkit"
fi
SECCOMPKIT_JIT=1 "$repo/seccompkit" --version > /dev/null # builds artifacts/cli when sources changed
jit_dll="$repo/artifacts/cli/SeccompKit.Cli.dll"

echo "== inputs: the Docker profile as OCI JSON (what runc gets), both filters"
"$SECCOMPKIT" convert "$profile" --to oci -o "$work/docker-oci.json" 2> /dev/null
"$SECCOMPKIT" compile "$profile" -o "$work/seccompkit.bpf" -q 2> /dev/null
"$launcher" --export "$work/libseccomp.bpf" "$work/docker-oci.json"
"$launcher" "$work/docker-oci.json" -- /bin/true
# What each filter does on the timed calls (same order as syscall-cost), and which syscalls the action cache covers.
for f in seccompkit libseccomp; do
  i=0
  for c in "getppid" "personality --args 0xffffffff" "clone --args 0x800" "clone --args 0x10000800"; do
    # shellcheck disable=SC2086 # $c is a syscall and its --args
    "$SECCOMPKIT" emulate "$work/$f.bpf" --syscall $c --format json > "$work/emulate-$f-$i.json"
    i=$((i + 1))
  done
  "$SECCOMPKIT" emulate "$work/$f.bpf" --all --arch x86_64 --format json > "$work/emulate-$f-all.json"
done

# The run-based measurement: `seccompkit run` is issue 5's other half (built in parallel). This is the one place
# that invokes it; without the command the launch table has only the C launcher and bare /bin/true.
run_cmd=("$SECCOMPKIT" run --profile "$profile" -- /bin/true)
if "${run_cmd[@]}"; then have_run=1; else have_run=0; echo "bench/launch: '${run_cmd[*]}' failed: seccompkit run is not measured" >&2; fi

# hyperfine runs one command's runs back to back, so slow drift of this shared machine would land on one command:
# 5 rounds of hyperfine over all commands, each round runs/5 runs per command after 10 warm-ups; the report pools
# the runs per command (median over all) and gives the spread of the per-round ratios.
echo "== launch: hyperfine, 5 rounds x $((runs / 5)) runs per command (load average $(load1))"
launch_cmds=(-n "bare /bin/true" "/bin/true" -n "C launcher (libseccomp)" "$launcher $work/docker-oci.json -- /bin/true")
[ "$have_run" = 1 ] && launch_cmds+=(-n "seccompkit run (NativeAOT)" "${run_cmd[*]}")
if [ -n "${SECCOMPKIT_BASELINE:-}" ]; then
  launch_cmds+=(-n "baseline: seccompkit run ($("$SECCOMPKIT_BASELINE" --version), $(stat -c %s "$SECCOMPKIT_BASELINE") bytes)" "$SECCOMPKIT_BASELINE run --profile $profile -- /bin/true")
fi
for round in 1 2 3 4 5; do
  hyperfine -N --warmup 10 --runs "$((runs / 5))" --export-json "$work/launch-$round.json" "${launch_cmds[@]}"
done

# A filter stays installed for the life of a process, so each measurement is a process of its own. Run to run the
# same process varies by tens of ns (placement, host noise), so: 7 processes per filter, interleaved
# (none, SeccompKit, libseccomp, none, ...), all pinned to one CPU; the report takes the median of their medians.
echo "== per-syscall cost: syscall-cost, 7 interleaved processes per filter x 11 rounds x 100000 calls"
pin=(); command -v taskset > /dev/null && pin=(taskset -c "$(($(nproc) - 1))")
: > "$work/cost.jsonl"
for _ in 1 2 3 4 5 6 7; do
  "${pin[@]}" "$cost" --rounds 11 --calls 100000 --label none >> "$work/cost.jsonl"
  "${pin[@]}" "$cost" --rounds 11 --calls 100000 --label seccompkit "$work/seccompkit.bpf" >> "$work/cost.jsonl"
  "${pin[@]}" "$cost" --rounds 11 --calls 100000 --label libseccomp "$work/libseccomp.bpf" >> "$work/cost.jsonl"
done

echo "== NativeAOT vs JIT: --version startup and compiling the Docker profile"
hyperfine -N --warmup 5 --runs 50 --export-json "$work/startup.json" \
  -n "NativeAOT" "$SECCOMPKIT --version" -n "JIT" "dotnet $jit_dll --version"
hyperfine -N --warmup 3 --runs 20 --export-json "$work/compile.json" \
  -n "NativeAOT" "$SECCOMPKIT compile $profile -q --force -o $work/aot.bpf" -n "JIT" "dotnet $jit_dll compile $profile -q --force -o $work/jit.bpf"
cmp "$work/aot.bpf" "$work/jit.bpf"
load_after=$(load1)

echo "== report"
{
  echo "dotnet=$(dotnet --version)"
  echo "gcc=$(gcc -dumpfullversion)"
  echo "libseccomp=$(dpkg-query -W -f='${Version}' libseccomp2 2>/dev/null || echo unknown)"
  echo "jansson=$(dpkg-query -W -f='${Version}' libjansson4 2>/dev/null || echo unknown)"
  echo "hyperfine=$(hyperfine --version | cut -d' ' -f2)"
  echo "seccompkit=$("$SECCOMPKIT" --version)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src native bench || echo '+dirty')"
  echo "aotBinaryBytes=$(stat -c %s "$SECCOMPKIT")"
  echo "aotPublishSeconds=$publish_s"
  echo "loadBefore=$load_before"
  echo "loadAfter=$load_after"
  echo "haveRun=$have_run"
  echo "launchRuns=$runs"
} > "$work/versions.txt"
python3 "$here/report.py" --work "$work" --versions "$work/versions.txt" --out "$repo/bench/results"
cat "$repo/bench/results/launch.md"
