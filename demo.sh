#!/usr/bin/env bash
# The main job: learn the minimal profile of a real program (user notification; no root, no ptrace), run the
# program under it (same output, nothing refused), see it refuse what the program never did, and complain mode.
# Then run real programs under Docker's default seccomp profile (compiled by
# SeccompKit, installed fail-closed by `seccompkit run`), watch a policy kill a program and name the syscall;
# then compile the profile the way runc reads it, see what the filter costs and what the kernel's action
# cache keeps, convert it to the policy language and back; then take the filter libseccomp compiles from the
# same profile, check it like the kernel, read it, and ask what the kernel would do with real system calls.
# Run as root (the kill report reads the kernel's audit records).
set -euo pipefail
cd "$(dirname "$0")"
filter=bench/data/docker-default.bpf
sk=./seccompkit # the NativeAOT binary (published on first use, about a minute)
# The demo's own outputs start afresh each time: seccompkit replaces an existing -o file only with --force, and a
# demo should show the plain commands.
mkdir -p artifacts
rm -f artifacts/tar.json artifacts/profiles.tgz artifacts/profiles2.tgz artifacts/docker-seccompkit.bpf artifacts/docker-default.policy \
  artifacts/docker-default.oci.json artifacts/docker-default.roundtrip.bpf

echo "== seccompkit learn -o artifacts/tar.json -- tar czf artifacts/profiles.tgz data/profiles"
$sk learn -o artifacts/tar.json -- tar czf artifacts/profiles.tgz data/profiles
echo
echo "== seccompkit run --profile artifacts/tar.json -- tar czf ... (the learned profile; default action EPERM)"
$sk run --profile artifacts/tar.json -- tar czf artifacts/profiles2.tgz data/profiles && echo "tar: exit 0, archives identical: $(cmp -s artifacts/profiles.tgz artifacts/profiles2.tgz && echo yes || echo no)"
echo
echo "== the tar profile refuses what tar never did (mkdir), and complain mode shows what it would refuse"
set +e
$sk run --profile artifacts/tar.json -- /bin/mkdir artifacts/never
echo "exit status: $?"
set -e
rm -rf artifacts/complained
$sk run --complain --profile artifacts/tar.json -- /bin/mkdir artifacts/complained

echo
echo "== seccompkit features (asked of the running kernel)"
$sk features

echo
echo "== seccompkit run --profile data/profiles/docker-default.json -- ls -la data/profiles"
$sk run --profile data/profiles/docker-default.json -q -- ls -la data/profiles
echo
echo "== the same profile: python3 runs, and syslog (needs CAP_SYSLOG in Docker's profile) is refused with EPERM"
$sk run --profile data/profiles/docker-default.json -q -- python3 -c \
  'import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); print(sys.version.split()[0], "syslog:", libc.syscall(103, 10, None, 0), ctypes.get_errno())'

echo
echo "== a policy that kills personality: run names the syscall and exits 159"
printf 'default allow\nkill-process { personality }\n' > artifacts/no-personality.policy
set +e
$sk run --policy artifacts/no-personality.policy -- python3 -c 'import ctypes; print("calling personality"); ctypes.CDLL(None).personality(0xffffffff)'
echo "exit status: $?"
set -e

echo
echo "== --log: every refused syscall of the program and its children"
printf 'default allow\nerrno(EPERM) { mkdir, mkdirat }\n' > artifacts/no-mkdir.policy
$sk run --policy artifacts/no-mkdir.policy --log -- sh -c 'mkdir artifacts/x 2>/dev/null; mkdir artifacts/y 2>/dev/null; echo done'

echo
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
