using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using static SeccompKit.Linux.Interop.Ptrace;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>The ptrace constants and structures of Interop.Ptrace.cs against the C headers, compiled with gcc.</summary>
public sealed class DumpInteropSpecs
{
    private static readonly Lazy<Dictionary<string, long>> Header = new(CompileAndRun);

    public static TheoryData<string, long> Constants() => new()
    {
        { "PTRACE_DETACH", PTRACE_DETACH },
        { "PTRACE_GETSIGINFO", PTRACE_GETSIGINFO },
        { "PTRACE_SEIZE", PTRACE_SEIZE },
        { "PTRACE_INTERRUPT", PTRACE_INTERRUPT },
        { "PTRACE_SECCOMP_GET_FILTER", PTRACE_SECCOMP_GET_FILTER },
        { "PTRACE_EVENT_STOP", PTRACE_EVENT_STOP },
        { "WNOHANG", WNOHANG },
        { "__WALL", __WALL },
        { "EIO", (long)Errno.EIO },
        { "ECHILD", (long)Errno.ECHILD },
        { "EMEDIUMTYPE", (long)Errno.EMEDIUMTYPE },
        { "sizeof(siginfo_t)", Marshal.SizeOf<siginfo_t>() },
        { "offsetof(siginfo_t, si_code)", Marshal.OffsetOf<siginfo_t>(nameof(siginfo_t.si_code)) },
        { "PTRACE_SYSCALL", PTRACE_SYSCALL },
        { "PTRACE_SETOPTIONS", PTRACE_SETOPTIONS },
        { "PTRACE_GETREGSET", PTRACE_GETREGSET },
        { "PTRACE_SETREGSET", PTRACE_SETREGSET },
        { "PTRACE_GET_SYSCALL_INFO", PTRACE_GET_SYSCALL_INFO },
        { "PTRACE_O_TRACESYSGOOD", PTRACE_O_TRACESYSGOOD },
        { "PTRACE_O_SUSPEND_SECCOMP", PTRACE_O_SUSPEND_SECCOMP },
        { "PTRACE_SYSCALL_INFO_NONE", PTRACE_SYSCALL_INFO_NONE },
        { "PTRACE_SYSCALL_INFO_ENTRY", PTRACE_SYSCALL_INFO_ENTRY },
        { "PTRACE_SYSCALL_INFO_EXIT", PTRACE_SYSCALL_INFO_EXIT },
        { "NT_PRSTATUS", NT_PRSTATUS },
        { "SIGTRAP", SIGTRAP },
        { "sizeof(struct user_regs_struct)", Marshal.SizeOf<user_regs_struct>() },
        { "offsetof(struct user_regs_struct, rax)", Marshal.OffsetOf<user_regs_struct>(nameof(user_regs_struct.rax)) },
        { "offsetof(struct user_regs_struct, orig_rax)", Marshal.OffsetOf<user_regs_struct>(nameof(user_regs_struct.orig_rax)) },
        { "offsetof(struct user_regs_struct, rip)", Marshal.OffsetOf<user_regs_struct>(nameof(user_regs_struct.rip)) },
        { "offsetof(struct user_regs_struct, rdi)", Marshal.OffsetOf<user_regs_struct>(nameof(user_regs_struct.rdi)) },
        { "offsetof(struct user_regs_struct, r10)", Marshal.OffsetOf<user_regs_struct>(nameof(user_regs_struct.r10)) },
        { "offsetof(struct user_regs_struct, rbp)", Marshal.OffsetOf<user_regs_struct>(nameof(user_regs_struct.rbp)) },
        { "sizeof(struct iovec)", Marshal.SizeOf<iovec>() },
        { "sizeof(struct ptrace_syscall_info)", Marshal.SizeOf<ptrace_syscall_info>() },
        { "offsetof(struct ptrace_syscall_info, arch)", Marshal.OffsetOf<ptrace_syscall_info>(nameof(ptrace_syscall_info.arch)) },
        { "offsetof(struct ptrace_syscall_info, instruction_pointer)", Marshal.OffsetOf<ptrace_syscall_info>(nameof(ptrace_syscall_info.instruction_pointer)) },
        { "offsetof(struct ptrace_syscall_info, entry.nr)", Marshal.OffsetOf<ptrace_syscall_info>(nameof(ptrace_syscall_info.nr_or_rval)) },
    };

    [Theory]
    [MemberData(nameof(Constants))]
    public void Each_constant_and_size_matches_the_C_headers(string name, long ours)
    {
        Assert.True(Header.Value.TryGetValue(name, out var c), $"{name} is missing from the C program's output");
        Assert.Equal(c, ours);
    }

    [Theory]
    [InlineData(0x0000, true, false, false)]     // exited with status 0
    [InlineData(0x0500, true, false, false)]     // exited with status 5
    [InlineData(0x0009, false, true, false)]     // killed by SIGKILL
    [InlineData(0x80057f, false, false, true)]   // PTRACE_EVENT_STOP << 16 | SIGTRAP << 8 | 0x7f
    [InlineData(0x0a7f, false, false, true)]     // signal-delivery-stop, SIGUSR1
    public void Wait_status_macros_decode_like_glibc(int status, bool exited, bool signaled, bool stopped)
    {
        Assert.Equal(exited, WIFEXITED(status));
        Assert.Equal(signaled, WIFSIGNALED(status));
        Assert.Equal(stopped, WIFSTOPPED(status));
        if (status == 0x80057f) Assert.Equal((PTRACE_EVENT_STOP, 5), (PtraceEvent(status), WSTOPSIG(status)));
        if (status == 0x0a7f) Assert.Equal((0, 10), (PtraceEvent(status), WSTOPSIG(status)));
        if (exited) Assert.Equal(status >> 8, WEXITSTATUS(status));
        if (signaled) Assert.Equal(9, WTERMSIG(status));
    }

