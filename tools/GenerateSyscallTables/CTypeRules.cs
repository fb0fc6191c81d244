using System.Text.RegularExpressions;

namespace GenerateSyscallTables;

/// <summary>How many bits of a syscall argument the kernel uses, and whether it reads them as signed.</summary>
/// <param name="Is64Bit">True when the C type is 64 bits wide on x86_64 (LP64).</param>
/// <param name="IsSigned">True when the C type is a signed integer type.</param>
internal readonly record struct CTypeClass(bool Is64Bit, bool IsSigned);

/// <summary>
/// Classifies the C types tracefs prints for x86_64 syscall arguments
/// (<c>events/syscalls/sys_enter_*/format</c>).
/// <para>
/// Rule: an argument is 32-bit when its C type is at most 32 bits wide on x86_64 (LP64). The
/// kernel's <c>SYSCALL_DEFINEx</c> wrappers cast each 64-bit register to the declared type
/// (<c>__SC_CAST</c>), so the kernel ignores the upper half of such an argument, while a seccomp
/// filter still sees all 64 bits of <c>seccomp_data.args[i]</c>. Pointers, <c>long</c>,
/// <c>size_t</c>, <c>loff_t</c> and friends are 64-bit. Every typedef is resolved by hand against
/// the x86_64 UAPI headers (comments below); an unknown type is an error, so a new kernel cannot
/// be misclassified silently.
/// </para>
/// </summary>
internal static partial class CTypeRules
{
    private static readonly Dictionary<string, CTypeClass> Known = new(StringComparer.Ordinal)
    {
        // 32-bit signed
        ["int"] = new(false, true),
        ["s32"] = new(false, true),
        ["__s32"] = new(false, true),
        ["pid_t"] = new(false, true),          // __kernel_pid_t = int
        ["key_serial_t"] = new(false, true),   // int32_t (include/linux/key.h)
        ["clockid_t"] = new(false, true),      // __kernel_clockid_t = int
        ["timer_t"] = new(false, true),        // __kernel_timer_t = int
        ["mqd_t"] = new(false, true),          // __kernel_mqd_t = int
        ["rwf_t"] = new(false, true),          // __kernel_rwf_t = int __bitwise
        ["key_t"] = new(false, true),          // __kernel_key_t = int
        // 32-bit (or narrower) unsigned
        ["unsigned int"] = new(false, false),
        ["unsigned"] = new(false, false),
        ["u32"] = new(false, false),
        ["__u32"] = new(false, false),
        ["uid_t"] = new(false, false),         // __kernel_uid32_t = unsigned int
        ["gid_t"] = new(false, false),         // __kernel_gid32_t = unsigned int
        ["qid_t"] = new(false, false),         // __kernel_uid32_t = unsigned int
        ["umode_t"] = new(false, false),       // unsigned short: only 16 bits used, classed 32-bit
        // 64-bit signed
        ["long"] = new(true, true),
        ["loff_t"] = new(true, true),          // __kernel_loff_t = long long
        ["off_t"] = new(true, true),           // __kernel_off_t = long
        // 64-bit unsigned
        ["unsigned long"] = new(true, false),
        ["size_t"] = new(true, false),         // __kernel_size_t = unsigned long
        ["u64"] = new(true, false),
        ["__u64"] = new(true, false),
        ["aio_context_t"] = new(true, false),  // __kernel_ulong_t
        ["cap_user_header_t"] = new(true, false), // struct __user_cap_header_struct *
        ["cap_user_data_t"] = new(true, false),   // struct __user_cap_data_struct *
    };

    /// <summary>Classifies <paramref name="cType"/>; throws <see cref="FormatException"/> for a type the rules do not know.</summary>
    public static CTypeClass Classify(string cType)
    {
        string t = Normalize(cType);
        if (t.Contains('*'))
            return new CTypeClass(Is64Bit: true, IsSigned: false); // pointers are 64-bit on x86_64
        if (t.StartsWith("enum ", StringComparison.Ordinal))
            return new CTypeClass(Is64Bit: false, IsSigned: false); // int-sized; GCC picks unsigned int without negative enumerators
        if (Known.TryGetValue(t, out var c))
            return c;
        throw new FormatException(
            $"Unknown C type '{cType}' in the signatures TSV: classify it in tools/GenerateSyscallTables/CTypeRules.cs " +
            "(resolve its typedef for x86_64 and add it with its width and signedness), then regenerate.");
    }

    /// <summary>Drops <c>const</c> qualifiers and collapses white space, so <c>const clockid_t</c> reads as <c>clockid_t</c>.</summary>
    public static string Normalize(string cType) =>
        Spaces().Replace(ConstWord().Replace(cType, " "), " ").Trim();

    [GeneratedRegex(@"\bconst\b")]
    private static partial Regex ConstWord();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
