using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.TestKit;

/// <summary>
/// Three small, different filters for the dump tests, in installation order. Each refuses one call the
/// helper never makes on its own, with its own errno, so a test can also see that every filter is still in
/// force after a dump. Shared by the library and CLI tests (SeccompKit.TestKit).
/// </summary>
public static class KnownFilters
{
    /// <summary>x86_64 getppid, refused by <see cref="Oldest"/> with EAGAIN (11).</summary>
    public const int Getppid = 110;
    /// <summary>x86_64 getuid, refused by <see cref="Middle"/> with ENOMEM (12).</summary>
    public const int Getuid = 102;
    /// <summary>x86_64 getgid, refused by <see cref="Newest"/> with EACCES (13).</summary>
    public const int Getgid = 104;

    /// <summary>Installed first.</summary>
    public static readonly Instruction[] Oldest =
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                  // 0: A = arch
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 0),  // 1: x86_64 -> 3
        Instruction.Stmt(BPF_RET | BPF_K, 0x80000000),                  // 2: other arch: KILL_PROCESS
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                  // 3: A = sys_number
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, Getppid, 0, 1),     // 4: getppid -> 5, else 6
        Instruction.Stmt(BPF_RET | BPF_K, 0x00050000 | 11),             // 5: ERRNO(EAGAIN)
        Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000),                  // 6: ALLOW
    ];

    /// <summary>Installed second.</summary>
    public static readonly Instruction[] Middle =
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                  // 0: A = sys_number
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, Getuid, 0, 1),      // 1: getuid -> 2, else 3
        Instruction.Stmt(BPF_RET | BPF_K, 0x00050000 | 12),             // 2: ERRNO(ENOMEM)
        Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000),                  // 3: ALLOW
    ];

    /// <summary>
    /// Installed last. It starts with <c>A = len</c>, which the kernel rewrites to <c>A = 64</c> in its own copy
    /// (seccomp_check_filter): the dump must give back the instruction as it was installed.
    /// </summary>
    public static readonly Instruction[] Newest =
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_LEN, 0),                  // 0: A = len (64)
        Instruction.Stmt(BPF_ST, 0),                                    // 1: mem[0] = A
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                  // 2: A = sys_number
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, Getgid, 0, 1),      // 3: getgid -> 4, else 5
        Instruction.Stmt(BPF_RET | BPF_K, 0x00050000 | 13),             // 4: ERRNO(EACCES)
        Instruction.Stmt(BPF_LDX | BPF_MEM, 0),                         // 5: X = mem[0]
        Instruction.Stmt(BPF_MISC | BPF_TXA, 0),                        // 6: A = X (64)
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 64, 1, 0),          // 7: 64 -> 9
        Instruction.Stmt(BPF_RET | BPF_K, 0x80000000),                  // 8: KILL_PROCESS (never: len is 64)
        Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000),                  // 9: ALLOW
    ];

    /// <summary>All three, in installation order (oldest first).</summary>
    public static readonly Instruction[][] InstallationOrder = [Oldest, Middle, Newest];

    /// <summary>The first <paramref name="count"/> filters, oldest first.</summary>
    public static Instruction[][] First(int count) => InstallationOrder.Take(count).ToArray();

    /// <summary>x86_64 <c>restart_syscall</c>.</summary>
    public const int RestartSyscall = 219;

    /// <summary>
    /// Allows everything but <c>restart_syscall</c> (x86_64 219, and i386 0 for <c>int 0x80</c>), which gets
    /// <paramref name="action"/>: the profile of a program whose syscalls were learned while nothing interrupted it.
    /// </summary>
    public static Instruction[] RefusingRestartSyscall(uint action) =>
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                  // 0: A = arch
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0x40000003, 0, 2),  // 1: i386 -> 2, else 4
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                  // 2: A = sys_number
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 3),           // 3: i386 restart_syscall (0) -> 6, else 7
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                  // 4: A = sys_number
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, RestartSyscall, 0, 1), // 5: restart_syscall -> 6, else 7
        Instruction.Stmt(BPF_RET | BPF_K, action),                      // 6: the refusal
        Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000),                  // 7: ALLOW
    ];
}
