using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Syscalls;

public class SyscallTableSpecs
{
    public static TheoryData<string, string, string, int> KnownNumbers => new()
    {
        // desc, arch, syscall, number in seccomp_data.nr
        { "x86_64 openat", "x86_64", "openat", 257 },
        { "x86_64 read is 0", "x86_64", "read", 0 },
        { "i386 openat", "x86", "openat", 295 },
        { "i386 direct socket (Linux 4.3+)", "x86", "socket", 359 },
        { "i386 socketcall", "x86", "socketcall", 102 },
        { "aarch64 openat (asm-generic)", "aarch64", "openat", 56 },
        { "riscv64 openat (asm-generic)", "riscv64", "openat", 56 },
        { "loongarch64 openat (asm-generic)", "loongarch64", "openat", 56 },
        { "arm openat", "arm", "openat", 322 },
        { "arm private cacheflush at __ARM_NR_BASE + 2", "arm", "cacheflush", 0x0f0002 },
        { "x32 read carries __X32_SYSCALL_BIT", "x32", "read", 0x40000000 },
        { "x32 openat carries __X32_SYSCALL_BIT", "x32", "openat", 0x40000000 + 257 },
        { "mips o32 read is 4000 + 3", "mips", "read", 4003 },
        { "mipsel o32 read is 4000 + 3", "mipsel", "read", 4003 },
        { "mips n64 read is 5000 + 0", "mips64", "read", 5000 },
        { "mips n32 read is 6000 + 0", "mips64n32", "read", 6000 },
        { "mips o32 socketcall is 4102 as in libseccomp", "mips", "socketcall", 4102 },
        { "s390x openat", "s390x", "openat", 288 },
        { "ppc64le openat", "ppc64le", "openat", 286 },
        { "sh openat", "sh", "openat", 295 },
        { "m68k openat", "m68k", "openat", 288 },
        { "parisc openat", "parisc", "openat", 275 },
    };

    [Theory]
    [MemberData(nameof(KnownNumbers))]
    public void Known_syscalls_have_the_kernel_visible_number(string desc, string arch, string name, int expected)
    {
        var table = Architecture.Get(arch).Syscalls;
        Assert.True(table.TryGetNumber(name, out int nr), desc);
        Assert.Equal(expected, nr);
        Assert.Equal(expected, table.GetNumber(name));
        Assert.True(table.TryGetName(expected, out var back));
        Assert.Equal(name, back);
    }

