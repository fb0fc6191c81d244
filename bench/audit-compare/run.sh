#!/usr/bin/env bash
# Side by side: seccomp-tools `audit` and `seccompkit lint` on the same raw BPF filters.
#
# A documented ONE-OFF comparison with recorded results (bench/results/audit-compare.md and .json), not a test:
# nothing in CI (.ci/run) or in the test suites runs it or depends on Ruby. docs/LINT.md ("Side by side with
# seccomp-tools audit") quotes its results.
#
# Usage:
#   SECCOMP_TOOLS_DIR=/tmp/seccomp-tools bench/audit-compare/run.sh
#
# Inputs:
#   SECCOMP_TOOLS_DIR  seccomp-tools' source tree, unmodified: github.com/david942j/seccomp-tools at tag v1.7.1
#                      (commit 8581b7b). E.g. `git clone -b v1.7.1 https://github.com/david942j/seccomp-tools`, or from
#                      a bare mirror: `git -C MIRROR archive 8581b7b | tar -x -C /tmp/seccomp-tools`. It is copied to a
#                      scratch directory first and run from source (`ruby -I lib bin/seccomp-tools`); no gem install.
#   SECCOMP_TOOLS_COMMIT  the commit to record when SECCOMP_TOOLS_DIR is an archive rather than a git checkout.
#   SECCOMPKIT         the NativeAOT CLI (default artifacts/aot/seccompkit; ./build-aot.sh makes it).
# Needs (Debian 12): ruby (3.1; seccomp-tools' runtime deps logger and racc are in its stdlib), ruby-dev, gcc and make
# (seccomp-tools loads its ptrace C extension at start-up even for BPF files, so it is compiled from ext/ptrace),
# libseccomp-dev and libjansson-dev (native/libseccomp-launch, the libseccomp compilation of the OCI profiles),
# python3 (the report).
#
# Ruby 3.1.2 (Debian 12's) cannot parse one file of seccomp-tools 1.7.1: lib/seccomp-tools/cli/dumpable.rb forwards an
# anonymous block (`&`) from a method with keyword arguments, which Ruby 3.1.2 rejects ("no anonymous block
# parameter"). The copy gets that one method's `&` renamed to `&block` (same meaning; only dumping a live process uses
# it) when, and only when, `ruby -c` refuses the file. The report records whether the patch was applied.
#
# Filters (the manifest is written to the scratch directory, then to the JSON):
#   - Docker's and podman's default profiles (data/profiles) compiled by seccompkit (`seccompkit compile`, x86_64
#     host, the engines' default capabilities) and by libseccomp 2.5.4 (`seccompkit convert --to oci`, then
#     native/libseccomp-launch --export, which builds the filter the way runc does; runc would prepend its ENOSYS stub,
#     which this export does not have);
#   - a learned profile (bench/audit-compare/filters/sh-ls-wc.learned.json, recorded with
#     `seccompkit learn -o FILE -- /bin/sh -c 'ls / | wc -l'`) compiled by seccompkit;
#   - seccomp-tools' own spec programs (data/peers/st/*.bpf; arch per data/peers/st.tsv);
#   - hand-written weak filters, one or more per audit check (bench/audit-compare/filters/*.asm, `seccompkit asm`).
# seccomp-tools runs as `audit --format json -a ARCH FILE` (ARCH from the filter: amd64, i386, aarch64, riscv64, s390x;
# without -a it takes the host's), seccompkit as `lint FILE --format json --fail-on never`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/bench/audit-compare"
: "${SECCOMP_TOOLS_DIR:?set SECCOMP_TOOLS_DIR to seccomp-tools v1.7.1 source (see the header of this script)}"
SECCOMPKIT=${SECCOMPKIT:-$repo/artifacts/aot/seccompkit}
[ -x "$SECCOMPKIT" ] || { echo "run.sh: $SECCOMPKIT is missing: run ./build-aot.sh or set SECCOMPKIT" >&2; exit 2; }
[ -f "$SECCOMP_TOOLS_DIR/bin/seccomp-tools" ] || { echo "run.sh: $SECCOMP_TOOLS_DIR/bin/seccomp-tools not found" >&2; exit 2; }
for tool in ruby gcc make python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (Debian: apt-get install ruby ruby-dev gcc make python3)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/audit-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/filters" "$work/out"

echo "== seccomp-tools: copy, Ruby 3.1 check, ptrace extension"
cp -r "$SECCOMP_TOOLS_DIR" "$work/st"
st_patched=no
dumpable="$work/st/lib/seccomp-tools/cli/dumpable.rb"
if ! ruby -c "$dumpable" >/dev/null 2>&1; then
  # The three lines of dump_seccomp that forward the anonymous block (see the header).
  sed -i -e 's/^\(      def dump_seccomp(command:, pid:, limit:, timeout:, \)&)$/\1\&block)/' \
         -e 's/^\(                    dump_seccomp_by_pid(pid, limit, \)&)$/\1\&block)/' \
         -e "s/^\(                    SeccompTools::Dumper.dump('\/bin\/sh', '-c', command, limit:, timeout:, \)&)\$/\1\&block)/" \
         "$dumpable"
  ruby -c "$dumpable" >/dev/null || { echo "run.sh: $dumpable still does not parse under $(ruby -v)" >&2; exit 1; }
  st_patched=yes
fi
for f in $(find "$work/st/lib" -name '*.rb'); do
  ruby -c "$f" >/dev/null 2>&1 || { echo "run.sh: $f does not parse under $(ruby -v)" >&2; exit 1; }
