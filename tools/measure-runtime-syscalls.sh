#!/usr/bin/env bash
# Measures the syscalls an OCI runtime makes after it installs a container's seccomp filter (up to and including
# its execve of the container process) and writes data/runtimes/RUNTIME.json, which SeccompKit embeds
# (RuntimeSyscalls.For). Method and findings: docs/RUNTIME-SYSCALLS.md.
#
# usage: tools/measure-runtime-syscalls.sh runc|crun [--runs N]         (as root; N runs per configuration, default 100)
#        tools/measure-runtime-syscalls.sh verify runc|crun [--runs N]  checks data/runtimes/RUNTIME.json instead: every
#            configuration N times under defaultAction SCMP_ACT_KILL_PROCESS allowing only that set and /bin/true's own
#            syscalls; fails if any run is killed (the kill names the missing syscall)
#        tools/measure-runtime-syscalls.sh handoff runc|crun [--runs N]  measures which of those syscalls a seccomp-agent
#            profile must not notify (the runtime refuses it, or hangs because it makes the call before the agent has the
#            notify fd) and writes it into data/runtimes/RUNTIME.json as "beforeHandoff" (needs python3 for the agent,
#            tools/notify-continue.py)
#
# Needs: root (CAP_AUDIT_READ for the audit netlink multicast group, and to run containers), the runtime,
# busybox-static, "log" in /proc/sys/kernel/seccomp/actions_logged, the .NET SDK; python3 to read the kernel's
# lost-record counter (without it that check is skipped, with a warning). crun goes through the hybrid-cgroup
# wrapper when the host needs it (../shared/docs/OCI-RUNTIMES.md).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 [verify|handoff] runc|crun [--runs N]" >&2; exit 2; }
verify=
handoff=
if [ "${1:-}" = verify ]; then verify=1; shift; fi
if [ "${1:-}" = handoff ]; then handoff=1; shift; fi
[ $# -ge 1 ] || usage
runtime=$1; shift
case $runtime in runc|crun) ;; *) usage ;; esac
runs=100
while [ $# -gt 0 ]; do
  case $1 in
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    *) usage ;;
  esac
done

if [ "$(id -u)" != 0 ]; then echo "$0: run as root (the audit multicast group and the runtimes need it)" >&2; exit 3; fi
logged=/proc/sys/kernel/seccomp/actions_logged
if ! grep -qw log "$logged"; then
  echo "$0: $logged is '$(cat "$logged")': SCMP_ACT_LOG records are not emitted; add it: echo '$(cat "$logged") log' > $logged" >&2
  exit 3
fi
if pgrep -x auditd > /dev/null; then
  echo "$0: note: auditd runs; records still reach the multicast group, but auditd's backlog settings apply" >&2
fi

# The kernel's count of audit records dropped (backlog limit exceeded), from AUDIT_GET: struct audit_status.lost.
audit_lost() {
  python3 - <<'EOF'
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)  # NETLINK_AUDIT
s.bind((0, 0))
s.send(struct.pack("=IHHII", 16, 1000, 1, 1, 0))           # nlmsghdr: AUDIT_GET, NLM_F_REQUEST
reply = s.recv(65536)
# struct audit_status { u32 mask, enabled, failure, pid, rate_limit, backlog_limit, lost, ... }
print(struct.unpack("=7I", reply[16:16 + 28])[6])
EOF
}

lost_before=
if command -v python3 > /dev/null; then lost_before=$(audit_lost); else echo "$0: warning: no python3, the lost-record check is skipped" >&2; fi

out=data/runtimes/$runtime.json
if [ -n "$handoff" ]; then
  [ -f "$out" ] || { echo "$0: no $out; measure first (the syscalls tested come from it)" >&2; exit 3; }
  dotnet run --project tools/MeasureRuntimeSyscalls -c Release -- handoff "$runtime" --runs "$runs" --data "$out"
  exit $?
fi
if [ -n "$verify" ]; then
  [ -f "$out" ] || { echo "$0: no $out to verify; measure first" >&2; exit 3; }
  dotnet run --project tools/MeasureRuntimeSyscalls -c Release -- verify "$runtime" --runs "$runs" --data "$out"
  exit $?
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
dotnet run --project tools/MeasureRuntimeSyscalls -c Release -- "$runtime" --runs "$runs" --out "$tmp"

if [ -n "$lost_before" ]; then
  lost_after=$(audit_lost)
  if [ "$lost_after" != "$lost_before" ]; then
    echo "$0: the kernel dropped $((lost_after - lost_before)) audit records during the measurement (backlog limit); $out left unchanged, run it again" >&2
    exit 1
  fi
  echo "audit records lost during the measurement: 0 (kernel counter $lost_after)" >&2
fi
mkdir -p data/runtimes
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out" >&2
