using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

/// <summary>Shared inputs for the Bpf specs.</summary>
internal static class TestPrograms
{
    public const uint X86_64 = 0xc000003e;
    public const uint I386 = 0x40000003;
    /// <summary>AUDIT_ARCH_S390X: a big-endian ABI, where seccomp_data's 64-bit fields put the high half first.</summary>
    public const uint S390X = 0x80000016;

    /// <summary>A program of exactly <paramref name="length"/> instructions: length-1 times "A = 0", then "return ALLOW".</summary>
    public static Instruction[] Filler(int length)
    {
        var p = new Instruction[length];
        for (int i = 0; i < length - 1; i++)
            p[i] = Stmt(BPF_LD | BPF_IMM, 0);          // A = 0
        if (length > 0)
            p[^1] = Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW); // return ALLOW
        return p;
    }

    /// <summary>A one-instruction filter returning <paramref name="value"/>.</summary>
    public static BpfProgram Returning(uint value) => BpfProgram.Create([
        Stmt(BPF_RET | BPF_K, value), // return value
    ]);

    /// <summary>Distinct bytes in every field so that a load from the wrong offset shows.</summary>
    public static readonly SeccompData Data = new(
        nr: 0x101, arch: X86_64, instructionPointer: 0x1111_2222_3333_4444,
        0xa0a0_0000_a0a0_0001, 0xa1a1_0000_a1a1_0002, 0xa2a2_0000_a2a2_0003,
        0xa3a3_0000_a3a3_0004, 0xa4a4_0000_a4a4_0005, 0xa5a5_0000_a5a5_0006);
}

/// <summary>
/// A tiny stand-in for the Syscalls layer: x86_64 and i386 with a few syscalls each, numbered so that
/// the same number has different names under the two arches.
/// </summary>
internal sealed class FakeSymbols : IBpfSymbols
{
    public static readonly FakeSymbols Instance = new();

    private static readonly Dictionary<uint, string> Arches = new()
    {
        [TestPrograms.X86_64] = "AUDIT_ARCH_X86_64",
        [TestPrograms.I386] = "AUDIT_ARCH_I386",
        [TestPrograms.S390X] = "AUDIT_ARCH_S390X",
    };

    private static readonly Dictionary<uint, string[]> Syscalls = new()
    {
        [TestPrograms.X86_64] = ["read", "write", "open", "close"],
        [TestPrograms.I386] = ["restart_syscall", "exit", "fork", "read"],
        [TestPrograms.S390X] = ["s390_zero", "exit", "fork", "read"],
    };

    public bool TryGetArchName(uint auditArch, out string name) => Arches.TryGetValue(auditArch, out name!);

    public bool TryGetArchValue(string name, out uint auditArch)
    {
        foreach (var (v, n) in Arches)
            if (n == name) { auditArch = v; return true; }
        auditArch = 0;
        return false;
    }

    public bool TryGetSyscallName(uint auditArch, int nr, out string name)
    {
        name = "";
        if (!Syscalls.TryGetValue(auditArch, out var names) || nr < 0 || nr >= names.Length) return false;
        name = names[nr];
        return true;
    }

    public bool TryGetSyscallNumber(uint auditArch, string name, out int nr)
    {
        nr = Syscalls.TryGetValue(auditArch, out var names) ? Array.IndexOf(names, name) : -1;
        return nr >= 0;
    }
}
