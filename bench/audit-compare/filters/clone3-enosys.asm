# The fork group with clone3 answered ENOSYS while clone runs: what Docker does, and what glibc
# wants (it falls back to clone only on ENOSYS). audit's syscall-alt-gap counts it as a gap;
# lint does not. x86_64 allow-list, arch checked, x32 refused.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == clone3) goto enosys
  if (A == clone) goto allow
  if (A == exit_group) goto allow
kill:
  return KILL_PROCESS
enosys:
  return ERRNO(38)
allow:
  return ALLOW
