using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace SeccompKit.Syscalls;

/// <summary>
/// One syscall ABI as seccomp sees it: the <c>AUDIT_ARCH_*</c> value the kernel puts in
/// <c>seccomp_data.arch</c> plus the table that gives <c>seccomp_data.nr</c> its meaning.
/// Names are libseccomp's (<c>seccomp_arch_resolve_name</c>, src/arch.c) so that profiles and
/// <c>scmp_sys_resolver</c> output read the same. Instances are immutable singletons; compare
/// them by reference or by <see cref="Name"/>.
/// </summary>
/// <remarks>
/// A filter must check <c>arch</c> before <c>nr</c>: one x86_64 process can enter the kernel as
/// x86_64, as i386 (<c>int 0x80</c>) and as x32, and the same number means different syscalls
/// in each (see <see cref="ProcessAbis"/>).
/// </remarks>
public sealed class Architecture
{
    // linux/audit.h: AUDIT_ARCH_* = EM_* | these flag bits.
    private const uint Audit64Bit = 0x8000_0000;        // __AUDIT_ARCH_64BIT
    private const uint AuditLittleEndian = 0x4000_0000; // __AUDIT_ARCH_LE
    private const uint AuditMips64N32 = 0x2000_0000;    // __AUDIT_ARCH_CONVENTION_MIPS64_N32

    /// <summary>
    /// <c>__X32_SYSCALL_BIT</c> (arch/x86/include/uapi/asm/unistd.h): x32 syscalls reach the kernel,
    /// and so seccomp, with this bit set in <c>nr</c>; libseccomp's CSV stores them without it
    /// (arch-x32.c ORs it in when resolving a name).
    /// </summary>
    public const int X32SyscallBit = 0x4000_0000;

    private SyscallTable? _syscalls;

    private Architecture(string name, uint auditArch, bool is64Bit, bool isLittleEndian, string tableName, int syscallNumberOffset)
    {
        Name = name;
        AuditArch = auditArch;
        Is64Bit = is64Bit;
        IsLittleEndian = isLittleEndian;
        TableName = tableName;
        SyscallNumberOffset = syscallNumberOffset;
    }

    /// <summary>libseccomp's name for this ABI, e.g. <c>x86_64</c>, <c>mipsel64n32</c>.</summary>
    public string Name { get; }

    /// <summary>The <c>AUDIT_ARCH_*</c> value the kernel stores in <c>seccomp_data.arch</c> (linux/audit.h).</summary>
    public uint AuditArch { get; }

    /// <summary>
    /// Whether <c>long</c> and pointers are 64 bits (libseccomp's <c>ARCH_SIZE_64</c>). x32 and
    /// mips64n32 are 32-bit here although their AUDIT_ARCH value has <c>__AUDIT_ARCH_64BIT</c> set,
    /// because they run on a 64-bit kernel; on a 32-bit ABI only the low half of an argument is meaningful.
    /// </summary>
    public bool Is64Bit { get; }

    /// <summary>
    /// Byte order of the ABI. It decides which half of each 64-bit <c>seccomp_data.args[i]</c> a
    /// 32-bit load at <c>16 + 8i</c> reads (libseccomp's <c>arch_arg_offset_lo</c>).
    /// </summary>
    public bool IsLittleEndian { get; }

    /// <summary>
    /// The column of libseccomp's <c>syscalls.csv</c> that holds this ABI's numbers. Endianness variants
    /// share one table (mipsel uses mips, ppc64le uses ppc64, sheb uses sh), as in libseccomp.
    /// </summary>
    public string TableName { get; }

    /// <summary>
    /// What the kernel adds to the table's numbers before seccomp sees them: <see cref="X32SyscallBit"/>
    /// for x32 (an OR; table numbers are below it), 4000 for MIPS o32, 5000 for n64 and 6000 for n32
    /// (<c>__NR_Linux</c> in arch/mips/include/uapi/asm/unistd.h; libseccomp's arch-mips*.c add
    /// <c>__SCMP_NR_BASE</c>), 0 elsewhere.
    /// </summary>
    public int SyscallNumberOffset { get; }

    /// <summary>This ABI's syscall table, with kernel-visible numbers; built on first use.</summary>
    public SyscallTable Syscalls => LazyInitializer.EnsureInitialized(ref _syscalls, () => new SyscallTable(this));

