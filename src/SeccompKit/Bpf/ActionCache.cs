using System.Collections;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// Emulates the seccomp action cache of kernel 5.11+ (<c>kernel/seccomp.c</c>,
/// <c>seccomp_cache_prepare</c>): when a filter is attached, the kernel runs a tiny emulator over it for
/// every syscall number of each cached arch, knowing only <c>nr</c> and <c>arch</c>. Where the result is
/// <c>SECCOMP_RET_ALLOW</c> for sure — on this filter and every older one — later calls of that syscall skip
/// the filters entirely.
/// </summary>
public static class ActionCache
{
    /// <summary>
    /// The kernel's <c>seccomp_is_const_allow</c>: follow the program knowing only nr and arch. Only
    /// <c>LD W ABS</c> of offset 0 or 4, <c>JA</c>, <c>JEQ/JGE/JGT/JSET</c> with K, <c>ALU AND K</c> and
    /// <c>RET K</c> are understood; anything else on the path (argument or ip loads, X, memory, LEN, RET A)
    /// makes the syscall uncacheable. Only the exact value <c>SECCOMP_RET_ALLOW</c> counts (ALLOW with data does not).
    /// </summary>
    public static bool IsConstantAllow(BpfProgram program, int nr, uint arch)
    {
        var prog = program.Instructions.AsSpan();
        uint reg = 0;
        for (int pc = 0; pc < prog.Length; pc++)
        {
            var ins = prog[pc];
            switch (ins.Code)
            {
                case BPF_LD | BPF_W | BPF_ABS:
                    if (ins.K == SeccompData.OffsetNr) reg = unchecked((uint)nr);
                    else if (ins.K == SeccompData.OffsetArch) reg = arch;
                    else return false;
                    break;
                case BPF_RET | BPF_K:
                    return ins.K == SeccompReturn.SECCOMP_RET_ALLOW;
                case BPF_JMP | BPF_JA:
                    pc += (int)ins.K;
                    break;
                case BPF_JMP | BPF_JEQ | BPF_K: pc += reg == ins.K ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JGE | BPF_K: pc += reg >= ins.K ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JGT | BPF_K: pc += reg > ins.K ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JSET | BPF_K: pc += (reg & ins.K) != 0 ? ins.Jt : ins.Jf; break;
                case BPF_ALU | BPF_AND | BPF_K: reg &= ins.K; break;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>
    /// The cache bitmap for one arch of a stack: bit nr is set when every filter is a constant ALLOW for nr
    /// (the kernel ANDs each new filter's bitmap with its predecessor's). Syscalls in
    /// <paramref name="alwaysAllowed"/> are set regardless — on x86_64 the kernel passes <c>uretprobe</c>
    /// and <c>uprobe</c> through without filtering (<c>seccomp_uprobe_exception</c>).
    /// </summary>
    /// <param name="stack">The filters.</param>
    /// <param name="arch">AUDIT_ARCH value of the cached arch.</param>
    /// <param name="bitmapSize">The arch's syscall count (<c>NR_syscalls</c>); numbers at or above it are never cached.</param>
    /// <param name="alwaysAllowed">Numbers the kernel exempts from filtering on this arch.</param>
    public static BitArray Compute(FilterStack stack, uint arch, int bitmapSize, IReadOnlyCollection<int>? alwaysAllowed = null)
    {
        var bits = new BitArray(bitmapSize);
        for (int nr = 0; nr < bitmapSize; nr++)
        {
            if (alwaysAllowed is not null && alwaysAllowed.Contains(nr)) { bits[nr] = true; continue; }
            bool all = true;
            foreach (var f in stack.Filters)
                if (!IsConstantAllow(f, nr, arch)) { all = false; break; }
            bits[nr] = all;
        }
        return bits;
    }
}
