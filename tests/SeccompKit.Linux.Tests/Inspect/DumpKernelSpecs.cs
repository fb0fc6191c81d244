using System.Runtime.InteropServices;
using static SeccompKit.Linux.Interop.Ptrace;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>
/// What PTRACE_SECCOMP_GET_FILTER itself does on this kernel, asked through the raw interop (below
/// <see cref="SeccompKit.Linux.Inspect.FilterDump"/>): the index order, the lengths and the exact errnos that
/// FilterDump's error messages rely on. docs/KERNEL-FINDINGS.md cites these.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class DumpKernelSpecs
{
    [Fact]
    public void The_kernel_numbers_filters_from_the_oldest_and_ends_with_ENOENT()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        var (lengths, end) = OnOwnThread(() => Stopped(held.Pid, () =>
        {
            var l = Enumerable.Range(0, 3).Select(i => Call(PTRACE_SECCOMP_GET_FILTER, held.Pid, i)).ToArray();
            return (l, Call(PTRACE_SECCOMP_GET_FILTER, held.Pid, 3));
        }));
        // Index 0 is the first filter installed, although ptrace(2) says "the most recently installed filter has
        // the index number 0". The lengths (7, 4, 10) tell the three apart.
        Assert.Equal([KnownFilters.Oldest.Length, KnownFilters.Middle.Length, KnownFilters.Newest.Length], lengths);
        Assert.Equal(-(long)Errno.ENOENT, end);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_tracee_without_filters_gives_EINVAL_not_EMEDIUMTYPE()
    {
        using var held = HeldProcess.Start([]);
        long r = OnOwnThread(() => Stopped(held.Pid, () => Call(PTRACE_SECCOMP_GET_FILTER, held.Pid, 0)));
        Assert.Equal(-(long)Errno.EINVAL, r);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_tracee_that_is_not_stopped_or_not_traced_gives_ESRCH()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        Assert.Equal(-(long)Errno.ESRCH, OnOwnThread(() => Call(PTRACE_SECCOMP_GET_FILTER, held.Pid, 0)));
        var (running, detach) = OnOwnThread(() =>
        {
            Assert.Equal(0L, Call(PTRACE_SEIZE, held.Pid, 0));
            // PTRACE_DETACH needs a stopped tracee too: the kernel detaches this one when the thread ends.
            return (Call(PTRACE_SECCOMP_GET_FILTER, held.Pid, 0), Call(PTRACE_DETACH, held.Pid, 0));
        });
        Assert.Equal(-(long)Errno.ESRCH, running);
        Assert.Equal(-(long)Errno.ESRCH, detach);
        FilterDumpSpecs.WaitFor(() => held.Status().TracerPid == 0, "the kernel to detach the tracee when the tracer thread ended");
        Assert.Equal((-1L, 13), held.Call(KnownFilters.Getgid));
        Assert.Equal(0, held.Exit(0));
    }

    /// <summary>The result, or -errno.</summary>
    private static long Call(int request, int pid, nint addr)
    {
        long r = ptrace(request, pid, addr, 0);
        return r >= 0 ? r : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Seizes and stops <paramref name="pid"/>, runs <paramref name="body"/>, detaches.</summary>
    private static T Stopped<T>(int pid, Func<T> body)
    {
        Assert.Equal(0L, Call(PTRACE_SEIZE, pid, 0));
        try
        {
            Assert.Equal(0L, Call(PTRACE_INTERRUPT, pid, 0));
            // The stop report is left for the kernel to drop at detach; /proc shows the stop ('t').
            FilterDumpSpecs.WaitFor(() => File.ReadAllLines($"/proc/{pid}/status").Any(l => l.StartsWith("State:\tt", StringComparison.Ordinal)), "the tracing stop");
            return body();
        }
        finally { Call(PTRACE_DETACH, pid, 0); }
    }

    /// <summary>A tracer is a thread: the whole session runs on one that ends with it.</summary>
    private static T OnOwnThread<T>(Func<T> session) => InterruptionKernelSpecs.OnOwnThread(session);
}
