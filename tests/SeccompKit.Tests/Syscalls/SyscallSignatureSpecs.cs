using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Syscalls;

public class SyscallSignatureSpecs
{
    public static TheoryData<string, string, int, string, string, ArgumentWidth, bool> Arguments => new()
    {
        // desc, syscall, index, name, C type, width, signed
        { "copy_file_range flags is unsigned int", "copy_file_range", 5, "flags", "unsigned int", ArgumentWidth.Bits32, false },
        { "copy_file_range len is size_t", "copy_file_range", 4, "len", "size_t", ArgumentWidth.Bits64, false },
        { "read count is size_t", "read", 2, "count", "size_t", ArgumentWidth.Bits64, false },
        { "read fd is unsigned int", "read", 0, "fd", "unsigned int", ArgumentWidth.Bits32, false },
        { "read buf is a pointer", "read", 1, "buf", "char *", ArgumentWidth.Bits64, false },
        { "accept4 flags is int", "accept4", 3, "flags", "int", ArgumentWidth.Bits32, true },
        { "lseek offset is off_t (long)", "lseek", 1, "offset", "off_t", ArgumentWidth.Bits64, true },
        { "umode_t is narrower than 32 bits", "fchmod", 1, "mode", "umode_t", ArgumentWidth.Bits32, false },
        { "const qualifiers do not change the class", "clock_gettime", 0, "which_clock", "const clockid_t", ArgumentWidth.Bits32, true },
    };

    [Theory]
    [MemberData(nameof(Arguments))]
    public void Arguments_carry_name_type_width_and_signedness(
        string desc, string syscall, int index, string name, string cType, ArgumentWidth width, bool signed)
    {
        Assert.True(SyscallSignatures.TryGet(syscall, out var sig), desc);
        Assert.Equal(new SyscallArgument(index, name, cType, signed, width), sig.Arguments[index]);
    }

    [Fact]
    public void Signatures_use_syscall_names_not_tracefs_function_names()
    {
        Assert.True(SyscallSignatures.TryGet("fstat", out var fstat));
        Assert.Equal("newfstat", fstat.TraceEvent);
        Assert.True(SyscallSignatures.TryGet("umount2", out var umount2));
        Assert.Equal("umount", umount2.TraceEvent);
        Assert.False(SyscallSignatures.TryGet("newfstat", out _));
    }

    [Fact]
    public void Syscalls_without_arguments_have_an_empty_list()
    {
        Assert.True(SyscallSignatures.TryGet("getpid", out var sig));
        Assert.Empty(sig.Arguments);
        Assert.False(SyscallSignatures.TryGet("no_such_syscall", out _));
    }

    [Fact]
    public void Every_signature_has_in_order_indices_and_names_an_x86_64_syscall()
    {
        Assert.True(SyscallSignatures.All.Length > 300);
        foreach (var sig in SyscallSignatures.All)
        {
            Assert.True(sig.Arguments.Length <= 6);
            Assert.Equal(Enumerable.Range(0, sig.Arguments.Length), sig.Arguments.Select(a => a.Index));
            Assert.True(Architecture.X86_64.Syscalls.Contains(sig.Name), $"{sig.Name} is not in the x86_64 table");
        }
        Assert.Contains("6.18", SyscallSignatures.Source);
    }
}
