#!/usr/bin/env bash
# Runs every test SeccompKit has: the generated-tables check, the native probe build, the NuGet packages (pack.sh), the NativeAOT
# binary (published, then compared with the JIT build), and all xunit suites (pure, kernel differential,
# libseccomp interop, CLI). Needs root for the kernel tests (CI runs as root). Ends with one line: "N passed, N failed, N skipped".
#
#   ./test.sh          the full run (what CI runs: .ci/run)
#   ./test.sh --quick  the edit-test loop: no NativeAOT publish, and the long suites are left out (the kernel and
#                      libseccomp differential bulk, *VsKernelSpecs and *VsLibseccompSpecs; the container suites,
#                      *ContainerSpecs, ContainerSignalSpecs and RuncDumpSpecs). Every other test runs; the last line
#                      says the run was quick. Not a substitute for the full run before a commit.
set -uo pipefail
cd "$(dirname "$0")"
root=$PWD
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: ./test.sh [--quick]" >&2; exit 2 ;;
esac
# The classes --quick leaves out (xunit v3 --filter-not-class; a leading * matches the namespace).
quick_excluded=("*VsKernelSpecs" "*VsLibseccompSpecs" "*ContainerSpecs" "*.ContainerSignalSpecs" "*.RuncDumpSpecs")
artifacts="$root/artifacts"
rm -rf "$artifacts/test-results"
mkdir -p "$artifacts/test-results"
export SECCOMPKIT_COUNTS_FILE="$artifacts/test-counts.txt"
: > "$SECCOMPKIT_COUNTS_FILE"

status=0
extra_passed=0
extra_failed=0

echo "== generated syscall tables are up to date (tools/GenerateSyscallTables --check)"
if dotnet run --project tools/GenerateSyscallTables -c Release -- --check; then
  extra_passed=$((extra_passed+1))
else
  extra_failed=$((extra_failed+1)); status=1
fi

echo "== native probe (native/build.sh)"
if bash native/build.sh; then
  extra_passed=$((extra_passed+1))
else
  extra_failed=$((extra_failed+1)); status=1
fi

echo "== NativeAOT binary (build-aot.sh): publish, then the same output as the JIT build"
# One check: the AOT binary starts, ./seccompkit runs it (without rebuilding), and on the Docker profile and a
# libseccomp filter every command below writes byte for byte what the JIT build (SECCOMPKIT_JIT=1 ./seccompkit, i.e.
# dotnet artifacts/cli/SeccompKit.Cli.dll) writes, with the same exit code.
jit() { SECCOMPKIT_JIT=1 "$root/seccompkit" "$@"; }
aot_smoke() {
  local aot="$artifacts/aot/seccompkit" jit=jit tmp="$artifacts/aot-smoke" start=$SECONDS ok=0 exe se
  bash build-aot.sh linux-x64 "$artifacts/aot" || return 1
  echo "   published in $((SECONDS - start)) s"
  "$aot" --version || return 1
  rm -rf "$tmp"; mkdir -p "$tmp"
  # x86_64 only, said plainly: another RID is refused before anything is built.
  if bash build-aot.sh linux-arm64 "$tmp/arm64" 2> "$tmp/rid.err" > /dev/null; then echo "   build-aot.sh accepted linux-arm64" >&2; ok=1
  elif grep -q "supports only x86_64 Linux hosts today" "$tmp/rid.err"; then echo "   build-aot.sh refuses linux-arm64"; else cat "$tmp/rid.err" >&2; ok=1; fi
  # The program's parent is the seccompkit process that launched it: the NativeAOT binary, and nothing was rebuilt.
  # shellcheck disable=SC2016 # $PPID is the program's
  exe=$("$root/seccompkit" run -q --profile data/profiles/docker-default.json -- sh -c 'readlink /proc/$PPID/exe' 2> "$tmp/wrapper.err")
  if [ "$exe" = "$aot" ] && [ ! -s "$tmp/wrapper.err" ]; then echo "   ./seccompkit runs $exe"; else
    echo "   ./seccompkit ran '$exe', not $aot; its stderr:" >&2; cat "$tmp/wrapper.err" >&2; ok=1; fi
  # Stage two is the dedicated seccompkit-stage published beside it (not a second copy of the CLI), and a stage others
  # could replace is refused with exit 125 before anything runs.
  if strace -f -qq -e trace=execve -o "$tmp/execve.txt" "$aot" run -q --profile data/profiles/docker-default.json -- /bin/true &&
     grep -q "execve(\"$artifacts/aot/seccompkit-stage\", \[.*\"__seccompkit-stage2\"" "$tmp/execve.txt"; then
    echo "   run's stage two is $artifacts/aot/seccompkit-stage"
  else echo "   run's stage two was not seccompkit-stage:" >&2; grep execve "$tmp/execve.txt" >&2; ok=1; fi
  mkdir -p "$tmp/shared" && cp "$aot" "$artifacts/aot/seccompkit-stage" "$tmp/shared/" && chmod o+w "$tmp/shared/seccompkit-stage"
  "$tmp/shared/seccompkit" run -q --profile data/profiles/docker-default.json -- touch "$tmp/shared/ran" 2> "$tmp/shared.err"; se=$?
  if [ "$se" -eq 125 ] && [ ! -e "$tmp/shared/ran" ] && grep -q "can be written by anyone" "$tmp/shared.err"; then
    echo "   a seccompkit-stage others can write is refused (exit 125), the program not run"
  else echo "   a seccompkit-stage others can write: exit $se, ran: $([ -e "$tmp/shared/ran" ] && echo yes || echo no)" >&2; cat "$tmp/shared.err" >&2; ok=1; fi
  SECCOMPKIT_JIT=1 "$root/seccompkit" --version > /dev/null || return 1 # builds artifacts/cli if a source changed
  "$aot" compile data/profiles/docker-default.json -o "$tmp/aot.bpf" -q 2> /dev/null || return 1
  "$jit" compile data/profiles/docker-default.json -o "$tmp/jit.bpf" -q 2> /dev/null || return 1
  if cmp "$tmp/aot.bpf" "$tmp/jit.bpf"; then echo "   compiled Docker filter: identical ($(stat -c %s "$tmp/aot.bpf") bytes)"; else ok=1; fi
  local cases=(
    "compile data/profiles/docker-default.json --report"
    "compile data/profiles/docker-default.json --report-json"
    "compile data/profiles/podman-default.json --from podman --format pseudo-c -o -"
    "convert data/profiles/docker-default.json"
    "convert data/profiles/docker-default.json --to oci"
    "disasm bench/data/docker-default.bpf"
    "check bench/data/docker-default.bpf --format json"
    "emulate bench/data/docker-default.bpf --all --format json"
    "emulate bench/data/docker-default.bpf --syscall personality --args 0xffffffff"
    "run --profile data/profiles/docker-default.json -q -- /bin/echo launched"
    "run --profile data/profiles/docker-default.json -q -- unshare -U true"
    "merge data/profiles/docker-default.json data/profiles/podman-default.json --default-action errno(EPERM) --report-json -q"
    "merge data/profiles/docker-default.json data/profiles/podman-default.json --default-action errno(EPERM) --to policy"
    "merge data/profiles/docker-default.json data/profiles/podman-default.json"
    "compile does-not-exist.json -o -"
    "emulate"
  )
  local c ea ej
  for c in "${cases[@]}"; do
    # shellcheck disable=SC2086 # each case is a word list
    "$aot" $c > "$tmp/aot.out" 2> "$tmp/aot.err"; ea=$?
    # shellcheck disable=SC2086
    "$jit" $c > "$tmp/jit.out" 2> "$tmp/jit.err"; ej=$?
    if [ "$ea" -eq "$ej" ] && cmp -s "$tmp/aot.out" "$tmp/jit.out" && cmp -s "$tmp/aot.err" "$tmp/jit.err"; then
      echo "   same as JIT (exit $ea): seccompkit $c"
    else
      echo "   DIFFERS from JIT (exit $ea vs $ej): seccompkit $c" >&2
      diff "$tmp/jit.out" "$tmp/aot.out" | head -5 >&2; diff "$tmp/jit.err" "$tmp/aot.err" | head -5 >&2
      ok=1
    fi
  done
  return $ok
}
if [ "$quick" -eq 1 ]; then
  echo "   left out (--quick)"