done
mkdir -p "$work/ext/lib/seccomp-tools"
(cd "$work/ext" && ruby "$work/st/ext/ptrace/extconf.rb" >/dev/null && make >/dev/null) \
  || { echo "run.sh: building seccomp-tools' ptrace extension failed (Debian: apt-get install ruby-dev gcc make)" >&2; exit 1; }
cp "$work/ext/ptrace.so" "$work/ext/lib/seccomp-tools/ptrace.so"
st() { ruby -I "$work/st/lib" -I "$work/ext/lib" "$work/st/bin/seccomp-tools" "$@"; }
st_version=$(ruby -I "$work/st/lib" -e 'require "seccomp-tools/version"; print SeccompTools::VERSION')
st_commit=$(git -C "$SECCOMP_TOOLS_DIR" rev-parse HEAD 2>/dev/null || echo "${SECCOMP_TOOLS_COMMIT:-unknown (not a git checkout; set SECCOMP_TOOLS_COMMIT)}")
echo "seccomp-tools $st_version ($st_commit), $(ruby -v), dumpable.rb patched: $st_patched"

echo "== native/libseccomp-launch (libseccomp's compilation of the OCI profiles)"
launcher="$work/libseccomp-launch"
gcc -O2 -Wall -Wextra -Werror -o "$launcher" "$repo/native/libseccomp-launch.c" -lseccomp -ljansson \
  || { echo "run.sh: building native/libseccomp-launch failed (Debian: apt-get install libseccomp-dev libjansson-dev)" >&2; exit 1; }
libseccomp_version=$(pkg-config --modversion libseccomp 2>/dev/null || echo unknown)

echo "== filters"
manifest="$work/manifest.tsv"
: > "$manifest"
add() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$manifest"; }  # name file arch group origin
for profile in docker podman; do
  src="$repo/data/profiles/$profile-default.json"
  "$SECCOMPKIT" compile "$src" -q -o "$work/filters/$profile-seccompkit.bpf" 2>/dev/null
  add "$profile-seccompkit" "$work/filters/$profile-seccompkit.bpf" x86_64 profiles \
    "data/profiles/$profile-default.json, seccompkit compile (x86_64 host, default capabilities)"
  "$SECCOMPKIT" convert "$src" --to oci -o "$work/filters/$profile-oci.json" 2>/dev/null
  "$launcher" --export "$work/filters/$profile-libseccomp.bpf" "$work/filters/$profile-oci.json"
  add "$profile-libseccomp" "$work/filters/$profile-libseccomp.bpf" x86_64 profiles \
    "data/profiles/$profile-default.json, seccompkit convert --to oci, libseccomp $libseccomp_version (native/libseccomp-launch --export)"
done
for learned in "$here"/filters/*.learned.json; do
  name=$(basename "$learned" .learned.json)
  "$SECCOMPKIT" compile "$learned" -q -o "$work/filters/$name-learned.bpf" 2>/dev/null
  add "$name-learned" "$work/filters/$name-learned.bpf" x86_64 learned \
    "bench/audit-compare/filters/$(basename "$learned"), seccompkit compile"
done
while IFS=$'\t' read -r file arch origin; do
  case "$file" in '#'*|'') continue ;; esac
  [ -f "$repo/data/peers/st/$file" ] || continue
  add "st/${file%.bpf}" "$repo/data/peers/st/$file" "$arch" seccomp-tools-spec "seccomp-tools $origin"
done < "$repo/data/peers/st.tsv"
for asm in "$here"/filters/*.asm; do
  name=$(basename "$asm" .asm)
  "$SECCOMPKIT" asm "$asm" -o "$work/filters/$name.bpf" 2>/dev/null
  add "$name" "$work/filters/$name.bpf" x86_64 hand-written "bench/audit-compare/filters/$name.asm"
done
echo "$(wc -l < "$manifest") filters"

echo "== running both tools"
i=0
while IFS=$'\t' read -r name file arch group origin; do
  i=$((i + 1))
  case "$arch" in x86_64) st_arch=amd64 ;; x86) st_arch=i386 ;; *) st_arch=$arch ;; esac
  base="$work/out/$i"
  st_file=$file
  if [ "$arch" = s390x ]; then
    # data/peers/st keeps every program in host (little-endian) order, as the kernel and seccompkit read it;
    # seccomp-tools reads an s390x file in s390x's own order (big-endian), so it gets each field swapped.
    st_file="$work/filters/$i.be.bpf"
    python3 -c 'import struct,sys
d=open(sys.argv[1],"rb").read()
open(sys.argv[2],"wb").write(b"".join(struct.pack(">HBBI",*struct.unpack_from("<HBBI",d,o)) for o in range(0,len(d),8)))' \
      "$file" "$st_file"
  fi
  set +e
  st audit --format json -a "$st_arch" "$st_file" > "$base.audit.json" 2> "$base.audit.err"
  echo $? > "$base.audit.rc"
  "$SECCOMPKIT" lint "$file" --format json --fail-on never > "$base.lint.json" 2> "$base.lint.err"
  echo $? > "$base.lint.rc"
  set -e
  printf '%-34s audit rc=%s lint rc=%s\n' "$name" "$(cat "$base.audit.rc")" "$(cat "$base.lint.rc")"
done < "$manifest"

mkdir -p "$repo/bench/results"
python3 "$here/report.py" --manifest "$manifest" --out-dir "$work/out" \
  --json "$repo/bench/results/audit-compare.json" --md "$repo/bench/results/audit-compare.md" \
  --st-version "$st_version" --st-commit "$st_commit" --st-patched "$st_patched" --ruby "$(ruby -v)" \
  --seccompkit "$("$SECCOMPKIT" --version)" --libseccomp "$libseccomp_version" --repo "$repo"
echo "wrote bench/results/audit-compare.md and .json"
