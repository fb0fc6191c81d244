#!/usr/bin/env bash
# Publishes the seccompkit CLI as one NativeAOT binary: artifacts/aot/seccompkit (no .NET runtime needed to run it).
#   ./build-aot.sh                 # linux-x64 into artifacts/aot/
#   ./build-aot.sh linux-arm64 DIR # another RID (needs that target's C toolchain and sysroot) and output directory
# Needs the .NET 10 SDK (restore fetches the ILCompiler packages from NuGet) and, to link, gcc or clang with
# libc6-dev, plus objcopy (binutils) to strip symbols. zlib1g-dev is not needed: the runtime's zlib is built in.
# Takes about a minute on 2 cores (ILC compiles the CLI, the libraries and the framework parts they use).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rid="${1:-linux-x64}"
out="${2:-$here/artifacts/aot}"
dotnet publish "$here/src/SeccompKit.Cli" -c Release -r "$rid" -o "$out" --nologo -v q
test -x "$out/seccompkit" || { echo "build-aot.sh: $out/seccompkit was not written" >&2; exit 1; }
echo "$out/seccompkit ($(stat -c %s "$out/seccompkit") bytes)"
