# permissive-default: a deny-list on x86_64 (arch checked, x32 refused) whose default is ALLOW; it
# refuses mount and reboot only. Its x32 guard is seccomp(2)'s example (`nr >= 0x40000000` killed,
# nr -1 included).
  A = arch
  if (A != AUDIT_ARCH_X86_64) goto kill
  A = sys_number
  if (A >= 0x40000000) goto kill
  if (A == mount) goto deny
  if (A == reboot) goto deny
  return ALLOW
deny:
  return ERRNO(1)
kill:
  return KILL_PROCESS
