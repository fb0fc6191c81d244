# io_uring next to refused file syscalls: x86_64 allow-list (arch checked, x32 refused) that runs
# io_uring_setup/enter but refuses openat and write by rule; ring operations do not pass the filter.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == openat) goto deny
  if (A == write) goto deny
  if (A == io_uring_setup) goto allow
  if (A == io_uring_enter) goto allow
  if (A == read) goto allow
  if (A == exit_group) goto allow
kill:
  return KILL_PROCESS
deny:
  return ERRNO(1)
allow:
  return ALLOW
