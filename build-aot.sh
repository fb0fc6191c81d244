#!/usr/bin/env bash
# Publishes the seccompkit CLI as one NativeAOT binary: artifacts/aot/seccompkit (no .NET runtime needed to run it).
# ./seccompkit runs this by itself when the binary is missing or a source changed; run it by hand to retry after
# fixing what made it fail (./seccompkit then uses the binary again).
#   ./build-aot.sh                 # linux-x64 into artifacts/aot/
#   ./build-aot.sh linux-x64 DIR   # into another output directory
# linux-x64 is the only target: the kernel layer (SeccompKit.Linux) supports only x86_64 hosts today (its syscall
# numbers, register layouts and its own filters are x86_64's; HostSupport refuses other hosts), so a binary for
# another RID would refuse run, learn, dump and features. Other RIDs are refused here until that changes.
# Needs the .NET 10 SDK (restore fetches the ILCompiler packages from NuGet) and, to link, gcc or clang with
# libc6-dev, plus objcopy (binutils) to strip symbols. zlib1g-dev is not needed: the runtime's zlib is built in.
# Takes about a minute on 2 cores (ILC compiles the CLI, the libraries and the framework parts they use).
# One build at a time per checkout (flock on artifacts/.build.lock: publishes share obj/). The binary is replaced by a
# rename, so a seccompkit still running the old one is not disturbed; DIR/.built records when the build started.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage="usage: ./build-aot.sh [linux-x64 [OUTPUT-DIR]]   (publishes the seccompkit NativeAOT binary; default OUTPUT-DIR artifacts/aot)"
case "${1:-}" in -h|--help) echo "$usage"; exit 0 ;; esac
rid="${1:-linux-x64}"
out="${2:-$here/artifacts/aot}"
if [ "$rid" != linux-x64 ]; then
  echo "build-aot.sh: runtime identifier '$rid' is not supported: SeccompKit's kernel layer supports only x86_64 Linux hosts today, so the only target is linux-x64. On other hosts the pure core works through the JIT build (SECCOMPKIT_JIT=1 ./seccompkit compile|convert|check|emulate ...)." >&2
  echo "$usage" >&2
  exit 2
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "build-aot.sh: this host is $(uname -m), and SeccompKit's kernel layer supports only x86_64 Linux hosts today, so a linux-x64 binary would not run here. The pure core works through the JIT build (SECCOMPKIT_JIT=1 ./seccompkit compile|convert|check|emulate ...)." >&2
  exit 2
fi
mkdir -p "$here/artifacts" "$out"
# ./seccompkit takes the lock itself (it checks staleness under it) and says so with SECCOMPKIT_BUILD_LOCK_HELD=1.
if [ "${SECCOMPKIT_BUILD_LOCK_HELD:-}" != 1 ]; then
  exec 9> "$here/artifacts/.build.lock"
  flock 9
fi
# The ILCompiler links with clang, else gcc; without either it fails only after compiling for a minute.
if ! command -v clang > /dev/null && ! command -v gcc > /dev/null; then
  echo "build-aot.sh: NativeAOT links the binary with a C compiler and neither clang nor gcc is installed; install one (Debian: apt-get install gcc libc6-dev binutils)" >&2
  exit 1
fi
started="$(date +%s.%N)"
staging="$out/.publish"
rm -rf "$staging"
# 9>&-: MSBuild and compiler server processes outlive the publish and must not hold the lock.
dotnet publish "$here/src/SeccompKit.Cli" -c Release -r "$rid" -o "$staging" --nologo -v q 9>&-
# seccompkit-stage: the launcher's stage two alone, which run and learn start instead of a second copy of the CLI
# (StageCommand.Default looks for it beside seccompkit; it starts in about a quarter of the CLI's time).
dotnet publish "$here/src/SeccompKit.Stage" -c Release -r "$rid" -o "$staging" --nologo -v q 9>&-
for f in seccompkit seccompkit-stage; do
  test -x "$staging/$f" || { echo "build-aot.sh: dotnet publish did not write $staging/$f" >&2; exit 1; }
done
# The stage first: a seccompkit started in between finds the new stage (whose wire format it checks) or the old one.
mv -f "$staging/seccompkit-stage" "$out/seccompkit-stage"
mv -f "$staging/seccompkit" "$out/seccompkit"
rm -rf "$staging" "$out/.failed"
touch -d "@$started" "$out/.built"
echo "$out/seccompkit ($(stat -c %s "$out/seccompkit") bytes), $out/seccompkit-stage ($(stat -c %s "$out/seccompkit-stage") bytes)"
