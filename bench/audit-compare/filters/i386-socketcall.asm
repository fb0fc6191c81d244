# Two ABIs: x86_64 and i386 checked (x32 refused). socket is refused on both by number, but i386's
# socketcall multiplexer runs, so socketcall(SYS_SOCKET) creates the socket anyway.
# The x32 guard lets nr -1 reach the default (see alt-gap-denylist.asm).
  A = arch
  if (A == AUDIT_ARCH_X86_64) goto x86_64
  if (A == AUDIT_ARCH_I386) goto i386
  return KILL_PROCESS
x86_64:
  A = sys_number
  if (A < 0x40000000) goto native
  if (A != 0xffffffff) goto kill
native:
  if (A == 41) goto deny
  return ALLOW
i386:
  A = sys_number
  if (A == 359) goto deny
  return ALLOW
deny:
  return ERRNO(1)
kill:
  return KILL_PROCESS