    [Fact]
    public void Every_syscall_of_every_abi_round_trips_name_to_number_to_name()
    {
        int checkedCount = 0;
        foreach (var arch in Architecture.All)
        {
            var table = arch.Syscalls;
            Assert.True(table.Count > 300, $"{arch.Name} has only {table.Count} syscalls");
            foreach (var (name, number) in table.All)
            {
                Assert.True(table.TryGetNumber(name, out int nr));
                Assert.Equal(number, nr);
                Assert.True(table.TryGetName(nr, out var back));
                Assert.Equal(name, back);
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 8000);
    }

    [Fact]
    public void All_is_ordered_by_number_and_bounded_by_MaxNumber()
    {
        foreach (var arch in Architecture.All)
        {
            var numbers = arch.Syscalls.All.Select(e => e.Number).ToList();
            Assert.Equal(numbers.Order(), numbers);
            Assert.Equal(numbers[^1], arch.Syscalls.MaxNumber);
            Assert.Equal(arch.Syscalls.All.Length, arch.Syscalls.Count);
        }
    }

    public static TheoryData<string, string, int> BitmapSizes => new()
    {
        // desc, arch, bitmap size (largest number without offset + 1)
        { "x86_64 ends at 471", "x86_64", 472 },
        { "x32 keeps its legacy 512..547 block", "x32", 548 },
        { "mips o32 is measured without the 4000 base", "mips", 472 },
        { "arm's private 0x0f0000 calls are outside the bitmap", "arm", 472 },
    };

    [Theory]
    [MemberData(nameof(BitmapSizes))]
    public void BitmapSize_is_the_largest_table_number_without_offset_plus_one(string desc, string arch, int expected)
    {
        Assert.True(Architecture.Get(arch).Syscalls.BitmapSize == expected, desc);
    }

    public static TheoryData<string, string, string, string[]> Typos => new()
    {
        // desc, arch, typo, expected best suggestion first
        { "a dropped letter", "x86_64", "opnat", ["openat"] },
        { "a transposition", "x86_64", "raed", ["read"] },
        { "upper case", "aarch64", "OPENAT", ["openat"] },
    };

    [Theory]
    [MemberData(nameof(Typos))]
    public void GetNumber_of_a_typo_suggests_the_closest_names(string desc, string arch, string typo, string[] best)
    {
        var e = Assert.Throws<UnknownSyscallException>(() => Architecture.Get(arch).Syscalls.GetNumber(typo));
        Assert.IsAssignableFrom<SeccompException>(e);
        Assert.True(e.Suggestions.Count is > 0 and <= 3, desc);
        Assert.Equal(best[0], e.Suggestions[0]);
        Assert.Contains($"Did you mean '{best[0]}'", e.Message);
    }

    [Fact]
    public void GetNumber_of_a_syscall_missing_here_names_the_abis_that_have_it()
    {
        var e = Assert.Throws<UnknownSyscallException>(() => Architecture.Aarch64.Syscalls.GetNumber("open"));
        Assert.Contains("does not exist on aarch64", e.Message);
        Assert.Contains("x86_64", e.Message);
        Assert.Same(Architecture.Aarch64, e.Architecture);
    }

    [Fact]
    public void GetNumber_of_a_call_reached_only_through_socketcall_says_so()
    {
        var e = Assert.Throws<UnknownSyscallException>(() => Architecture.X86.Syscalls.GetNumber("recv"));
        Assert.Contains("socketcall", e.Message);
        Assert.Contains("args[0] == 10", e.Message);
    }

    public static TheoryData<string, string, string, Multiplexer, int, int> Multiplexed => new()
    {
        // desc, arch, call, multiplexer, multiplexer nr, args[0]
        { "x86 socket is socketcall SYS_SOCKET", "x86", "socket", Multiplexer.Socketcall, 102, 1 },
        { "x86 recv exists only via socketcall", "x86", "recv", Multiplexer.Socketcall, 102, 10 },
        { "x86 sendmmsg is the last socketcall", "x86", "sendmmsg", Multiplexer.Socketcall, 102, 20 },
        { "x86 semop is ipc SEMOP", "x86", "semop", Multiplexer.Ipc, 117, 1 },
        { "x86 shmctl is ipc SHMCTL", "x86", "shmctl", Multiplexer.Ipc, 117, 24 },
        { "mips o32 multiplexers carry the 4000 base", "mips", "connect", Multiplexer.Socketcall, 4102, 3 },
        { "mips o32 ipc", "mips", "msgget", Multiplexer.Ipc, 4117, 13 },
        { "s390x keeps socketcall", "s390x", "accept4", Multiplexer.Socketcall, 102, 18 },
        { "ppc64le keeps ipc", "ppc64le", "semtimedop", Multiplexer.Ipc, 117, 4 },
        { "sheb keeps socketcall", "sheb", "bind", Multiplexer.Socketcall, 102, 2 },
        { "m68k keeps ipc", "m68k", "shmat", Multiplexer.Ipc, 117, 21 },
    };

    [Theory]
    [MemberData(nameof(Multiplexed))]
    public void Multiplexed_calls_give_the_multiplexer_number_and_args0(
        string desc, string arch, string name, Multiplexer mux, int muxNr, int call)
    {
        var table = Architecture.Get(arch).Syscalls;
        Assert.True(table.TryGetMultiplexed(name, out var m), desc);
        Assert.Equal(new MultiplexedCall(name, mux, muxNr, call), m);
        Assert.True(table.TryGetMultiplexedName(muxNr, call, out var back));
        Assert.Equal(name, back);
    }

    [Fact]
    public void The_ipc_reverse_lookup_ignores_the_version_in_the_high_16_bits()
    {
        Assert.True(Architecture.X86.Syscalls.TryGetMultiplexedName(117, (1 << 16) | 21, out var name));
        Assert.Equal("shmat", name);
        Assert.False(Architecture.X86.Syscalls.TryGetMultiplexedName(102, 0, out _));
        Assert.False(Architecture.X86.Syscalls.TryGetMultiplexedName(102, 21, out _));
        Assert.False(Architecture.X86.Syscalls.TryGetMultiplexedName(3, 1, out _));
    }

    [Fact]
    public void Only_libseccomps_socketcall_abis_have_multiplexers()
    {
        string[] expected = ["x86", "m68k", "mips", "mipsel", "ppc", "ppc64", "ppc64le", "s390", "s390x", "sh", "sheb"];
        Assert.Equal(expected, Architecture.All.Where(a => a.Syscalls.SocketcallNumber is not null).Select(a => a.Name));
        Assert.Equal(expected, Architecture.All.Where(a => a.Syscalls.IpcNumber is not null).Select(a => a.Name));
        Assert.False(Architecture.X86_64.Syscalls.TryGetMultiplexed("socket", out _));
        Assert.False(Architecture.Arm.Syscalls.TryGetMultiplexed("socket", out _));
    }

    [Fact]
    public void The_data_version_names_the_kernel()
    {
        Assert.StartsWith("#syscall (v", SyscallTable.DataVersion);
    }
}
