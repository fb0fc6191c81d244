#!/usr/bin/env bash
# Compiler benchmark: SeccompKit's PolicyCompiler vs libseccomp 2.5.4's default output (optimize 1) and binary
# tree (optimize 2) on the Docker and podman default profiles for amd64 (x86_64, x86, x32), imported by
# SeccompKit (DockerProfile.Resolve) without runc's ENOSYS cutoffs. Measures filter length, instructions
# executed per syscall (every number of each ABI, and weighted by bench/data/syscall-mix.tsv), action-cache
# eligibility, and warm in-process compile time (median). Needs gcc, libseccomp-dev, the .NET 10 SDK.
# Writes bench/results/compiler.{md,json}. Takes about a minute. Usage: bench/compiler/run.sh [RUNS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${1:-300}"
work="$(mktemp -d /tmp/seccompkit-compiler-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== native helper: native/build.sh (libseccomp-compile)"
bash "$repo/native/build.sh"

echo "== build"
dotnet build -c Release "$here/SeccompKit.CompilerBench" -nologo -v q

echo "== measure ($runs timed compiles per compiler and profile)"
dotnet "$here/SeccompKit.CompilerBench/bin/Release/net10.0/SeccompKit.CompilerBench.dll" "$work" --runs "$runs"

echo "== report"
{
  echo "dotnet=$(dotnet --version)"
  echo "dotnetRuntime=$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\).*/\1/p' | tail -1)"
  echo "gcc=$(gcc -dumpfullversion)"
  echo "libseccomp=$(dpkg-query -W -f='${Version}' libseccomp2 2>/dev/null || echo unknown)"
  echo "commit=$(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo '+dirty')"
} > "$work/versions.txt"
python3 "$here/report.py" --work "$work" --versions "$work/versions.txt" --out "$repo/bench/results"
cat "$repo/bench/results/compiler.md"
