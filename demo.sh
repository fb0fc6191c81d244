#!/usr/bin/env bash
# The main job until `learn` and `run` exist: compile Docker's default seccomp profile the way runc
# reads it, see what the filter costs and what the kernel's action cache keeps, convert it to the
# policy language and back; then take the filter libseccomp compiles from the same profile, check it
# like the kernel, read it, and ask what the kernel would do with real system calls.
set -euo pipefail
cd "$(dirname "$0")"
filter=bench/data/docker-default.bpf
sk=./seccompkit
mkdir -p artifacts

echo "== seccompkit compile data/profiles/docker-default.json --report (x86_64 host, Docker's default caps)"
$sk compile data/profiles/docker-default.json -q -o artifacts/docker-seccompkit.bpf --report
echo "(libseccomp's filter of the same profile: $(( $(stat -c %s "$filter") / 8 )) instructions)"

echo
echo "== seccompkit convert: Docker JSON -> policy language (first 25 lines) -> OCI JSON"
$sk convert data/profiles/docker-default.json -q -o artifacts/docker-default.policy
head -n 25 artifacts/docker-default.policy
$sk convert artifacts/docker-default.policy -o artifacts/docker-default.oci.json
echo "... OCI JSON in artifacts/docker-default.oci.json"

echo
echo "== seccompkit compile --format pseudo-c (personality's argument checks)"
$sk compile artifacts/docker-default.policy --format pseudo-c -o - | grep -A7 -m1 "nr == personality"

echo
echo "== seccompkit check $filter"
$sk check "$filter"

echo
echo "== seccompkit disasm $filter (first 30 lines)"
$sk disasm "$filter" > artifacts/docker-default.txt
head -n 30 artifacts/docker-default.txt
echo "... ($(wc -l < artifacts/docker-default.txt) lines in artifacts/docker-default.txt)"

echo
echo "== the listing assembles back to the same bytes"
$sk asm artifacts/docker-default.txt -o artifacts/docker-default.roundtrip.bpf
cmp "$filter" artifacts/docker-default.roundtrip.bpf && echo "identical"

echo
echo "== seccompkit emulate: read on x86_64"
$sk emulate "$filter" --arch x86_64 --syscall read --args 0,0x1000,64 --no-path
echo
echo "== seccompkit emulate: mount on x86_64 (no CAP_SYS_ADMIN in Docker's default)"
$sk emulate "$filter" --arch x86_64 --syscall mount --no-path
echo
echo "== seccompkit emulate: personality(0xffffffff) is allowed, personality(0x1) is not"
$sk emulate "$filter" --syscall personality --args 0xffffffff --no-path
$sk emulate "$filter" --syscall personality --args 0x1 --no-path
echo
echo "== seccompkit emulate: socketcall via int 0x80 (x86 ABI)"
$sk emulate "$filter" --arch x86 --syscall socketcall --args 1 --no-path
echo
echo "== seccompkit emulate --all --arch x86_64 (summary on stderr)"
$sk emulate "$filter" --all --arch x86_64 > artifacts/docker-default.x86_64.txt
echo "table in artifacts/docker-default.x86_64.txt"
