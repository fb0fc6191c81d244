# clone3 answered EPERM while clone runs (moby#42680): glibc does not fall back, thread creation
# fails. x86_64 allow-list, arch checked, x32 refused.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == clone3) goto eperm
  if (A == clone) goto allow
  if (A == exit_group) goto allow
kill:
  return KILL_PROCESS
eperm:
  return ERRNO(1)
allow:
  return ALLOW
