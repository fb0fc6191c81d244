# lint-only: x86_64 allow-list whose personality rule compares the full 64 bits of an unsigned int
# argument (libseccomp#383), with KILL_THREAD as the default (the process goes on without the thread).
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == exit_group) goto allow
  if (A != personality) goto kill
  A = args[0] >> 32
  if (A != 0) goto kill
  A = args[0]
  if (A == 0) goto allow
kill:
  return KILL_THREAD
allow:
  return ALLOW
