# orw-chain: the classic CTF sandbox - an allow-list of open, read, write and exit on x86_64 (arch
# checked, x32 refused): any file can be opened and copied out.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == open) goto allow
  if (A == read) goto allow
  if (A == write) goto allow
  if (A == exit) goto allow
  if (A == exit_group) goto allow
kill:
  return KILL_PROCESS
allow:
  return ALLOW
