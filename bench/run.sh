#!/usr/bin/env bash
# Interpreter throughput: SeccompKit's Interpreter.Evaluate (and, for reference, CompiledFilter) vs libpcap's bpf_filter() on the Docker default
# profile compiled by libseccomp for amd64 (x86_64, x86, x32), every syscall number of each ABI, args zero.
# Needs: gcc, libpcap-dev, the .NET 10 SDK; python3-seccomp to regenerate bench/data (else the committed copy
# is used). Writes bench/results/interpreter-throughput.{md,json}, then runs bench/compiler/run.sh
# (bench/results/compiler.{md,json}), bench/launch/run.sh (bench/results/launch.{md,json}; needs root, hyperfine and
# libjansson-dev) and bench/learn/run.sh (bench/results/learn.{md,json}; needs strace, perf optional). Takes about ten minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$(mktemp -d /tmp/seccompkit-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== anchor: gcc -O2 pcap_anchor.c -lpcap"
gcc -O2 -Wall -Wextra -Werror -o "$work/pcap_anchor" "$here/anchor/pcap_anchor.c" -lpcap

echo "== Docker filter: libseccomp export"
if /usr/bin/python3 -c 'import seccomp' 2>/dev/null; then
  /usr/bin/python3 "$repo/tests/SeccompKit.Linux.Tests/Libseccomp/export_filters.py" \
    --profile "$repo/data/profiles/docker-default.json" \
    --docker-only "$here/data/docker-default.bpf" --arches "$here/data/docker-default.arches"
  data_source="exported now by export_filters.py"
else
  echo "python3-seccomp missing (apt-get install python3-seccomp): using the committed bench/data copy" >&2
  data_source="committed copy in bench/data"
fi
export SECCOMPKIT_BENCH_DATA="$here/data"

echo "== build"
dotnet build -c Release "$here/SeccompKit.Benchmarks" -nologo -v q
bench_dll="$here/SeccompKit.Benchmarks/bin/Release/net10.0/SeccompKit.Benchmarks.dll"

echo "== inputs and SeccompKit's results"
dotnet "$bench_dll" prepare "$work"

echo "== anchor: verify against SeccompKit, then time"
"$work/pcap_anchor" "$SECCOMPKIT_BENCH_DATA/docker-default.bpf" "$work/inputs.bin" "$work/ours.bin" 2 | tee "$work/anchor.json"

# Same statistics on both sides: the anchor times 5 rounds and reports their mean and the fastest; BenchmarkDotNet
# runs the short job with 5 measured iterations and keeps them all (no outlier removal), and report.py takes
# their mean and minimum.
echo "== BenchmarkDotNet (short job, 5 iterations)"
dotnet "$bench_dll" --filter '*InterpreterThroughput*' --job short --iterationCount 5 --outliers DontRemove --exporters json --artifacts "$work/bdn"

echo "== report"
versions="$work/versions.txt"
{
  echo "dotnet=$(dotnet --version)"
  echo "gcc=$(gcc -dumpfullversion)"
  echo "libpcap=$(dpkg-query -W -f='${Version}' libpcap0.8 2>/dev/null || echo unknown)"
  echo "libseccomp=$(dpkg-query -W -f='${Version}' libseccomp2 2>/dev/null || echo unknown)"
  echo "data=$data_source"
} > "$versions"
python3 "$here/report.py" --work "$work" --versions "$versions" --out "$here/results"
cat "$here/results/interpreter-throughput.md"

# The compiler benchmark (SeccompKit's PolicyCompiler vs libseccomp) writes bench/results/compiler.{md,json}.
echo "== compiler benchmark (bench/compiler/run.sh)"
"$here/compiler/run.sh"

# The launch benchmark (seccompkit run vs a C libseccomp launcher, per-syscall filter cost, NativeAOT vs JIT) writes
# bench/results/launch.{md,json}.
echo "== launch benchmark (bench/launch/run.sh)"
"$here/launch/run.sh"

# The learn benchmark (seccompkit learn vs the bare run and strace, the notification round trip of NotificationSupervisor
# vs a C libseccomp loop) writes bench/results/learn.{md,json}.
echo "== learn benchmark (bench/learn/run.sh)"
"$here/learn/run.sh"