    /// <summary>
    /// The ABIs through which one process running on this kernel ABI can make syscalls, this one
    /// first, provided the kernel enables them: x86_64 also accepts i386 syscalls via <c>int 0x80</c>
    /// (CONFIG_IA32_EMULATION) and x32 syscalls (CONFIG_X86_X32_ABI); aarch64 runs AArch32 tasks
    /// (CONFIG_COMPAT); 64-bit MIPS kernels run o32 and n32 (CONFIG_MIPS32_O32/N32); ppc64, s390x and
    /// parisc64 run their 32-bit ABIs. A filter for such a host must either handle each ABI or kill
    /// on an unexpected <c>arch</c>.
    /// </summary>
    public ImmutableArray<Architecture> ProcessAbis => Name switch
    {
        "x86_64" => [X86_64, X86, X32],
        "aarch64" => [Aarch64, Arm],
        "mips64" => [Mips64, Mips64N32, Mips],
        "mipsel64" => [Mipsel64, Mipsel64N32, Mipsel],
        "ppc64" => [Ppc64, Ppc],
        "s390x" => [S390X, S390],
        "parisc64" => [Parisc64, Parisc],
        _ => [this],
    };

    /// <summary>
    /// The ABIs the seccomp action cache (5.11+) covers on a kernel whose native ABI is this one: the kernel
    /// fills a bitmap for <c>SECCOMP_ARCH_NATIVE</c> and, where it defines one, <c>SECCOMP_ARCH_COMPAT</c>
    /// (arch/*/include/asm/seccomp.h): x86_64 caches i386 but never x32 (whose numbers carry bit 30, past
    /// every bitmap); arm64 caches AArch32; 64-bit MIPS caches o32 (CONFIG_MIPS32_O32) but not n32; ppc64,
    /// s390x and parisc64 cache their 32-bit ABIs. ppc64le's compat ABI (PPCLE) has no table here.
    /// </summary>
    public ImmutableArray<Architecture> ActionCacheAbis => Name switch
    {
        "x86_64" => [X86_64, X86],
        "aarch64" => [Aarch64, Arm],
        "mips64" => [Mips64, Mips],
        "mipsel64" => [Mipsel64, Mipsel],
        "ppc64" => [Ppc64, Ppc],
        "s390x" => [S390X, S390],
        "parisc64" => [Parisc64, Parisc],
        "x32" or "mips64n32" or "mipsel64n32" => [],
        _ => [this],
    };

    /// <summary>True when some kernel's action cache covers this ABI (false for x32 and MIPS n32).</summary>
    public bool IsCachedByAnyKernel => All.Any(k => k.ActionCacheAbis.Contains(this));

    /// <inheritdoc/>
    public override string ToString() => Name;

    // ---------------------------------------------------------------- the known ABIs

    private static Architecture Le64(string name, uint em, string? table = null, int offset = 0) =>
        new(name, em | Audit64Bit | AuditLittleEndian, true, true, table ?? name, offset);

