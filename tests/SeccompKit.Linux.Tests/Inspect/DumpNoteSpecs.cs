using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Linux.Inspect;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary><see cref="FilterDumpResult.Notes"/>: what the reader of a dump is told, as data (the CLI prints them).</summary>
public class DumpNoteSpecs
{
    private static readonly ImmutableArray<Instruction> Allow = [Instruction.Stmt(BpfOpcodes.BPF_RET | BpfOpcodes.BPF_K, SeccompReturn.SECCOMP_RET_ALLOW)];

    private static ThreadActivity Thread(int tid, int filters = 1) =>
        new(tid, "app", 'S', "read", InterruptionForecast.Transparent, "restarted") { SeccompFilters = filters };

    private static FilterDumpResult Dump(int pid, DumpedThread? thread, params ThreadActivity[] others) =>
        new(pid, SeccompMode.Filter, [Allow]) { Thread = thread, ThreadsWithOtherFilterCounts = others };

    public static TheoryData<int, StopOutcome, DumpNoteKind?, string> Cases => new()
    {
        { 100, StopOutcome.CallRestarted, null, "the main thread, plainly stopped: nothing to say" },
        { 101, StopOutcome.CallRestarted, DumpNoteKind.Note, "another thread than the one asked for is named" },
        { 100, StopOutcome.RestartSyscallCarried, DumpNoteKind.Note, "a stop that needed restart_syscall carried is named" },
        { 100, StopOutcome.EintrNotPrevented, DumpNoteKind.Warning, "the program saw EINTR: a warning" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_thread_read_is_named_when_it_matters(int tid, StopOutcome outcome, DumpNoteKind? expected, string desc)
    {
        var notes = Dump(100, new DumpedThread(Thread(tid), outcome, "read returned -EINTR")).Notes;

        Assert.True(expected == notes.SingleOrDefault()?.Kind, desc);
    }

    [Fact]
    public void A_thread_under_another_stack_is_a_warning_that_carries_the_thread()
    {
        var other = Thread(102, filters: 2);

        var note = Assert.Single(Dump(100, new DumpedThread(Thread(100), StopOutcome.CallRestarted, ""), other).Notes);

        Assert.Equal(DumpNoteKind.Warning, note.Kind);
        Assert.Same(other, note.OtherThread);
        Assert.Equal("thread 102 (app) has 2 filters, not 1 like the thread read: it runs under another stack (filters installed without TSYNC)", note.Message);
    }
}
