#!/usr/bin/env bash
# Interpreter throughput: SeccompKit's Interpreter.Evaluate (and, for reference, CompiledFilter) vs libpcap's bpf_filter() on the Docker default
# profile compiled by libseccomp for amd64 (x86_64, x86, x32), every syscall number of each ABI, args zero.
# Needs: gcc, libpcap-dev, the .NET 10 SDK; python3-seccomp to regenerate bench/data (else the committed copy
# is used). Writes bench/results/interpreter-throughput.{md,json}. Takes about two minutes. bench/run.sh runs it with
# the other benchmarks. Usage: bench/interpreter/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bench="$repo/bench"
work="$(mktemp -d /tmp/seccompkit-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== anchor: gcc -O2 pcap_anchor.c -lpcap"
gcc -O2 -Wall -Wextra -Werror -o "$work/pcap_anchor" "$here/pcap_anchor.c" -lpcap

echo "== Docker filter: libseccomp export"
if /usr/bin/python3 -c 'import seccomp' 2>/dev/null; then
  /usr/bin/python3 "$repo/tests/SeccompKit.Linux.Tests/Libseccomp/export_filters.py" \
    --profile "$repo/data/profiles/docker-default.json" \
    --docker-only "$bench/data/docker-default.bpf" --arches "$bench/data/docker-default.arches"
  data_source="exported now by export_filters.py"
else
  echo "python3-seccomp missing (apt-get install python3-seccomp): using the committed bench/data copy" >&2
  data_source="committed copy in bench/data"
fi
export SECCOMPKIT_BENCH_DATA="$bench/data"

echo "== build"
dotnet build -c Release "$here/SeccompKit.InterpreterBench" -nologo -v q
bench_dll="$here/SeccompKit.InterpreterBench/bin/Release/net10.0/SeccompKit.InterpreterBench.dll"

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
python3 "$here/report.py" --work "$work" --versions "$versions" --out "$bench/results"
cat "$bench/results/interpreter-throughput.md"

