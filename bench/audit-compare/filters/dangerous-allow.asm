# dangerous-allow: an x86_64 allow-list (arch checked, x32 refused, default KILL) that lets through
# what audit's catalog names (execve, ptrace, process_vm_readv/writev, io_uring_setup, socket,
# connect) and what lint's dangerous-* rules name (bpf, userfaultfd, keyctl, perf_event_open,
# kexec_load, init_module, mount, unshare, setns, personality, open_by_handle_at, reboot).
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == exit_group) goto allow
  if (A == brk) goto allow
  if (A == execve) goto allow
  if (A == ptrace) goto allow
  if (A == process_vm_readv) goto allow
  if (A == process_vm_writev) goto allow
  if (A == io_uring_setup) goto allow
  if (A == socket) goto allow
  if (A == connect) goto allow
  if (A == bpf) goto allow
  if (A == userfaultfd) goto allow
  if (A == keyctl) goto allow
  if (A == perf_event_open) goto allow
  if (A == kexec_load) goto allow
  if (A == init_module) goto allow
  if (A == mount) goto allow
  if (A == unshare) goto allow
  if (A == setns) goto allow
  if (A == personality) goto allow
  if (A == open_by_handle_at) goto allow
  if (A == reboot) goto allow
kill:
  return KILL_PROCESS
allow:
  return ALLOW
