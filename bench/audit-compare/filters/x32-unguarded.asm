# x32-guard: x86_64 is checked and execve/execveat/ptrace are refused by their native numbers, but
# there is no `sys_number >= 0x40000000` guard: x32 calls (nr | 0x40000000) share AUDIT_ARCH_X86_64
# and reach the default ALLOW. Other arches are killed.
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A == execve) goto deny
  if (A == execveat) goto deny
  if (A == ptrace) goto deny
  return ALLOW
deny:
  return ERRNO(1)
kill:
  return KILL_PROCESS
