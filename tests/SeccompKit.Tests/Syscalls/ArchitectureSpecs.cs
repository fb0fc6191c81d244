using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Syscalls;

public class ArchitectureSpecs
{
    public static TheoryData<string, string, uint, bool, bool, int> KnownAbis => new()
    {
        // desc, name, AUDIT_ARCH_*, Is64Bit, IsLittleEndian, nr offset
        { "i386 is EM_386 | LE", "x86", 0x40000003, false, true, 0 },
        { "x86_64 is EM_X86_64 | 64 | LE", "x86_64", 0xc000003e, true, true, 0 },
        { "x32 shares x86_64's audit value and sets the x32 bit", "x32", 0xc000003e, false, true, 0x40000000 },
        { "arm EABI is EM_ARM | LE", "arm", 0x40000028, false, true, 0 },
        { "aarch64 is EM_AARCH64 | 64 | LE", "aarch64", 0xc00000b7, true, true, 0 },
        { "loongarch64 is EM_LOONGARCH | 64 | LE", "loongarch64", 0xc0000102, true, true, 0 },
        { "m68k is big-endian EM_68K", "m68k", 0x4, false, false, 0 },
        { "mips o32 starts at 4000", "mips", 0x8, false, false, 4000 },
        { "mipsel o32 starts at 4000", "mipsel", 0x40000008, false, true, 4000 },
        { "mips n64 starts at 5000", "mips64", 0x80000008, true, false, 5000 },
        { "mipsel n64 starts at 5000", "mipsel64", 0xc0000008, true, true, 5000 },
        { "mips n32 has the N32 convention bit and starts at 6000", "mips64n32", 0xa0000008, false, false, 6000 },
        { "mipsel n32 has the N32 convention bit and starts at 6000", "mipsel64n32", 0xe0000008, false, true, 6000 },
        { "parisc is EM_PARISC", "parisc", 0xf, false, false, 0 },
        { "parisc64 is EM_PARISC | 64", "parisc64", 0x8000000f, true, false, 0 },
        { "ppc is EM_PPC", "ppc", 0x14, false, false, 0 },
        { "ppc64 is EM_PPC64 | 64", "ppc64", 0x80000015, true, false, 0 },
        { "ppc64le is EM_PPC64 | 64 | LE", "ppc64le", 0xc0000015, true, true, 0 },
        { "riscv64 is EM_RISCV | 64 | LE", "riscv64", 0xc00000f3, true, true, 0 },
        { "s390 is EM_S390", "s390", 0x16, false, false, 0 },
        { "s390x is EM_S390 | 64", "s390x", 0x80000016, true, false, 0 },
        { "libseccomp's sh is little-endian AUDIT_ARCH_SHEL", "sh", 0x4000002a, false, true, 0 },
        { "libseccomp's sheb is AUDIT_ARCH_SH", "sheb", 0x2a, false, false, 0 },
    };

    [Theory]
    [MemberData(nameof(KnownAbis))]
    public void Each_abi_has_the_audit_value_size_endianness_and_offset_of_linux_audit_h(
        string desc, string name, uint auditArch, bool is64Bit, bool isLittleEndian, int offset)
    {
        var arch = Architecture.Get(name);
        Assert.True(arch.Name == name, desc);
        Assert.Equal(auditArch, arch.AuditArch);
        Assert.Equal(is64Bit, arch.Is64Bit);
        Assert.Equal(isLittleEndian, arch.IsLittleEndian);
        Assert.Equal(offset, arch.SyscallNumberOffset);
    }

    [Fact]
    public void All_lists_libseccomps_23_abis_once_each()
    {
        Assert.Equal(23, Architecture.All.Length);
        Assert.Equal(Architecture.All.Length, Architecture.All.Select(a => a.Name).Distinct().Count());
        Assert.Equal(KnownAbis.Count, Architecture.All.Length);
    }

