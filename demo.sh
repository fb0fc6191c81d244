#!/usr/bin/env bash
# The main job until `learn` and `run` exist: take a real filter — Docker's default seccomp profile
# as libseccomp compiles it for amd64 (x86_64, x86, x32) — check it like the kernel, read it, and
# ask what the kernel would do with real system calls.
set -euo pipefail
cd "$(dirname "$0")"
filter=bench/data/docker-default.bpf
sk=./seccompkit
mkdir -p artifacts

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
