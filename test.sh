#!/usr/bin/env bash
# Runs every test SeccompKit has: the generated-tables check, the native probe build, and all
# xunit suites (pure, kernel differential, libseccomp interop, CLI). Needs root for the kernel tests
# (CI runs as root). Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
root=$PWD
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

echo "== dotnet test (Microsoft.Testing.Platform, xunit v3)"
log="$artifacts/test-results/dotnet-test.log"
dotnet test --solution SeccompKit.slnx -c Release --results-directory "$artifacts/test-results" \
  --report-xunit-trx --no-progress 2>&1 | tee "$log"
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
cat "$SECCOMPKIT_COUNTS_FILE"
echo
if [ "$failed" -gt 0 ]; then status=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