    public static TheoryData<string, string, string> Spellings => new()
    {
        // desc, spelling, expected name
        { "uname -m of 32-bit x86", "i686", "x86" },
        { "Debian's i386", "i386", "x86" },
        { "Go/Docker amd64", "amd64", "x86_64" },
        { "Apple/Go arm64", "arm64", "aarch64" },
        { "OCI spelling", "SCMP_ARCH_X86_64", "x86_64" },
        { "OCI spelling of x32", "SCMP_ARCH_X32", "x32" },
        { "OCI spelling of n32", "SCMP_ARCH_MIPSEL64N32", "mipsel64n32" },
        { "case does not matter", "AArch64", "aarch64" },
        { "Debian ppc64el", "ppc64el", "ppc64le" },
        { "surrounding spaces are ignored", " riscv64 ", "riscv64" },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public void TryGet_accepts_aliases_and_oci_spellings(string desc, string spelling, string expected)
    {
        Assert.True(Architecture.TryGet(spelling, out var arch), desc);
        Assert.Equal(expected, arch.Name);
    }

    [Fact]
    public void Get_of_an_unknown_name_throws_with_close_suggestions_and_the_known_list()
    {
        var e = Assert.Throws<UnknownArchitectureException>(() => Architecture.Get("x86-64"));
        Assert.IsAssignableFrom<SeccompException>(e);
        Assert.Contains("x86_64", e.Suggestions);
        Assert.True(e.Suggestions.Count <= 3);
        Assert.Contains("Did you mean", e.Message);
        Assert.Contains("mipsel64n32", e.Message); // the full list of known names
        Assert.Contains("aarch", Assert.Throws<UnknownArchitectureException>(() => Architecture.Get("aarch46")).Suggestions[0]);
    }

    [Fact]
    public void FromAuditArch_gives_x86_64_not_x32_for_0xc000003e()
    {
        Assert.Same(Architecture.X86_64, Architecture.FromAuditArch(0xc000003e));
        Assert.Same(Architecture.X86, Architecture.FromAuditArch(0x40000003));
        Assert.False(Architecture.TryFromAuditArch(0x12345678, out _));
        Assert.Throws<UnknownArchitectureException>(() => Architecture.FromAuditArch(0x12345678));
    }

    [Fact]
    public void Every_abi_except_x32_round_trips_through_its_audit_value()
    {
        foreach (var arch in Architecture.All.Where(a => a != Architecture.X32))
            Assert.Same(arch, Architecture.FromAuditArch(arch.AuditArch));
    }

    [Fact]
    public void The_native_host_is_x86_64_and_one_process_can_use_x86_64_x86_and_x32()
    {
        Assert.Same(Architecture.X86_64, Architecture.NativeHost);
        Assert.Equal(["x86_64", "x86", "x32"], Architecture.NativeHost.ProcessAbis.Select(a => a.Name));
        Assert.Equal([Architecture.Riscv64], Architecture.Riscv64.ProcessAbis);
    }

    [Fact]
    public void Endianness_variants_share_their_table()
    {
        Assert.Equal(Architecture.Mips.Syscalls.All.Select(e => e.Name), Architecture.Mipsel.Syscalls.All.Select(e => e.Name));
        Assert.Equal(Architecture.Ppc64.Syscalls.All, Architecture.Ppc64Le.Syscalls.All);
        Assert.Equal(Architecture.Sh.Syscalls.All, Architecture.Sheb.Syscalls.All);
    }
}

public sealed class ActionCacheAbiSpecs
{
    [Theory]
    [InlineData("x86_64", "x86_64,x86")]
    [InlineData("aarch64", "aarch64,arm")]
    [InlineData("s390x", "s390x,s390")]
    [InlineData("riscv64", "riscv64")]
    [InlineData("x32", "")]
    public void The_kernel_caches_its_native_and_compat_abis(string kernel, string expected)
    {
        Assert.Equal(expected, string.Join(",", Architecture.Get(kernel).ActionCacheAbis.Select(a => a.Name)));
    }

    [Theory]
    [InlineData("x86", true)]
    [InlineData("x32", false)]
    [InlineData("mips64n32", false)]
    [InlineData("arm", true)]
    public void Only_x32_and_n32_are_never_cached(string abi, bool cached)
    {
        Assert.Equal(cached, Architecture.Get(abi).IsCachedByAnyKernel);
    }
}