    /// <summary>i386: <c>AUDIT_ARCH_I386</c> 0x40000003.</summary>
    public static readonly Architecture X86 = new("x86", 3 | AuditLittleEndian, false, true, "x86", 0);
    /// <summary>x86_64: <c>AUDIT_ARCH_X86_64</c> 0xc000003e.</summary>
    public static readonly Architecture X86_64 = Le64("x86_64", 62);
    /// <summary>x32: reports <c>AUDIT_ARCH_X86_64</c> too and is told apart only by <see cref="X32SyscallBit"/> in <c>nr</c>.</summary>
    public static readonly Architecture X32 = new("x32", 62 | Audit64Bit | AuditLittleEndian, false, true, "x32", X32SyscallBit);
    /// <summary>32-bit ARM EABI, little-endian: <c>AUDIT_ARCH_ARM</c> 0x40000028.</summary>
    public static readonly Architecture Arm = new("arm", 40 | AuditLittleEndian, false, true, "arm", 0);
    /// <summary>arm64: <c>AUDIT_ARCH_AARCH64</c> 0xc00000b7.</summary>
    public static readonly Architecture Aarch64 = Le64("aarch64", 183);
    /// <summary>LoongArch64: <c>AUDIT_ARCH_LOONGARCH64</c> 0xc0000102.</summary>
    public static readonly Architecture Loongarch64 = Le64("loongarch64", 258);
    /// <summary>m68k: <c>AUDIT_ARCH_M68K</c> 4 (big-endian).</summary>
    public static readonly Architecture M68k = new("m68k", 4, false, false, "m68k", 0);
    /// <summary>MIPS o32 big-endian: <c>AUDIT_ARCH_MIPS</c> 8; numbers start at 4000.</summary>
    public static readonly Architecture Mips = new("mips", 8, false, false, "mips", 4000);
    /// <summary>MIPS o32 little-endian: <c>AUDIT_ARCH_MIPSEL</c> 0x40000008; numbers start at 4000.</summary>
    public static readonly Architecture Mipsel = new("mipsel", 8 | AuditLittleEndian, false, true, "mips", 4000);
    /// <summary>MIPS n64 big-endian: <c>AUDIT_ARCH_MIPS64</c> 0x80000008; numbers start at 5000.</summary>
    public static readonly Architecture Mips64 = new("mips64", 8 | Audit64Bit, true, false, "mips64", 5000);
    /// <summary>MIPS n64 little-endian: <c>AUDIT_ARCH_MIPSEL64</c> 0xc0000008; numbers start at 5000.</summary>
    public static readonly Architecture Mipsel64 = Le64("mipsel64", 8, "mips64", 5000);
    /// <summary>MIPS n32 big-endian: <c>AUDIT_ARCH_MIPS64N32</c> 0xa0000008; numbers start at 6000.</summary>
    public static readonly Architecture Mips64N32 = new("mips64n32", 8 | Audit64Bit | AuditMips64N32, false, false, "mips64n32", 6000);
    /// <summary>MIPS n32 little-endian: <c>AUDIT_ARCH_MIPSEL64N32</c> 0xe0000008; numbers start at 6000.</summary>
    public static readonly Architecture Mipsel64N32 = new("mipsel64n32", 8 | Audit64Bit | AuditLittleEndian | AuditMips64N32, false, true, "mips64n32", 6000);
    /// <summary>PA-RISC 32-bit: <c>AUDIT_ARCH_PARISC</c> 0xf.</summary>
    public static readonly Architecture Parisc = new("parisc", 15, false, false, "parisc", 0);
    /// <summary>PA-RISC 64-bit: <c>AUDIT_ARCH_PARISC64</c> 0x8000000f.</summary>
    public static readonly Architecture Parisc64 = new("parisc64", 15 | Audit64Bit, true, false, "parisc64", 0);
    /// <summary>PowerPC 32-bit: <c>AUDIT_ARCH_PPC</c> 0x14.</summary>
    public static readonly Architecture Ppc = new("ppc", 20, false, false, "ppc", 0);
    /// <summary>PowerPC 64-bit big-endian: <c>AUDIT_ARCH_PPC64</c> 0x80000015.</summary>
    public static readonly Architecture Ppc64 = new("ppc64", 21 | Audit64Bit, true, false, "ppc64", 0);
    /// <summary>PowerPC 64-bit little-endian: <c>AUDIT_ARCH_PPC64LE</c> 0xc0000015 (shares ppc64's table).</summary>
    public static readonly Architecture Ppc64Le = Le64("ppc64le", 21, "ppc64");
    /// <summary>RISC-V 64: <c>AUDIT_ARCH_RISCV64</c> 0xc00000f3.</summary>
    public static readonly Architecture Riscv64 = Le64("riscv64", 243);
    /// <summary>s390 31-bit: <c>AUDIT_ARCH_S390</c> 0x16.</summary>
    public static readonly Architecture S390 = new("s390", 22, false, false, "s390", 0);
    /// <summary>s390x: <c>AUDIT_ARCH_S390X</c> 0x80000016.</summary>
    public static readonly Architecture S390X = new("s390x", 22 | Audit64Bit, true, false, "s390x", 0);
    /// <summary>SuperH little-endian: libseccomp's "sh" is <c>AUDIT_ARCH_SHEL</c> 0x4000002a.</summary>
    public static readonly Architecture Sh = new("sh", 42 | AuditLittleEndian, false, true, "sh", 0);
    /// <summary>SuperH big-endian: libseccomp's "sheb" is <c>AUDIT_ARCH_SH</c> 0x2a.</summary>
    public static readonly Architecture Sheb = new("sheb", 42, false, false, "sh", 0);

