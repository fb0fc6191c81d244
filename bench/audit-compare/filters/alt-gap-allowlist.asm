# syscall-alt-gap: an x86_64 allow-list (arch checked, x32 refused, default KILL) that singles out
# execve, open and fork for ERRNO(EPERM) while their equivalents execveat, openat and clone run,
# and refuses readv by rule while read runs.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == execve) goto deny
  if (A == open) goto deny
  if (A == fork) goto deny
  if (A == readv) goto deny
  if (A == execveat) goto allow
  if (A == openat) goto allow
  if (A == clone) goto allow
  if (A == read) goto allow
  if (A == exit_group) goto allow
kill:
  return KILL_PROCESS
deny:
  return ERRNO(1)
allow:
  return ALLOW
