#!/bin/sh
# Builds the native seccomp probe that the kernel differential tests drive
# (tests/SeccompKit.Linux.Tests/Kernel). Output: native/build/seccomp-probe (gitignored).
set -eu
cd "$(dirname "$0")/.."
mkdir -p native/build
gcc -O2 -Wall -Werror -o native/build/seccomp-probe native/seccomp-probe.c
