# arch-unchecked (second form): the arch is checked for x86_64, but every other arch value jumps to
# ALLOW instead of KILL, so an i386 call skips the deny rules.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto allow
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == execve) goto deny
  if (A == execveat) goto deny
allow:
  return ALLOW
deny:
  return ERRNO(1)
kill:
  return KILL_PROCESS
