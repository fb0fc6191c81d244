#!/usr/bin/env bash
# Packs SeccompKit, SeccompKit.Linux and the seccompkit .NET tool (SeccompKit.Cli) into artifacts/packages, then proves
# the packages work as a NuGet user gets them: samples/PackageConsumer restores SeccompKit + SeccompKit.Linux from that
# folder only (its nuget.config maps SeccompKit* to it; a fresh packages folder, so no cached copy of an older pack is
# used), builds and runs (Docker's profile compiled; on x86_64 Linux the process filtered so mkdir fails), and the tool
# installs from the folder and answers --version. The version comes from Directory.Build.props (one place).
#   ./pack.sh            # pack and check
# Exit 0 when all of it worked; the packages stay in artifacts/packages.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
out="$here/artifacts/packages"
work="$here/artifacts/package-consumer"
version="$(dotnet msbuild src/SeccompKit/SeccompKit.csproj -getProperty:Version -nologo)"
start=$SECONDS
rm -rf "$out" "$work"
mkdir -p "$out" "$work"
for p in src/SeccompKit src/SeccompKit.Linux src/SeccompKit.Cli; do
  dotnet pack "$p" -c Release -o "$out" --nologo -v q
done
# has PACKAGE ENTRY: whether the .nupkg (a zip) holds that file (python3: CI installs it, unzip it does not).
has() { python3 -c 'import sys, zipfile; sys.exit(0 if sys.argv[2] in zipfile.ZipFile(sys.argv[1]).namelist() else 1)' "$1" "$2"; }
echo "packed $version in $((SECONDS - start)) s:"
for id in SeccompKit SeccompKit.Linux SeccompKit.Cli; do
  nupkg="$out/$id.$version.nupkg"
  test -f "$nupkg" || { echo "pack.sh: $nupkg was not written" >&2; exit 1; }
  # Each package carries its README, and the libraries their XML docs.
  has "$nupkg" README.md || { echo "pack.sh: $id has no README.md" >&2; exit 1; }
  case "$id" in SeccompKit|SeccompKit.Linux)
    has "$nupkg" "lib/net10.0/$id.xml" || { echo "pack.sh: $id has no XML documentation" >&2; exit 1; } ;;
  esac
  echo "  $(basename "$nupkg") ($(stat -c %s "$nupkg") bytes)"
done

sample="$here/samples/PackageConsumer"
# --packages: a fresh folder, so the restore really reads what was just packed (the global cache keeps a version forever).
dotnet build "$sample/PackageConsumer.csproj" -c Release --nologo -v q -p:SeccompKitVersion="$version" \
  --packages "$work/packages" -o "$work/bin" -p:BaseIntermediateOutputPath="$work/obj/"
ls "$work/packages/seccompkit/$version" "$work/packages/seccompkit.linux/$version" > /dev/null
output="$(dotnet "$work/bin/PackageConsumer.dll" data/profiles/docker-default.json)"
echo "$output" | sed 's/^/  sample: /'
grep -q "^docker-default: [0-9]* rules, [0-9]* instructions$" <<<"$output" || { echo "pack.sh: the sample did not compile the profile" >&2; exit 1; }
if [ "$(uname -m)" = x86_64 ]; then
  grep -q "mkdir refused with EPERM" <<<"$output" || { echo "pack.sh: the sample's filter did not refuse mkdir" >&2; exit 1; }
fi

# The sample's nuget.config maps SeccompKit.* to artifacts/packages only; NUGET_PACKAGES: a fresh cache here too.
NUGET_PACKAGES="$work/packages" dotnet tool install SeccompKit.Cli --version "$version" --tool-path "$work/tool" \
  --configfile "$sample/nuget.config" > /dev/null
tool_version="$("$work/tool/seccompkit" --version)"
[ "${tool_version%%+*}" = "$version" ] || { echo "pack.sh: the installed tool says $tool_version, not $version" >&2; exit 1; }
echo "  tool: seccompkit --version: $tool_version"
echo "packed, restored from artifacts/packages, built and ran in $((SECONDS - start)) s"
