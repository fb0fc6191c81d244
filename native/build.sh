#!/bin/sh
# Builds the native helpers of the differential tests and benchmarks (outputs in native/build/, gitignored):
#   seccomp-probe       forks children that install filters and issue syscalls (tests/SeccompKit.Linux.Tests/Kernel)
#   libseccomp-compile  compiles a flat policy text with libseccomp (tests/.../Compiler, bench/compiler); needs libseccomp-dev
#   seccomp-hold        a process with known filters that waits for commands: the victim of the dump tests (tests/.../Inspect)
set -eu
cd "$(dirname "$0")/.."
mkdir -p native/build
gcc -O2 -Wall -Werror -o native/build/seccomp-probe native/seccomp-probe.c
gcc -O2 -Wall -Werror -o native/build/libseccomp-compile native/libseccomp-compile.c -lseccomp
gcc -O2 -Wall -Werror -o native/build/seccomp-hold native/seccomp-hold.c
