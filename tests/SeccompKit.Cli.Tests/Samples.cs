using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Cli.Tests;

internal static class Samples
{
    /// <summary>A typical x86_64 allow-list, in the shape libseccomp generates.</summary>
    public static readonly Instruction[] AllowList =
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                       // 0: A = arch
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 0, 8),       // 1: if (A != X86_64) goto 10 (kill)
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                       // 2: A = sys_number
        Instruction.Jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 6, 0),       // 3: x32 numbers -> 10 (kill)
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 257, 3, 0),              // 4: openat -> 8 (errno)
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),                // 5: read -> 9 (allow)
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0),                // 6: write -> 9 (allow)
        Instruction.Stmt(BPF_RET | BPF_K, 0x80000000),                       // 7: KILL_PROCESS
        Instruction.Stmt(BPF_RET | BPF_K, 0x00050001),                       // 8: ERRNO(EPERM)
        Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000),                       // 9: ALLOW
        Instruction.Stmt(BPF_RET | BPF_K, 0x80000000),                       // 10: KILL_PROCESS
    ];

    public static string WriteRaw(TempDir dir, string name, Instruction[] program)
    {
        var path = dir.File(name);
        System.IO.File.WriteAllBytes(path, BpfProgram.ToRaw(program));
        return path;
    }
}
