#!/bin/sh
# Builds the native helpers of the differential tests and benchmarks (outputs in native/build/, gitignored):
#   seccomp-probe       forks children that install filters and issue syscalls (tests/SeccompKit.Linux.Tests/Kernel)
#   libseccomp-compile  compiles a flat policy text with libseccomp (tests/.../Compiler, bench/compiler); needs libseccomp-dev
#   seccomp-hold        a process with known filters that waits for commands: the victim of the dump tests (tests/.../Inspect)
#   libseccomp-launch   reads an OCI seccomp profile, compiles it with libseccomp, loads it, execs a program: the C
#                       anchor of bench/launch; needs libseccomp-dev and libjansson-dev
#   syscall-cost        installs a raw filter and times harmless syscalls in ns/call (bench/launch)
#   notify-rtt          the target of the notification round-trip benchmark and its C anchor, a libseccomp notify
#                       loop (bench/learn; tests/.../Supervise/NotifyRttSpecs); needs libseccomp-dev
set -eu
cd "$(dirname "$0")/.."
mkdir -p native/build
gcc -O2 -Wall -Werror -o native/build/seccomp-probe native/seccomp-probe.c
gcc -O2 -Wall -Werror -o native/build/libseccomp-compile native/libseccomp-compile.c -lseccomp
gcc -O2 -Wall -Werror -pthread -o native/build/seccomp-hold native/seccomp-hold.c
gcc -O2 -Wall -Wextra -Werror -o native/build/libseccomp-launch native/libseccomp-launch.c -lseccomp -ljansson
gcc -O2 -Wall -Wextra -Werror -o native/build/syscall-cost native/syscall-cost.c
gcc -O2 -Wall -Wextra -Werror -o native/build/notify-rtt native/notify-rtt.c -lseccomp -lpthread