    /// <summary>
    /// The architecture SeccompKit's kernel layer targets (the <c>SeccompData</c> model is
    /// little-endian x86_64). Its <see cref="ProcessAbis"/> are x86_64, x86 and x32.
    /// </summary>
    public static Architecture NativeHost => X86_64;

    /// <summary>Every known ABI, in libseccomp's order.</summary>
    public static ImmutableArray<Architecture> All { get; } =
    [
        X86, X86_64, X32, Arm, Aarch64, Loongarch64, M68k, Mips, Mipsel, Mips64, Mipsel64, Mips64N32,
        Mipsel64N32, Parisc, Parisc64, Ppc, Ppc64, Ppc64Le, Riscv64, S390, S390X, Sh, Sheb,
    ];

    // Spellings from uname -m, Debian/Go/Docker, and OCI's SCMP_ARCH_* (added below for every name).
    private static readonly (string Alias, Architecture Arch)[] Aliases =
    [
        ("i386", X86), ("i486", X86), ("i586", X86), ("i686", X86), ("386", X86),
        ("amd64", X86_64), ("x64", X86_64),
        ("arm64", Aarch64), ("armv7l", Arm), ("armhf", Arm), ("armel", Arm),
        ("loong64", Loongarch64),
        ("powerpc", Ppc), ("powerpc64", Ppc64), ("powerpc64le", Ppc64Le), ("ppc64el", Ppc64Le),
    ];

    private static readonly FrozenDictionary<string, Architecture> ByName = BuildNameIndex();

    private static readonly FrozenDictionary<uint, Architecture> ByAuditArch = BuildAuditIndex();

    private static FrozenDictionary<string, Architecture> BuildNameIndex()
    {
        var d = new Dictionary<string, Architecture>(StringComparer.OrdinalIgnoreCase);
        foreach (var a in All)
        {
            d.Add(a.Name, a);
            d.Add("SCMP_ARCH_" + a.Name.ToUpperInvariant(), a);
        }
        foreach (var (alias, arch) in Aliases)
            d.Add(alias, arch);
        return d.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private static FrozenDictionary<uint, Architecture> BuildAuditIndex()
    {
        var d = new Dictionary<uint, Architecture>();
        foreach (var a in All)
            d.TryAdd(a.AuditArch, a); // x86_64 precedes x32, so 0xc000003e maps to x86_64
        return d.ToFrozenDictionary();
    }

    /// <summary>
    /// Finds an ABI by libseccomp name, alias (<c>i686</c>, <c>amd64</c>, <c>arm64</c>...) or OCI
    /// spelling (<c>SCMP_ARCH_X86_64</c>), ignoring case.
    /// </summary>
    public static bool TryGet(string name, [NotNullWhen(true)] out Architecture? architecture) =>
        ByName.TryGetValue(name.Trim(), out architecture);

    /// <summary>Like <see cref="TryGet"/>, but throws <see cref="UnknownArchitectureException"/> with suggestions.</summary>
    public static Architecture Get(string name) =>
        TryGet(name, out var a) ? a : throw new UnknownArchitectureException(name, Suggestions.Closest(name, ByName.Keys.Order(StringComparer.Ordinal)));

    /// <summary>
    /// The ABI whose <c>AUDIT_ARCH_*</c> value is <paramref name="auditArch"/>. 0xc000003e gives x86_64,
    /// never x32: the kernel reports both so, and only <see cref="X32SyscallBit"/> in <c>nr</c> tells them apart.
    /// </summary>
    public static bool TryFromAuditArch(uint auditArch, [NotNullWhen(true)] out Architecture? architecture) =>
        ByAuditArch.TryGetValue(auditArch, out architecture);

    /// <summary>Like <see cref="TryFromAuditArch"/>, but throws <see cref="UnknownArchitectureException"/> for an unknown value.</summary>
    public static Architecture FromAuditArch(uint auditArch) =>
        TryFromAuditArch(auditArch, out var a) ? a : throw new UnknownArchitectureException($"0x{auditArch:x8}", []);
}
