using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Learning;

/// <summary>
/// The pure half of learning as library calls: <see cref="LearnedProfile.Build"/> (synthesis, the base, the runtime set,
/// the replay proof), <see cref="LearnReportSyscall.From"/> and <see cref="ComplainReport.For"/>.
/// </summary>
public class LearnedProfileSpecs
{
    private static readonly Architecture X64 = Architecture.X86_64;

    private static LearnedCalls Record(params (string Name, ulong[] Args)[] calls) => ComplainPatchSpecs.Record(calls);

    private static PolicyAction Action(SeccompPolicy p, string name, params ulong[] args) =>
        PolicyEvaluator.Evaluate(p, new SeccompData(X64.Syscalls.GetNumber(name), X64.AuditArch, 0, args)).Action;

    [Fact]
    public void A_profile_from_nothing_allows_what_was_recorded_and_the_baseline_and_proves_it_by_replay()
    {
        var learned = LearnedProfile.Build(Record(("read", [0, 0, 0]), ("write", [1, 0, 0]), ("mkdir", [0, 0])));

        Assert.True(learned.Verified);
        Assert.Equal(3, learned.Replay.Replayed);
        Assert.Equal(PolicyAction.Allow, Action(learned.Profile, "mkdir"));
        Assert.Equal(PolicyAction.Allow, Action(learned.Profile, "rt_sigreturn")); // baseline
        Assert.Equal(PolicyAction.Errno(1), Action(learned.Profile, "rmdir"));      // the default, as Docker
        Assert.Equal(PolicyAction.Errno(38), Action(learned.Profile, "clone3"));    // answered ENOSYS, as learning did
        Assert.Empty(learned.RuntimeAdded);
    }

    [Fact]
    public void Options_choose_the_default_action_the_baseline_and_clone3()
    {
        var learned = LearnedProfile.Build(Record(("read", [0, 0, 0])),
            new LearnedProfileOptions { DefaultAction = PolicyAction.KillProcess, Baseline = false, Clone3 = Clone3Rule.Omit });

        Assert.Equal(PolicyAction.KillProcess, Action(learned.Profile, "rt_sigreturn"));
        Assert.Equal(PolicyAction.KillProcess, Action(learned.Profile, "clone3"));
        Assert.Empty(learned.Synthesis.Baseline);
    }

    [Fact]
    public void With_a_base_the_result_is_the_base_plus_what_is_new_under_the_base_default()
    {
        var basis = PolicyLanguage.Parse("default kill-process\nallow { read, write, exit_group }\nerrno(EACCES) { mkdir }\n");

        var learned = LearnedProfile.Build(Record(("mkdir", [0, 0])), new LearnedProfileOptions { Base = basis, DefaultAction = PolicyAction.Errno(1) });

        Assert.True(learned.Verified);
        Assert.Equal(PolicyAction.Allow, Action(learned.Profile, "mkdir"));       // the base's refusing rule gave way
        Assert.Equal(PolicyAction.Allow, Action(learned.Profile, "read"));        // the base's own
        Assert.Equal(PolicyAction.KillProcess, Action(learned.Profile, "rmdir")); // the base's default, not DefaultAction
    }

    [Fact]
    public void Combine_keeps_the_base_rules_of_syscalls_that_were_not_learned()
    {
        var basis = PolicyLanguage.Parse("default errno(EPERM)\nallow { read }\nerrno(EACCES) { mkdir, rmdir }\n");
        var learned = PolicyLanguage.Parse("default errno(EPERM)\nallow { mkdir }\n");

        var combined = LearnedProfile.Combine(basis, learned);

        Assert.Equal(PolicyAction.Allow, Action(combined, "mkdir"));
        Assert.Equal(PolicyAction.Errno(13), Action(combined, "rmdir"));
        Assert.Equal(PolicyAction.Allow, Action(combined, "read"));
    }