elif aot_smoke; then
  extra_passed=$((extra_passed+1))
else
  extra_failed=$((extra_failed+1)); status=1
fi

echo "== NuGet packages (pack.sh): SeccompKit, SeccompKit.Linux and the seccompkit tool, used from artifacts/packages"
# One check: the three packages (README, XML docs, one version), samples/PackageConsumer restored from that folder only,
# built and run, and the tool installed from it.
if bash pack.sh; then
  extra_passed=$((extra_passed+1))
else
  extra_failed=$((extra_failed+1)); status=1
fi

echo "== dotnet test (Microsoft.Testing.Platform, xunit v3)"
log="$artifacts/test-results/dotnet-test.log"
filters=()
if [ "$quick" -eq 1 ]; then
  for c in "${quick_excluded[@]}"; do filters+=(--filter-not-class "$c"); done
  echo "   --quick: leaving out ${quick_excluded[*]}"
fi
dotnet test --solution SeccompKit.slnx -c Release --results-directory "$artifacts/test-results" \
  --report-xunit-trx --no-progress "${filters[@]}" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# The run ends with "Test run summary" and total/failed/succeeded/skipped lines.
summary=$(sed -n '/Test run summary/,$p' "$log")
passed=$(sed -n 's/^ *succeeded: *\([0-9]*\).*/\1/p' <<<"$summary" | tail -1)
failed=$(sed -n 's/^ *failed: *\([0-9]*\).*/\1/p' <<<"$summary" | tail -1)
skipped=$(sed -n 's/^ *skipped: *\([0-9]*\).*/\1/p' <<<"$summary" | tail -1)
if [ -z "$passed" ] || [ -z "$failed" ]; then
  echo "no test summary was printed (build failure?)" >&2
  passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
  extra_failed=$((extra_failed+1)); status=1
fi
passed=$((passed + extra_passed))
failed=$((failed + extra_failed))

echo
echo "== case counts of the differential suites"
if [ "$quick" -eq 1 ] && [ ! -s "$SECCOMPKIT_COUNTS_FILE" ]; then echo "(none: --quick leaves the differential suites out)"; else cat "$SECCOMPKIT_COUNTS_FILE"; fi
echo
if [ "$failed" -gt 0 ]; then status=1; fi
if [ "$quick" -eq 1 ]; then
  echo "quick run (--quick): no NativeAOT publish; left out: ${quick_excluded[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
