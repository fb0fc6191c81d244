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
median_ms() { # command... -> median wall ms over $runs runs
  local t=()
  for _ in $(seq "$runs"); do
    local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); t+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
"$bin" compile "$here/data/profiles/docker-default.json" -o "$work/docker.bpf" 2>/dev/null
"$bin" compile "$here/data/profiles/podman-default.json" -o "$work/podman.bpf" 2>/dev/null
len() { echo $(( $(stat -c %s "$1") / 8 )); }
rows=()
base=$(median_ms "$bin" disasm "$work/docker.bpf")
ex=$(median_ms "$bin" explain "$work/docker.bpf")
df=$(median_ms "$bin" diff "$work/docker.bpf" "$work/podman.bpf")
rows+=("docker-default|$(len "$work/docker.bpf")|$base|$ex|$df")
# Syscalls whose first argument exists (data/syscall-signatures.tsv: a row with index 0), so each may carry a condition.
# Only names x86_64's table has (data/syscalls.csv column 4 a number): tracefs names some calls by their kernel function.
names=($(join <(awk -F'\t' '!/^#/ && $2 == "0" {print $1}' "$here/data/syscall-signatures.tsv" | sort -u) \
              <(awk -F, '!/^#/ && $4 ~ /^[0-9]+$/ {print $1}' "$here/data/syscalls.csv" | sort -u)))
[ "${#names[@]}" -ge 256 ] || { echo "bench/explain: only ${#names[@]} syscalls with an argument in data/syscall-signatures.tsv" >&2; exit 1; }
for n in 16 64 128 256; do
  {
    echo "default errno(EPERM)"; echo "architectures x86_64, x86, x32"; echo "allow {"
    for s in "${names[@]:0:$n}"; do echo "  $s,"; done
    echo "}"
    echo "errno(EACCES) {"
    i=0; for s in "${names[@]:0:$n}"; do i=$((i+1)); if [ $((i % 4)) -eq 0 ]; then echo "  $s(args[0]:32 == $i),"; fi; done
    echo "}"
  } > "$work/g$n.policy"
  "$bin" compile "$work/g$n.policy" -o "$work/g$n.bpf" >/dev/null 2>"$work/g$n.err" || { echo "bench/explain: generated policy of $n syscalls does not compile:" >&2; cat "$work/g$n.err" >&2; exit 1; }
  b=$(median_ms "$bin" disasm "$work/g$n.bpf")
  e=$(median_ms "$bin" explain "$work/g$n.bpf")
  d=$(median_ms "$bin" diff "$work/g$n.bpf" "$work/docker.bpf")
  rows+=("generated $n syscalls|$(len "$work/g$n.bpf")|$b|$e|$d")
done
mkdir -p "$here/bench/results"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
dotnet="$(dotnet --version 2>/dev/null || echo '?')"
{
  echo "# explain and diff timing (NativeAOT binary)"
  echo
  echo "Machine: $machine; .NET SDK $dotnet; $runs runs each, median wall time of the whole process (start-up included;"
  echo "\`disasm\` of the same filter is the start-up + read baseline). Produced by bench/explain/run.sh on $(date -u +%F)."
  echo
  echo "| filter | instructions | disasm ms | explain ms | diff vs docker/podman ms |"
  echo "|---|---|---|---|---|"
  for r in "${rows[@]}"; do IFS='|' read -r a b c d e <<<"$r"; echo "| $a | $b | $c | $d | $e |"; done
} > "$here/bench/results/explain.md"
{
  echo "{\"machine\": \"$machine\", \"dotnet\": \"$dotnet\", \"runs\": $runs, \"rows\": ["
  sep=""; for r in "${rows[@]}"; do IFS='|' read -r a b c d e <<<"$r"; echo "$sep{\"filter\": \"$a\", \"instructions\": $b, \"disasmMs\": $c, \"explainMs\": $d, \"diffMs\": $e}"; sep=","; done
  echo "]}"
} > "$here/bench/results/explain.json"
cat "$here/bench/results/explain.md"
