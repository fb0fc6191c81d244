using System.Runtime.CompilerServices;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>The kernel layer: struct layouts, feature detection, and filtering a whole .NET process (in a child).</summary>
public sealed class SeccompKernelSpecs
{
    [Fact]
    public void Structs_have_the_kernel_sizes()
    {
        Assert.Equal(16, Unsafe.SizeOf<Interop.Seccomp.sock_fprog>());      // unsigned short + pad + pointer
        Assert.Equal(6, Unsafe.SizeOf<Interop.Seccomp.seccomp_notif_sizes>());
        Assert.Equal(12, Unsafe.SizeOf<Interop.Netlink.sockaddr_nl>());
        Assert.Equal(8, Unsafe.SizeOf<Interop.Netlink.pollfd>());
    }

    [Fact]
    public void Every_filter_flag_is_known_to_this_kernel_and_an_undefined_one_is_not()
    {
        // Kernel 6.18 has all six (WAIT_KILLABLE_RECV since 5.19); the probe installs nothing.
        foreach (var flag in Enum.GetValues<SeccompFilterFlags>().Where(f => f != SeccompFilterFlags.None))
            Assert.True(KernelFeatures.IsFlagSupported(flag), flag.ToString());
        Assert.False(KernelFeatures.IsFlagSupported((SeccompFilterFlags)64));
        Assert.Equal(SeccompMode.Disabled, SeccompKernel.Mode);
    }

    [Fact]
    public void Detect_agrees_with_actions_avail_in_proc()
    {
        var features = KernelFeatures.Detect();
        var fromProc = KernelFeatures.ActionsAvailFromProc();
        foreach (var (name, _, available) in features.Actions)
            Assert.Equal(fromProc.Contains(name), available);
        Assert.Equal(new NotifSizes(80, 24, 64), features.NotifSizes);
    }

    [Fact]
    public void Applying_a_filter_with_tsync_filters_every_thread_of_a_dotnet_process()
    {
        var (exit, output, err) = Victim.Run("tsync", "6");
        Assert.True(exit == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("before=ok", lines);                       // unfiltered before
        Assert.Equal(6, lines.Count(l => l.StartsWith("thread", StringComparison.Ordinal) && l.Contains("=errno77 ")));
        Assert.Contains("main=errno77", lines);
        Assert.Contains("late=errno77", lines);                    // threads created afterwards inherit it
        Assert.Contains("pool=errno77", lines);
        var tasks = lines.Single(l => l.StartsWith("tasks_filtered=", StringComparison.Ordinal))["tasks_filtered=".Length..].Split('/');
        Assert.Equal(tasks[1], tasks[0]);                          // every runtime thread too (GC, finalizer, ...)
        Assert.True(int.Parse(tasks[1], System.Globalization.CultureInfo.InvariantCulture) >= 8);
    }

    [Fact]
    public void Tsync_that_cannot_synchronise_a_thread_names_it_and_filters_nothing()
    {
        var (exit, output, err) = Victim.Run("tsync-conflict");
        Assert.True(exit == 0, err);
        var kv = Victim.Pairs(output);
        Assert.Equal("refused", kv["result"]);
        Assert.Equal(kv["expected_tid"], kv["reported_tid"]);
        Assert.Equal("own-filter", kv["name"]);
        Assert.Equal("ok", kv["main_after"]);
        Assert.Contains("no thread was filtered", output);
    }

    [Fact]
    public void Apply_sets_no_new_privs_and_filter_mode()
    {
        var (exit, output, err) = Victim.Run("nnp");
        Assert.True(exit == 0, err);
        var kv = Victim.Pairs(output);
        Assert.Equal("False", kv["nnp_before"]);
        Assert.Equal("Disabled", kv["mode_before"]);
        Assert.Equal("True", kv["nnp_after"]);
        Assert.Equal("Filter", kv["mode_after"]);
    }

    [Fact]
    public void The_library_launcher_runs_a_program_under_the_filter_and_names_the_killing_syscall()
    {
        // The victim's filter kills personality; python calls it only when asked.
        var (exit, output, err) = Victim.Run("launch", "/usr/bin/python3", "-c", "import ctypes; print('started', flush=True); ctypes.CDLL(None).personality(0xffffffff)");
        Assert.True(exit == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("started", lines[0]);
        Assert.Equal("status=killed by signal 31 (SIGSYS)", lines[1]);
        var kv = Victim.Pairs(output);
        Assert.Equal("personality", kv["killed_by"]);
        Assert.Equal("KILL_PROCESS", kv["action"]);
        Assert.Equal("True", kv["pid_matches"]);
    }

    [Fact]
    public void The_library_launcher_passes_the_exit_status_and_reports_a_missing_program()
    {
        var (_, output, _) = Victim.Run("launch", "/usr/bin/python3", "-c", "import sys; sys.exit(5)");
        Assert.Contains("status=exit status 5", output);
        (_, output, _) = Victim.Run("launch", "no-such-program-seccompkit");
        Assert.Contains("failure=ProgramNotFound errno=ENOENT", output);
    }
}
