#!/usr/bin/env bash
# The long fuzz campaign (issue 17): INPUTS in-process inputs (default 1,000,000) through every reader, then RUNS
# process runs of the NativeAOT binary (default 20,000; ./build-aot.sh first), under nice. Writes
# bench/results/fuzz-inprocess.json and fuzz-cli.json; findings (with the command reproducing each) go to
# artifacts/fuzz-findings/. SEED fixes the campaign (default: random, printed); JOBS worker threads (default 1);
# MINUTES stops each of the two parts after that long (what was reached is still written); NICE (default 10).
#   bench/fuzz/run.sh                      # the documented campaign
#   INPUTS=20000 RUNS=200 bench/fuzz/run.sh   # a quick look
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seed="${SEED:-$RANDOM$RANDOM}"
inputs="${INPUTS:-1000000}"
runs="${RUNS:-20000}"
jobs="${JOBS:-1}"
nice="${NICE:-10}"
limit=(); [ -n "${MINUTES:-}" ] && limit=(--minutes "$MINUTES")
dotnet build "$here/tools/Fuzz/Fuzz.csproj" -c Release 2>&1 | grep -E ' error |rror\(s\)' || true
fuzz="$here/tools/Fuzz/bin/Release/net10.0/SeccompKit.Fuzz.dll"
mkdir -p "$here/bench/results"
status=0
nice -n "$nice" dotnet "$fuzz" run --seed "$seed" --inputs "$inputs" "${limit[@]}" --jobs "$jobs" --findings "$here/artifacts/fuzz-findings" \
  --json "$here/bench/results/fuzz-inprocess.json" || status=1
if [ "$runs" -gt 0 ]; then
  [ -x "$here/artifacts/aot/seccompkit" ] || { echo "bench/fuzz: run ./build-aot.sh first (no artifacts/aot/seccompkit)" >&2; exit 2; }
  nice -n "$nice" dotnet "$fuzz" cli --seed "$seed" --inputs "$runs" "${limit[@]}" --bin "$here/artifacts/aot/seccompkit" \
    --findings "$here/artifacts/fuzz-findings" --json "$here/bench/results/fuzz-cli.json" || status=1
fi
exit $status
