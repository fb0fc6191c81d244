#!/usr/bin/env bash
# Records a real x86_64 syscall mix once, for the compiler benchmark's weighted path lengths: runs four
# everyday workloads (find, tar, python3, git) under `strace -f -qq -e trace=all` and counts the calls by
# name. Writes bench/data/syscall-mix.tsv (committed; rerun only to refresh it): one line per workload and
# syscall, "workload<TAB>syscall<TAB>calls". Needs strace, find, tar, python3, git.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/bench/data/syscall-mix.tsv"
work="$(mktemp -d /tmp/seccompkit-mix.XXXXXX)"
trap 'rm -rf "$work"' EXIT

trace() { # name, command...
  local name=$1; shift
  strace -f -qq -e trace=all -o "$work/$name.strace" "$@" > /dev/null 2>&1
}

# find: walk a large tree, stat-heavy.
trace find find /usr/share -name '*.gz' -size +1k
# tar: archive a source tree and unpack it again.
trace tar bash -c "tar -cf '$work/src.tar' -C /usr/include . && mkdir -p '$work/x' && tar -xf '$work/src.tar' -C '$work/x'"
# python3: start the interpreter, import a few modules, read and hash files, write JSON.
trace python3 python3 -c "
import hashlib, json, os, subprocess, tempfile
paths = [os.path.join(d, f) for d, _, fs in os.walk('/usr/lib/python3') for f in fs][:400]
sums = {p: hashlib.sha256(open(p, 'rb').read()).hexdigest() for p in paths if os.path.isfile(p)}
with tempfile.NamedTemporaryFile('w', delete=True) as fh: json.dump(sums, fh)
subprocess.run(['true'])
"
# git: a fresh repository with a few hundred files, commit, log, status, diff, gc.
git_dir="$work/repo"
mkdir -p "$git_dir" && cp -r /usr/include/linux "$git_dir/"
trace git bash -c "cd '$git_dir' && git init -q && git -c user.name=b -c user.email=b@b add -A && git -c user.name=b -c user.email=b@b commit -qm one \
  && echo change >> linux/types.h && git status --short && git diff --stat && git -c user.name=b -c user.email=b@b commit -qam two \
  && git log --oneline && git gc -q"

{
  echo "# x86_64 syscall mix recorded by bench/compiler/record-mix.sh on $(date -u +%Y-%m-%d) with $(strace -V | head -1), kernel $(uname -r)"
  echo "# workload	syscall	calls"
  for w in find tar python3 git; do
    # Lines look like "PID name(args...) = ret"; "<... name resumed>" continues a call already counted.
    sed -E -n 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$work/$w.strace" | sort | uniq -c | sort -k1,1nr -k2 \
      | awk -v w="$w" '{ printf "%s\t%s\t%d\n", w, $2, $1 }'
  done
} > "$out"
echo "wrote $out: $(grep -vc '^#' "$out") (workload, syscall) rows"
awk -F'\t' '!/^#/ { n[$1] += $3 } END { for (w in n) printf "  %s: %d calls\n", w, n[w] }' "$out"
