using System.Collections.Frozen;
using System.Collections.Immutable;

namespace SeccompKit.Learning;

/// <summary>One argument a learner records: its position and the bits that matter.</summary>
/// <param name="Index">Argument position, 0..5.</param>
/// <param name="Mask">The bits recorded and later compared (<c>(arg &amp; Mask) == value</c>).</param>
/// <param name="Meaning">What the argument is, for reports ("flags &amp; CLONE_NEW*").</param>
/// <param name="Granted">
/// For permission bits (memory protection): the masked bits are rights, and fewer rights are never more dangerous, so a
/// profile allows every value whose masked bits are a subset of a value seen or of <paramref name="Granted"/>, not only the
/// values seen. Null for arguments whose values are allowed exactly as seen.
/// </param>
public readonly record struct RecordedArgument(int Index, ulong Mask, string Meaning, ulong? Granted = null);

/// <summary>
/// The syscalls whose arguments decide what they do to security, and which bits of which argument a learner records
/// for each: the same arguments Docker's and podman's default profiles condition on, plus the common request and
/// protection arguments. A learned profile turns the values seen into argument conditions, so it allows, e.g.,
/// <c>clone</c> without namespace flags, <c>unshare</c> and <c>setns</c> for the namespace kinds used, <c>socket</c>
/// for the address families used, the <c>ioctl</c> requests made.
/// </summary>
/// <remarks>
/// Integer arguments are recorded and compared on their low 32 bits (mask 0xffffffff): the kernel reads them as
/// <c>int</c>/<c>unsigned int</c>, so the upper half of the register is not part of the call (a caller may leave
/// garbage or a sign extension there; libseccomp issue #383), and <c>(arg &amp; 0xffffffff) == v</c> is exactly what
/// the kernel acts on. Pointer arguments (clone3's struct, openat2's how) cannot be compared by a filter and are not recorded.
/// </remarks>
public static class SecurityArguments
{
    private const ulong Low32 = 0xffff_ffff;

    /// <summary>CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: the namespace flags (Docker's mask).</summary>
    public const ulong CloneNamespaceFlags = 0x7E02_0000;

    /// <summary>
    /// The namespace flags of unshare(2) and setns(2): <see cref="CloneNamespaceFlags"/> and CLONE_NEWTIME (0x80), which
    /// clone(2) cannot take (its low byte is the exit signal) but unshare and setns can.
    /// </summary>
    public const ulong NamespaceFlags = CloneNamespaceFlags | 0x80;

    /// <summary>PROT_WRITE | PROT_EXEC: the bits of a memory protection that matter to security (write and execute at once).</summary>
    public const ulong ProtWriteExec = 0x6;

    /// <summary>
    /// A prot argument (mmap, mprotect): only PROT_WRITE and PROT_EXEC are recorded (PROT_READ, PROT_SEM and PROT_GROWS*
    /// change nothing that matters), and the profile allows any protection without PROT_EXEC, plus PROT_EXEC alone or with
    /// PROT_WRITE only if a call like it was seen. Which protections a program asks for at run time depends on paths a
    /// learn run need not take (a signal that arrives at another moment, another thread's malloc arena: mprotect
    /// PROT_READ|PROT_WRITE), so exact values broke learned profiles on ordinary runs; making memory executable, and
    /// writable and executable at once, stays what the learn run must have shown.
    /// </summary>
    private static RecordedArgument Prot => new(2, ProtWriteExec, "prot & (PROT_WRITE|PROT_EXEC)", Granted: 0x2);

    private static readonly FrozenDictionary<string, ImmutableArray<RecordedArgument>> Default = new Dictionary<string, ImmutableArray<RecordedArgument>>
    {
        ["clone"] = [new(0, CloneNamespaceFlags, "flags & CLONE_NEW*")],
        // unshare(flags): a new namespace of each kind set; the other flags (CLONE_FILES, CLONE_FS, CLONE_SYSVSEM) only
        // unshare what the caller already has.
        ["unshare"] = [new(0, NamespaceFlags, "flags & CLONE_NEW*")],
        // setns(fd, nstype): nstype 0 joins a namespace of any kind, a CLONE_NEW* value only that kind; since 5.8 a
        // pidfd with several CLONE_NEW* bits joins several at once.
        ["setns"] = [new(1, NamespaceFlags, "nstype & CLONE_NEW*")],
        ["socket"] = [new(0, Low32, "domain"), new(1, 0xf, "type & SOCK_TYPE_MASK"), new(2, Low32, "protocol")],
        ["ioctl"] = [new(1, Low32, "request")],
        ["prctl"] = [new(0, Low32, "option")],
        ["fcntl"] = [new(1, Low32, "cmd")],
        ["fcntl64"] = [new(1, Low32, "cmd")],
        ["personality"] = [new(0, Low32, "persona")],
        ["mmap"] = [Prot],
        ["mmap2"] = [Prot],
        ["mprotect"] = [Prot],
        ["pkey_mprotect"] = [Prot],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, ImmutableArray<RecordedArgument>> Open = new Dictionary<string, ImmutableArray<RecordedArgument>>
    {
        ["open"] = [new(1, Low32, "flags")],
        ["openat"] = [new(2, Low32, "flags")],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The syscalls recorded by default.</summary>
    public static IEnumerable<string> DefaultSyscalls => Default.Keys.Order(StringComparer.Ordinal);

    /// <summary>The arguments to record for <paramref name="syscall"/>, or empty when only its count matters.</summary>
    /// <param name="syscall">The syscall name.</param>
    /// <param name="openFlags">Also record the flags of open and openat.</param>
    public static ImmutableArray<RecordedArgument> For(string syscall, bool openFlags = false) =>
        Default.TryGetValue(syscall, out var a) ? a : openFlags && Open.TryGetValue(syscall, out a) ? a : [];
}
