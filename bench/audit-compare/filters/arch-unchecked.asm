# arch-unchecked: syscall numbers are compared without ever loading the arch, so an i386 (int 0x80)
# call numbered 59 is not execve at all, and i386 execve (11) is not refused. Numbers, not names:
# without an arch check the assembler has no table to resolve names in.
  A = sys_number
  if (A == 59) goto deny
  if (A == 322) goto deny
  return ALLOW
deny:
  return ERRNO(1)
