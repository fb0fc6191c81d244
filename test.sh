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

echo "== dotnet test"
dotnet test SeccompKit.slnx -c Release --logger "trx" --results-directory "$artifacts/test-results" \
  --logger "console;verbosity=minimal" || status=1

passed=0; failed=0; skipped=0
shopt -s nullglob
trx_files=("$artifacts"/test-results/*.trx)
if [ ${#trx_files[@]} -eq 0 ]; then
  echo "no test results were written (build failure?)" >&2
  status=1
fi
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  x=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  nx=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
  skipped=$((skipped + ${nx:-0}))
done
passed=$((passed + extra_passed))
failed=$((failed + extra_failed))

echo
echo "== case counts of the differential suites"
cat "$SECCOMPKIT_COUNTS_FILE"
echo
if [ "$failed" -gt 0 ]; then status=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