    private static Dictionary<string, long> CompileAndRun()
    {
        const string program = """
            #define _GNU_SOURCE
            #include <errno.h>
            #include <signal.h>
            #include <stddef.h>
            #include <stdio.h>
            #include <elf.h>
            #include <sys/ptrace.h>
            #include <sys/uio.h>
            #include <sys/user.h>
            #include <sys/wait.h>
            #define P(name, value) printf("%s %ld\n", name, (long)(value))
            int main(void) {
                P("PTRACE_DETACH", PTRACE_DETACH);
                P("PTRACE_GETSIGINFO", PTRACE_GETSIGINFO);
                P("PTRACE_SEIZE", PTRACE_SEIZE);
                P("PTRACE_INTERRUPT", PTRACE_INTERRUPT);
                P("PTRACE_SECCOMP_GET_FILTER", PTRACE_SECCOMP_GET_FILTER);
                P("PTRACE_EVENT_STOP", PTRACE_EVENT_STOP);
                P("WNOHANG", WNOHANG);
                P("__WALL", __WALL);
                P("EIO", EIO);
                P("ECHILD", ECHILD);
                P("EMEDIUMTYPE", EMEDIUMTYPE);
                P("sizeof(siginfo_t)", sizeof(siginfo_t));
                P("offsetof(siginfo_t, si_code)", offsetof(siginfo_t, si_code));
                P("PTRACE_SYSCALL", PTRACE_SYSCALL);
                P("PTRACE_SETOPTIONS", PTRACE_SETOPTIONS);
                P("PTRACE_GETREGSET", PTRACE_GETREGSET);
                P("PTRACE_SETREGSET", PTRACE_SETREGSET);
                P("PTRACE_GET_SYSCALL_INFO", PTRACE_GET_SYSCALL_INFO);
                P("PTRACE_O_TRACESYSGOOD", PTRACE_O_TRACESYSGOOD);
                P("PTRACE_O_SUSPEND_SECCOMP", PTRACE_O_SUSPEND_SECCOMP);
                P("PTRACE_SYSCALL_INFO_NONE", PTRACE_SYSCALL_INFO_NONE);
                P("PTRACE_SYSCALL_INFO_ENTRY", PTRACE_SYSCALL_INFO_ENTRY);
                P("PTRACE_SYSCALL_INFO_EXIT", PTRACE_SYSCALL_INFO_EXIT);
                P("NT_PRSTATUS", NT_PRSTATUS);
                P("SIGTRAP", SIGTRAP);
                P("sizeof(struct user_regs_struct)", sizeof(struct user_regs_struct));
                P("offsetof(struct user_regs_struct, rax)", offsetof(struct user_regs_struct, rax));
                P("offsetof(struct user_regs_struct, orig_rax)", offsetof(struct user_regs_struct, orig_rax));
                P("offsetof(struct user_regs_struct, rip)", offsetof(struct user_regs_struct, rip));
                P("offsetof(struct user_regs_struct, rdi)", offsetof(struct user_regs_struct, rdi));
                P("offsetof(struct user_regs_struct, r10)", offsetof(struct user_regs_struct, r10));
                P("offsetof(struct user_regs_struct, rbp)", offsetof(struct user_regs_struct, rbp));
                P("sizeof(struct iovec)", sizeof(struct iovec));
                /* glibc names the kernel's struct ptrace_syscall_info __ptrace_syscall_info */
                P("sizeof(struct ptrace_syscall_info)", sizeof(struct __ptrace_syscall_info));
                P("offsetof(struct ptrace_syscall_info, arch)", offsetof(struct __ptrace_syscall_info, arch));
                P("offsetof(struct ptrace_syscall_info, instruction_pointer)", offsetof(struct __ptrace_syscall_info, instruction_pointer));
                P("offsetof(struct ptrace_syscall_info, entry.nr)", offsetof(struct __ptrace_syscall_info, entry.nr));
                return 0;
            }
            """;
        var dir = Directory.CreateTempSubdirectory("seccompkit-ptrace-h-");
        try
        {
            string source = Path.Combine(dir.FullName, "p.c"), binary = Path.Combine(dir.FullName, "p");
            File.WriteAllText(source, program);
            var (code, _, err) = Run("gcc", "-Wall", "-Werror", "-o", binary, source);
            if (code != 0) throw new InvalidOperationException($"gcc failed ({code}); install gcc and libc6-dev:\n{err}");
            var (rc, output, _) = Run(binary);
            if (rc != 0) throw new InvalidOperationException($"the header probe exited {rc}");
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => (Name: l[..l.LastIndexOf(' ')], Value: long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
                .ToDictionary(t => t.Name, t => t.Value);
        }
        finally { dir.Delete(recursive: true); }
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        try
        {
            var r = ChildProcess.Run(file, args);
            return (r.Exit, r.Out, r.Err);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message}; the header check needs gcc: apt-get install gcc libc6-dev", e);
        }
    }
}
