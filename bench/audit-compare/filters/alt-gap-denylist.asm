# syscall-alt-gap in a deny-list: x86_64 (arch checked, x32 refused), default ALLOW, refusing
# execve, open/openat, write and ptrace by number; execveat, openat2, pwritev and process_vm_writev
# are forgotten. The x32 guard lets nr -1 (0xffffffff) reach the default, as SeccompKit compiles it:
# with the man page's plain `>= 0x40000000` guard lint refuses the filter (see permissive-default.asm).
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A < 0x40000000) goto native
  if (A != 0xffffffff) goto kill
native:
  if (A == execve) goto deny
  if (A == open) goto deny
  if (A == openat) goto deny
  if (A == write) goto deny
  if (A == ptrace) goto deny
  return ALLOW
deny:
  return ERRNO(1)
kill:
  return KILL_PROCESS
