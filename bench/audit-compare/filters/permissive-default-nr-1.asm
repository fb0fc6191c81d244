# permissive-default, with an x32 guard that lets nr -1 (0xffffffff) reach the default as SeccompKit's
# compiler does; otherwise the same as permissive-default.asm (whose man-page guard lint refuses).
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A < 0x40000000) goto native
  if (A != 0xffffffff) goto kill
native:
  if (A == mount) goto deny
  if (A == reboot) goto deny
  return ALLOW
deny:
  return ERRNO(1)
kill:
  return KILL_PROCESS
