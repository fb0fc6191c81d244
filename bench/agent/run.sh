#!/usr/bin/env bash
# Agent benchmark (issue 14: bench/agent). One run measures, on this machine, for runc and crun:
#  1. Notifications per second through the agent: a busybox container runs bench/agent/getppid-loop (static C), N raw
#     getppid calls timed inside the container; its profile notifies getppid to the agent, which records each call as
#     learn does and lets it run (CONTINUE). Against the same container with getppid allowed and no agent.
#  2. Container start time: `RUNTIME run` of busybox `true`, wall time from spawn to exit, with the agent in learn mode
#     (the profile `seccompkit agent profile --metadata learn` writes for the installed runtime) against the same container and profile with ALLOW for NOTIFY and no listener, and with no seccomp at all.
# Everything interleaved: per round, both runtimes (order alternating), each variant (order rotated). Medians, spread.
# The agent: SeccompAgent in the driver's process (bench/agent/SeccompKit.AgentBench) with the learn session
# (ContainerLearnSession: records, and writes the learned profile when the container exits). When the CLI has `seccompkit agent` (NativeAOT,
# ./build-aot.sh), a second pass runs the same containers against that process as well.
# Needs root (runc/crun), runc, crun, busybox-static, gcc with static glibc (libc6-dev), python3, the .NET 10 SDK.
# Writes bench/results/agent.{md,json}. Takes about 3 minutes here with the defaults.
# Usage: bench/agent/run.sh [ROUNDS [CALLS]]   (default 9 rounds after 1 warm-up, 200000 getppid calls per container;
# env SECCOMPKIT=path uses that binary instead of building one; AGENT_BENCH_KEEP=DIR keeps the raw measurements)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
rounds="${1:-9}"
calls="${2:-200000}"
if [ -n "${AGENT_BENCH_KEEP:-}" ]; then
  work="$AGENT_BENCH_KEEP"; rm -rf "$work"; mkdir -p "$work"
else
  work="$(mktemp -d /tmp/seccompkit-agent-bench.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
# shellcheck source=../common/lib.sh
. "$here/../common/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench/agent: run as root (runc and crun start the containers)" >&2; exit 1; }
for t in runc crun busybox gcc; do command -v "$t" > /dev/null || { echo "bench/agent: $t is missing" >&2; exit 1; }; done
note_load_before agent

echo "== the notified workload: bench/agent/getppid-loop.c, static"
gcc -static -O2 -o "$work/getppid-loop" "$here/getppid-loop.c"

echo "== the container driver (bench/agent/SeccompKit.AgentBench, Release)"
dotnet build "$here/SeccompKit.AgentBench" -c Release -o "$repo/artifacts/bench/agent" --nologo -v q > "$work/build.log" || { cat "$work/build.log"; exit 1; }
driver=(dotnet "$repo/artifacts/bench/agent/SeccompKit.AgentBench.dll" --loop "$work/getppid-loop" --rounds "$rounds" --warmup 1 --calls "$calls" --starts 3)

nice_level=0
if renice -n -20 -p $$ > /dev/null; then nice_level=-20; fi

echo "== pass 1: the agent in the driver's process; $rounds rounds (load average $(load1))"
"${driver[@]}" --out "$work/inproc.jsonl"

cli_agent=none
if [ -z "${SECCOMPKIT:-}" ]; then
  bash build-aot.sh linux-x64 "$repo/artifacts/aot" > "$work/aot.log" 2>&1 || { cat "$work/aot.log"; exit 1; }
  SECCOMPKIT="$repo/artifacts/aot/seccompkit"
fi
if "$SECCOMPKIT" agent --help 2>&1 | grep -q -e "--socket"; then
  echo "== pass 2: \`seccompkit agent\` (NativeAOT, its default sessions); $rounds rounds"
  mkdir -p "$work/cli-out"
  "$SECCOMPKIT" agent --socket "$work/agent.sock" --output "$work/cli-out" 2> "$work/cli-agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do [ -S "$work/agent.sock" ] && break; sleep 0.05; done
  [ -S "$work/agent.sock" ] || { echo "bench/agent: seccompkit agent did not listen"; cat "$work/cli-agent.log"; exit 1; }
  "${driver[@]}" --agent-socket "$work/agent.sock" --out "$work/cli.jsonl" || true
  kill -TERM "$agent_pid"; wait "$agent_pid" || true
  # An agent without a learn session refuses the containers (their notified calls then fail with ENOSYS): such a
  # pass measures the refusal, not learn, so it is dropped and the reason reported.
  if grep -q -i "refused" "$work/cli-agent.log"; then
    refusal=$(grep -i -m1 "refused" "$work/cli-agent.log" | tr -d '\n' | cut -c1-300)
    echo "== pass 2 dropped: seccompkit agent refused the containers: $refusal"
    rm -f "$work/cli.jsonl"
    cli_agent="none (seccompkit agent refused learn containers: ${refusal//=/:})"
  else
    cli_agent="seccompkit agent (NativeAOT)"
  fi
else
  echo "== pass 2 skipped: $SECCOMPKIT has no \`agent\` command in this build"
fi
load_after=$(load1)

echo "== report"
{
  echo "dotnet=$(dotnet --version)"
  echo "runc=$(runc --version | sed -n '1s/runc version //p')"
  echo "crun=$(crun --version | sed -n '1s/crun version //p')"
  echo "busybox=$(busybox | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')"
  echo "gcc=$(gcc -dumpfullversion)"
  echo "seccompkit=$("$SECCOMPKIT" --version)"
  echo "cliAgent=$cli_agent"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench || echo '+dirty')"
  echo "loadBefore=$load_before"
  echo "loadAfter=$load_after"
  echo "rounds=$rounds"
  echo "calls=$calls"
  echo "nice=$nice_level"
} > "$work/versions.txt"
python3 "$here/report.py" --work "$work" --versions "$work/versions.txt" --out "$repo/bench/results"
cat "$repo/bench/results/agent.md"
