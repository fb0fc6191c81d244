using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace SeccompKit.Syscalls;

/// <summary>How many bits of its 64-bit <c>seccomp_data.args[i]</c> slot the kernel uses for an argument.</summary>
public enum ArgumentWidth
{
    /// <summary>
    /// The C type is at most 32 bits on x86_64 (<c>int</c>, <c>unsigned int</c>, <c>pid_t</c>,
    /// <c>umode_t</c>...). The kernel's <c>SYSCALL_DEFINE</c> wrapper truncates the register, so the
    /// upper half may hold anything and a filter must compare only the low 32 bits.
    /// </summary>
    Bits32 = 32,
    /// <summary>Pointers, <c>long</c>, <c>size_t</c>, <c>loff_t</c>...: all 64 bits are meaningful.</summary>
    Bits64 = 64,
}

/// <summary>One argument of a syscall as the kernel declares it.</summary>
/// <param name="Index">Position, 0..5: the argument lives in <c>seccomp_data.args[Index]</c>.</param>
/// <param name="Name">Parameter name from the kernel's <c>SYSCALL_DEFINE</c> (e.g. <c>flags</c>).</param>
/// <param name="CType">C type verbatim from tracefs (e.g. <c>const char *</c>).</param>
/// <param name="IsSigned">
/// Whether the C type is signed. Derived from the type by the generator's rule (tools/GenerateSyscallTables/CTypeRules.cs):
/// tracefs reports <c>signed:0</c> for every syscall argument because the tracepoint stores them as
/// <c>unsigned long</c>, so its column carries no information.
/// </param>
/// <param name="Width">How many low bits the kernel uses; see <see cref="ArgumentWidth"/>.</param>
public sealed record SyscallArgument(int Index, string Name, string CType, bool IsSigned, ArgumentWidth Width);

/// <summary>A syscall's argument list, for writing argument conditions that compare the right bits.</summary>
public sealed class SyscallSignature
{
    internal SyscallSignature(string name, string traceEvent, ImmutableArray<SyscallArgument> arguments)
    {
        Name = name;
        TraceEvent = traceEvent;
        Arguments = arguments;
    }

    /// <summary>The syscall name as in the syscall tables (<c>fstat</c>).</summary>
    public string Name { get; }

    /// <summary>
    /// The tracefs event name without <c>sys_enter_</c>. It follows the kernel function, so it differs
    /// from <see cref="Name"/> for a few syscalls (<c>newfstat</c> for fstat, <c>umount</c> for umount2).
    /// </summary>
    public string TraceEvent { get; }

    /// <summary>The arguments in order; empty for syscalls such as <c>getpid</c>.</summary>
    public ImmutableArray<SyscallArgument> Arguments { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}({string.Join(", ", Arguments.Select(a => a.CType.EndsWith('*') ? a.CType + a.Name : a.CType + " " + a.Name))})";
}

/// <summary>
/// Syscall argument lists read from an x86_64 kernel's tracefs (<c>events/syscalls/sys_enter_*/format</c>),
/// generated from <c>data/syscall-signatures.tsv</c>. Widths follow x86_64's LP64 model; other 64-bit
/// ABIs agree, 32-bit ABIs (x86, x32, arm...) pass every argument in 32 bits.
/// </summary>
public static class SyscallSignatures
{
    private static readonly FrozenDictionary<string, SyscallSignature> ByName = Build();

    /// <summary>The ABI the signatures were read on.</summary>
    public static Architecture Architecture => Architecture.X86_64;

    /// <summary>The TSV's provenance line (kernel version and tracefs path).</summary>
    public static string Source => SignatureData.SourceLine.TrimStart('#', ' ');

    /// <summary>Every signature, in name order.</summary>
    public static ImmutableArray<SyscallSignature> All { get; } = [.. ByName.Values.OrderBy(s => s.Name, StringComparer.Ordinal)];

    /// <summary>The signature of <paramref name="name"/>; false for syscalls without a tracepoint on that kernel.</summary>
    public static bool TryGet(string name, [NotNullWhen(true)] out SyscallSignature? signature) =>
        ByName.TryGetValue(name, out signature);

    private static FrozenDictionary<string, SyscallSignature> Build()
    {
        var starts = SignatureData.ArgStart;
        var types = SignatureData.ArgTypes;
        var d = new Dictionary<string, SyscallSignature>(StringComparer.Ordinal);
        for (int i = 0; i < SignatureData.Syscalls.Length; i++)
        {
            var args = ImmutableArray.CreateBuilder<SyscallArgument>(starts[i + 1] - starts[i]);
            for (int k = starts[i]; k < starts[i + 1]; k++)
            {
                int t = types[k];
                byte flags = SignatureData.CTypeFlags[t];
                args.Add(new SyscallArgument(
                    k - starts[i], SignatureData.ArgNames[k], SignatureData.CTypes[t],
                    IsSigned: (flags & 2) != 0, Width: (flags & 1) != 0 ? ArgumentWidth.Bits64 : ArgumentWidth.Bits32));
            }
            d.Add(SignatureData.Syscalls[i], new SyscallSignature(SignatureData.Syscalls[i], SignatureData.TraceEvents[i], args.MoveToImmutable()));
        }
        return d.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
