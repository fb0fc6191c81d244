using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Linux.Launch;
using SeccompKit.Policy.Language;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// Stage two skips its wait for the listener's hand-over only when its filter certainly notifies stage two's own execve
/// (the call then sleeps until the supervisor answers); an execve the filter may let run would close the listener before
/// the supervisor had it, so there it must wait.
/// </summary>
public sealed class ExecveWaitSpecs
{
    private const ulong Path = 0x7f00_0000_1000, Argv = 0x7f00_0000_2000, Envp = 0x7f00_0000_3000;
    private const uint X86_64 = 0xc000003e;
    private const uint UserNotif = 0x7fc00000, Allow = 0x7fff0000;

    private static bool Waits(BpfProgram p) => StageTwo.ExecveWaitsForSupervisor(p, Path, Argv, Envp);

    private static Instruction Ld(uint offset) => new((ushort)(BPF_LD | BPF_W | BPF_ABS), 0, 0, offset);
    private static Instruction Jeq(uint k, byte jt, byte jf) => new((ushort)(BPF_JMP | BPF_JEQ | BPF_K), jt, jf, k);
    private static Instruction Ret(uint k) => new((ushort)(BPF_RET | BPF_K), 0, 0, k);

    [Fact]
    public void The_learning_filter_notifies_execve_so_stage_two_need_not_spin()
    {
        Assert.True(Waits(PolicyCompiler.Compile(LearningFilter.NotifyUnless(null, watchExecs: true)).Program));
    }

    [Fact]
    public void A_base_profile_that_allows_execve_still_has_it_notified_when_learning_watches_execs()
    {
        var basePolicy = PolicyLanguage.Parse("default kill-process\narchitectures x86_64\nallow { execve, read, mmap(flags == 0x22) }\n");
        Assert.True(Waits(PolicyCompiler.Compile(LearningFilter.NotifyUnless(basePolicy, watchExecs: true)).Program));
        // Without watching execs the base's ALLOW decides: execve would run at once, so stage two must wait.
        Assert.False(Waits(PolicyCompiler.Compile(LearningFilter.NotifyUnless(basePolicy, watchExecs: false)).Program));
    }

    [Fact]
    public void A_filter_whose_execve_path_reads_an_argument_stage_two_cannot_know_is_not_predicted()
    {
        // nr == execve: notify only if args[3] (low half) == 0, which stage two cannot know (r10 at the call).
        var p = BpfProgram.Create([Ld(0), Jeq(59, 0, 3), Ld(40), Jeq(0, 0, 1), Ret(UserNotif), Ret(Allow)]);
        Assert.False(Waits(p));
        // The same shape on the instruction pointer.
        var ip = BpfProgram.Create([Ld(0), Jeq(59, 0, 3), Ld(8), Jeq(0, 0, 1), Ret(UserNotif), Ret(Allow)]);
        Assert.False(Waits(ip));
    }

    [Fact]
    public void Unknown_fields_read_only_on_other_syscalls_paths_do_not_matter()
    {
        // execve: notified at once; any other number reads args[3] and the instruction pointer.
        var p = BpfProgram.Create([Ld(4), Jeq(X86_64, 0, 5), Ld(0), Jeq(59, 0, 1), Ret(UserNotif), Ld(40), Ld(8), Ret(Allow)]);
        Assert.True(Waits(p));
        // And a filter reading execve's known arguments (the path pointer) decides on their real values.
        var byPath = BpfProgram.Create([Ld(0), Jeq(59, 0, 3), Ld(16), Jeq(unchecked((uint)Path), 0, 1), Ret(UserNotif), Ret(Allow)]);
        Assert.True(Waits(byPath));
        var otherPath = BpfProgram.Create([Ld(0), Jeq(59, 0, 3), Ld(16), Jeq(unchecked((uint)Path) + 8, 0, 1), Ret(UserNotif), Ret(Allow)]);
        Assert.False(Waits(otherPath));
    }
}
