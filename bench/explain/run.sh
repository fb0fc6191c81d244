#!/usr/bin/env bash
# Times `seccompkit explain` and `seccompkit diff` with the NativeAOT binary (./build-aot.sh) on Docker's default
# profile compiled, and on filters of growing length (policies of N syscalls, each with an argument condition,
# compiled), and writes bench/results/explain.md and explain.json. Each figure is the median wall time of RUNS
# process runs (start-up included; `disasm` of the same filter is the start-up baseline).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$here/artifacts/aot/seccompkit"
[ -x "$bin" ] || { echo "run ./build-aot.sh first (no $bin)" >&2; exit 2; }
runs="${RUNS:-15}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
# Runs the three commands of a row round-robin RUNS times (so a change in load hits all three alike) and prints, per
# command, "median p10 p90" wall milliseconds of the whole process.
time_row() { # 'cmd1' 'cmd2' 'cmd3' (each a string split on spaces) -> three lines "median p10 p90"
  local i c s e; declare -a t0=() t1=() t2=()
  for i in $(seq "$runs"); do
    for c in 0 1 2; do
      local cmd; eval "cmd=(\${$((c + 1))})"
      s=$(date +%s%N); "$bin" ${cmd[@]} >/dev/null 2>&1 || true; e=$(date +%s%N)
      eval "t$c+=($(( (e - s) / 1000 )))"
    done
  done
  for c in 0 1 2; do
    eval "printf '%s\n' \"\${t$c[@]}\"" | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f %.1f\n", a[int((NR+1)/2)]/1000, a[int(NR*0.1)+1]/1000, a[int(NR*0.9+0.5)]/1000}'
  done
}
"$bin" compile "$here/data/profiles/docker-default.json" -o "$work/docker.bpf" 2>/dev/null
"$bin" compile "$here/data/profiles/podman-default.json" -o "$work/podman.bpf" 2>/dev/null
len() { echo $(( $(stat -c %s "$1") / 8 )); }
rows=()
mapfile -t r < <(time_row "disasm $work/docker.bpf" "explain $work/docker.bpf" "diff $work/docker.bpf $work/podman.bpf")
rows+=("docker-default|$(len "$work/docker.bpf")|${r[0]}|${r[1]}|${r[2]}")
# Syscalls whose first argument exists (data/syscall-signatures.tsv: a row with index 0), so each may carry a condition.
# Only names x86_64's table has (data/syscalls.csv column 4 a number): tracefs names some calls by their kernel function.
names=($(join <(awk -F'\t' '!/^#/ && $2 == "0" {print $1}' "$here/data/syscall-signatures.tsv" | sort -u) \
              <(awk -F, '!/^#/ && $4 ~ /^[0-9]+$/ {print $1}' "$here/data/syscalls.csv" | sort -u)))
[ "${#names[@]}" -ge 257 ] || { echo "bench/explain: only ${#names[@]} syscalls (more than 256 needed) with an argument in data/syscall-signatures.tsv" >&2; exit 1; }
for n in 16 64 128 256 "${#names[@]}"; do
  {
    echo "default errno(EPERM)"; echo "architectures x86_64, x86, x32"; echo "allow {"
    for s in "${names[@]:0:$n}"; do echo "  $s,"; done
    echo "}"
    echo "errno(EACCES) {"
    i=0; for s in "${names[@]:0:$n}"; do i=$((i+1)); if [ $((i % 4)) -eq 0 ]; then echo "  $s(args[0]:32 == $i),"; fi; done
    echo "}"
  } > "$work/g$n.policy"
  "$bin" compile "$work/g$n.policy" -o "$work/g$n.bpf" >/dev/null 2>"$work/g$n.err" || { echo "bench/explain: generated policy of $n syscalls does not compile:" >&2; cat "$work/g$n.err" >&2; exit 1; }
  mapfile -t r < <(time_row "disasm $work/g$n.bpf" "explain $work/g$n.bpf" "diff $work/g$n.bpf $work/docker.bpf")
  rows+=("generated $n syscalls|$(len "$work/g$n.bpf")|${r[0]}|${r[1]}|${r[2]}")
done
mkdir -p "$here/bench/results"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
dotnet="$(dotnet --version 2>/dev/null || echo '?')"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
cell() { set -- $1; echo "$1 ($2-$3)"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
{
  echo "# explain and diff timing (NativeAOT binary)"
  echo
  echo "Machine: $machine; .NET SDK $dotnet; load average at the end $load. Each row runs disasm, explain and diff"
  echo "round-robin $runs times; each cell is the median wall time of the whole process in ms (start-up included) and, in"
  echo "parentheses, the 10th-90th percentile. \`disasm\` of the same filter is the anchor: start-up + reading the file."
  echo "Target (issue 15): explain and diff each under 100 ms on Docker's profile. Produced by bench/explain/run.sh on $(date -u +%F)."
  echo
  echo "| filter | instructions | disasm ms | explain ms | diff ms (vs podman for Docker, vs Docker otherwise) | explain / disasm |"
  echo "|---|---|---|---|---|---|"
  for r in "${rows[@]}"; do IFS='|' read -r a b c d e <<<"$r"; echo "| $a | $b | $(cell "$c") | $(cell "$d") | $(cell "$e") | $(ratio "${d%% *}" "${c%% *}")x |"; done
} > "$here/bench/results/explain.md"
{
  echo "{\"machine\": \"$machine\", \"dotnet\": \"$dotnet\", \"load\": \"$load\", \"runs\": $runs, \"unit\": \"ms: median, p10, p90\", \"rows\": ["
  sep=""; for r in "${rows[@]}"; do IFS='|' read -r a b c d e <<<"$r"; set -- $c; c="[$1, $2, $3]"; set -- $d; d="[$1, $2, $3]"; set -- $e; e="[$1, $2, $3]"
    echo "$sep{\"filter\": \"$a\", \"instructions\": $b, \"disasmMs\": $c, \"explainMs\": $d, \"diffMs\": $e}"; sep=","; done
  echo "]}"
} > "$here/bench/results/explain.json"
cat "$here/bench/results/explain.md"