    [Fact]
    public void A_runtime_set_is_allowed_and_what_the_run_did_not_make_is_named()
    {
        var runtime = RuntimeSyscalls.For(OciTarget.Default);
        var made = runtime.Syscalls[0];

        var learned = LearnedProfile.Build(Record((made, [0, 0, 0, 0, 0, 0])), new LearnedProfileOptions { Runtime = runtime });

        Assert.DoesNotContain(made, learned.RuntimeAdded);
        Assert.Equal(runtime.Syscalls.Length - 1, learned.RuntimeAdded.Length);
        foreach (var n in learned.RuntimeAdded) Assert.Contains(n, learned.Profile.SyscallNames);
    }

    [Fact]
    public void A_report_entry_lists_arguments_and_values_only_for_syscalls_with_security_arguments()
    {
        var calls = Record(("read", [0, 0, 0]), ("socket", [1, 1, 0]), ("socket", [1, 1, 0]), ("socket", [2, 1, 0]));

        var read = LearnReportSyscall.From(calls.Syscalls.Single(s => s.Name == "read"));
        var socket = LearnReportSyscall.From(calls.Syscalls.Single(s => s.Name == "socket"));

        Assert.Null(read.Arguments);
        Assert.Null(read.TooManyValues);
        Assert.Null(read.Values);
        Assert.Equal(("x86_64", 3L, 100), (socket.Abi, socket.Count, socket.FirstPid));
        Assert.False(socket.TooManyValues);
        Assert.Contains(socket.Values!.Value, v => v.Values[0] == 1 && v.Count == 2);
        Assert.Contains(socket.Values!.Value, v => v.Values[0] == 2 && v.Count == 1);
    }

    [Fact]
    public void A_complain_report_names_each_refused_syscall_with_the_policy_action_and_the_patch_as_oci_entries()
    {
        var policy = PolicyLanguage.Parse("default kill-process\nallow { read, write, exit_group, rt_sigreturn, restart_syscall, exit, getpid, gettid, getppid, getpgrp, " +
            "clock_gettime, clock_getres, gettimeofday, time, getcpu, sched_yield, futex }\nerrno(EACCES) { mkdir }\n");

        var report = ComplainReport.For(Record(("mkdir", [0, 0]), ("mkdir", [0, 0]), ("rmdir", [0])), policy, clone3Refused: 0);

        Assert.Equal(3, report.Total);
        Assert.Equal(["mkdir", "rmdir"], report.Complaints.Select(c => c.Syscall.Name)); // most called first
        Assert.Equal([PolicyAction.Errno(13)], report.Complaints[0].Actions);
        Assert.Equal([PolicyAction.KillProcess], report.Complaints[1].Actions);
        Assert.Null(report.PatchProblem);
        var entry = Assert.Single(report.PatchEntries);
        Assert.Equal("""{"names":["mkdir","rmdir"],"action":"SCMP_ACT_ALLOW"}""", OciJson.WriteEntry(entry));
    }

    [Fact]
    public void A_complain_report_of_a_run_the_policy_allowed_entirely_is_empty()
    {
        var policy = PolicyLanguage.Parse("default allow\n");

        var report = ComplainReport.For(Record(), policy, 0);

        Assert.True(report.RefusedNothing);
        Assert.True(report.Patch.IsEmpty);
        Assert.Empty(report.PatchEntries);
    }

    [Fact]
    public void A_report_entry_serializes_like_the_oci_writer_writes_it()
    {
        var export = OciExporter.Export(PolicyLanguage.Parse("default errno(EPERM)\nallow { read }\n"), OciTarget.Default);
        using var doc = JsonDocument.Parse(export.Json);
        var entries = doc.RootElement.GetProperty("syscalls").EnumerateArray().Select(e => e.GetRawText().Replace(" ", "").Replace("\n", ""));

        Assert.Equal(entries, export.Seccomp.Syscalls!.Select(OciJson.WriteEntry));
    }
}
