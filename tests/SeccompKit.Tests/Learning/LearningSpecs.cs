using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Learning;

public class SyscallRecorderSpecs
{
    private static readonly uint X64 = Architecture.X86_64.AuditArch;
    private static int Nr(string name, Architecture? abi = null) => (abi ?? Architecture.X86_64).Syscalls.GetNumber(name);

    [Fact]
    public void Counts_calls_per_ABI_and_number_and_keeps_the_first_caller()
    {
        var r = new SyscallRecorder();
        Assert.True(r.Record(X64, Nr("read"), 10, 0x1000, [3, 0, 0]));      // new
        Assert.False(r.Record(X64, Nr("read"), 11, 0x2000, [4, 0, 0]));     // seen (the last-key cache)
        Assert.True(r.Record(X64, Nr("write"), 12, 0x3000, [1]));           // new
        Assert.False(r.Record(X64, Nr("read"), 13, 0x4000, [5]));           // seen (the dictionary)
        Assert.True(r.Record(Architecture.X86.AuditArch, Nr("read", Architecture.X86), 14, 0x5000, [5])); // same number 0? no: i386 read is 3, another ABI
        Assert.Equal(5, r.Total);
        Assert.Equal(3, r.Distinct);
        var snap = r.Snapshot();
        Assert.Equal(5, snap.Total);
        var read = snap.Syscalls.Single(s => s.Name == "read" && s.Abi == Architecture.X86_64);
        Assert.Equal((3L, 10, 0x1000UL), (read.Count, read.FirstPid, read.FirstInstructionPointer));
        Assert.Equal(3, read.Samples.Length);
        Assert.True(read.Arguments.IsEmpty);
        Assert.Empty(read.Values);
        Assert.Equal("x86", snap.Syscalls.Single(s => s.AuditArch == Architecture.X86.AuditArch).Abi!.Name);
        // Ordered by AUDIT_ARCH, then number.
        Assert.Equal(snap.Syscalls.OrderBy(s => s.AuditArch).ThenBy(s => s.Nr), snap.Syscalls);
    }

    [Fact]
    public void Records_the_masked_security_arguments_and_one_representative_per_tuple()
    {
        var r = new SyscallRecorder();
        r.Record(X64, Nr("clone"), 1, 0, [0x3d0f00, 0xaaaa]);                   // pthread_create: no namespace flag
        r.Record(X64, Nr("clone"), 2, 0, [0x1200011, 0xbbbb]);                  // fork: no namespace flag either
        r.Record(X64, Nr("clone"), 3, 0, [0x1200011 | 0x1000_0000, 0]);         // CLONE_NEWUSER
        r.Record(X64, Nr("ioctl"), 4, 0, [1, 0x5401]);                          // TCGETS
        r.Record(X64, Nr("ioctl"), 5, 0, [2, 0xffff_ffff_0000_5401]);           // TCGETS with garbage in the upper half
        r.Record(X64, Nr("socket"), 6, 0, [1, 0x80801, 0]);                     // AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC
        var snap = r.Snapshot();
        var clone = snap.Syscalls.Single(s => s.Name == "clone");
        Assert.Equal([new RecordedArgument(0, SecurityArguments.CloneNamespaceFlags, "flags & CLONE_NEW*")], clone.Arguments);
        Assert.Equal([(0UL, 2L, 1), (0x1000_0000UL, 1L, 3)], clone.Values.OrderBy(v => v.Values.V0).Select(v => (v.Values.V0, v.Count, v.FirstPid)));
        Assert.Equal(new ArgumentVector(0x3d0f00, 0xaaaa, 0, 0, 0, 0), clone.Values.Single(v => v.Values.V0 == 0).Representative);
        var ioctl = snap.Syscalls.Single(s => s.Name == "ioctl");
        Assert.Equal(new ArgumentTuple(0x5401, 0, 0), Assert.Single(ioctl.Values).Values);
        Assert.Equal(2, ioctl.Values[0].Count);
        Assert.Equal(2, ioctl.Samples.Length); // both whole vectors are kept for the replay
        var socket = snap.Syscalls.Single(s => s.Name == "socket");
        Assert.Equal(new ArgumentTuple(1, 1, 0), Assert.Single(socket.Values).Values); // type & SOCK_TYPE_MASK
    }

    [Fact]
    public void Open_flags_are_recorded_only_when_asked()
    {
        foreach (var openFlags in new[] { false, true })
        {
            var r = new SyscallRecorder(openFlags);
            r.Record(X64, Nr("openat"), 1, 0, [unchecked((ulong)-100), 0x1234, 0x80000]);
            r.Record(X64, Nr("open"), 1, 0, [0x1234, 0x241, 0x1a4]);
            var snap = r.Snapshot();
            Assert.Equal(openFlags ? [0x80000UL] : [], snap.Syscalls.Single(s => s.Name == "openat").Values.Select(v => v.Values.V0));
            Assert.Equal(openFlags ? [0x241UL] : [], snap.Syscalls.Single(s => s.Name == "open").Values.Select(v => v.Values.V0));
        }
    }

    [Fact]
    public void Keeps_at_most_MaxSamples_distinct_vectors_and_MaxDistinctValues_tuples()
    {
        var r = new SyscallRecorder();
        for (int i = 0; i < SyscallRecorder.MaxDistinctValues; i++) r.Record(X64, Nr("ioctl"), 1, 0, [0, (ulong)i]);
        var full = r.Snapshot().Syscalls.Single();
        Assert.False(full.TooManyValues);
        Assert.Equal(SyscallRecorder.MaxDistinctValues, full.Values.Length);
        Assert.Equal(SyscallRecorder.MaxSamples, full.Samples.Length);
        Assert.Equal(Enumerable.Range(0, SyscallRecorder.MaxSamples).Select(i => (ulong)i), full.Samples.Select(s => s.A1).Order());
        r.Record(X64, Nr("ioctl"), 1, 0, [0, 5]);                                 // a value seen: still fine
        Assert.False(r.Snapshot().Syscalls.Single().TooManyValues);
        r.Record(X64, Nr("ioctl"), 1, 0, [0, 100_000]);                           // one more distinct value
        var over = r.Snapshot().Syscalls.Single();
        Assert.True(over.TooManyValues);
        Assert.Equal(SyscallRecorder.MaxDistinctValues + 2, over.Count);
    }

    public static TheoryData<string, uint, int, string?> Abis => new()
    {
        { "x86_64", Architecture.X86_64.AuditArch, 0, "x86_64" },
        { "x32: the x32 bit on AUDIT_ARCH_X86_64", Architecture.X86_64.AuditArch, Architecture.X32SyscallBit | 514, "x32" },
        { "i386 via int 0x80", Architecture.X86.AuditArch, 5, "x86" },
        { "aarch64 (another kernel's ABI: still known)", Architecture.Aarch64.AuditArch, 63, "aarch64" },
        { "an AUDIT_ARCH no ABI has", 0x1234_5678, 0, null },
    };

    [Theory, MemberData(nameof(Abis))]
    public void Resolves_the_ABI_from_AUDIT_ARCH_and_the_x32_bit(string desc, uint arch, int nr, string? expected)
    {
        _ = desc;
        Assert.Equal(expected, SyscallRecorder.ResolveAbi(arch, nr)?.Name);
    }
}

public class ProfileSynthesizerSpecs
{
    /// <summary>Only what was recorded: no baseline, no clone3 rule (the specs below that test those say so).</summary>
    private static readonly SynthesisOptions Bare = new() { Baseline = false, Clone3 = Clone3Rule.Omit };

    private static readonly Architecture X64 = Architecture.X86_64;

    private sealed record Call(Architecture Abi, string Name, ulong[] Args);

    private static LearnedCalls Record(IEnumerable<Call> calls, bool openFlags = false)
    {
        var r = new SyscallRecorder(openFlags);
        foreach (var c in calls) r.Record(c.Abi.AuditArch, c.Abi.Syscalls.GetNumber(c.Name), 1, 0x1000, c.Args);
        return r.Snapshot();
    }

    private static uint Run(SeccompPolicy policy, Architecture abi, string name, params ulong[] args) =>
        Interpreter.Evaluate(PolicyCompiler.Compile(policy).Program, new SeccompData(abi.Syscalls.GetNumber(name), abi.AuditArch, 0, args));

    private const uint Allow = SeccompReturn.SECCOMP_RET_ALLOW;
    private static readonly uint Eperm = PolicyAction.Errno(1).ReturnValue;

    // desc, the calls recorded ("name arg0 arg1 ...; ..."), the probe, whether it is allowed
    public static TheoryData<string, string, string, bool> Cases => new()
    {
        { "clone for threads and forks: a thread is allowed", "clone 0x3d0f00; clone 0x1200011", "clone 0x3d0f00|0x100", true },
        { "clone for threads and forks: CLONE_NEWUSER is refused", "clone 0x3d0f00; clone 0x1200011", "clone 0x1200011|0x10000000", false },
        { "clone for threads and forks: CLONE_NEWNS is refused", "clone 0x3d0f00", "clone 0x3d0f00|0x20000", false },
        { "clone with CLONE_NEWUSER seen: allowed", "clone 0x10000011", "clone 0x10000011", true },
        { "clone with CLONE_NEWUSER seen: CLONE_NEWUSER|CLONE_NEWNET is refused", "clone 0x10000011", "clone 0x50000011", false },
        { "clone with CLONE_NEWUSER seen: no namespace at all is refused (exact tuples)", "clone 0x10000011", "clone 0x11", false },
        { "ioctl TCGETS seen: TCGETS allowed", "ioctl 1 0x5401", "ioctl 7 0x5401", true },
        { "ioctl TCGETS seen: upper-half garbage is ignored", "ioctl 1 0x5401", "ioctl 7 0xdeadbeef00005401", true },
        { "ioctl TCGETS seen: TIOCSTI is refused", "ioctl 1 0x5401", "ioctl 1 0x5412", false },
        { "socket AF_UNIX stream seen: with SOCK_CLOEXEC allowed (type & 0xf)", "socket 1 1 0", "socket 1 0x80001 0", true },
        { "socket AF_UNIX stream seen: AF_INET is refused", "socket 1 1 0", "socket 2 1 0", false },
        { "socket AF_INET TCP seen: UDP is refused (protocol)", "socket 2 1 6", "socket 2 1 17", false },
        { "mmap PROT_READ seen: PROT_READ|PROT_EXEC is refused", "mmap 0 4096 1 2 0xffffffffffffffff 0", "mmap 0 4096 5 2 0xffffffffffffffff 0", false },
        { "mprotect PROT_READ seen: other addresses are fine", "mprotect 0x1000 4096 1", "mprotect 0x7000 8192 1", true },
        // Protections: fewer rights than seen, and any without PROT_EXEC, are ordinary paths (another thread's malloc arena, a
        // signal at another moment); PROT_EXEC and PROT_WRITE|PROT_EXEC only as seen.
        { "mprotect PROT_NONE seen: PROT_READ|PROT_WRITE is allowed", "mprotect 0x1000 4096 0", "mprotect 0x1000 4096 3", true },
        { "mprotect PROT_READ seen: PROT_READ|PROT_EXEC is refused", "mprotect 0x1000 4096 1", "mprotect 0x1000 4096 5", false },
        { "mprotect PROT_READ|PROT_EXEC seen: PROT_READ|PROT_WRITE|PROT_EXEC is refused", "mprotect 0x1000 4096 5", "mprotect 0x1000 4096 7", false },
        { "mprotect PROT_READ|PROT_EXEC seen: PROT_EXEC alone is allowed", "mprotect 0x1000 4096 5", "mprotect 0x1000 4096 4", true },
        { "mprotect RWX seen: PROT_READ|PROT_EXEC is allowed (fewer rights)", "mprotect 0x1000 4096 7", "mprotect 0x1000 4096 5", true },
        { "mprotect RWX seen: RWX with PROT_GROWSDOWN is allowed", "mprotect 0x1000 4096 7", "mprotect 0x1000 4096 0x1000007", true },
        { "mmap PROT_READ|PROT_EXEC seen: PROT_WRITE|PROT_EXEC is refused", "mmap 0 4096 5 2 3 0", "mmap 0 4096 6 2 3 0", false },
        { "pkey_mprotect PROT_READ seen: PROT_EXEC is refused", "pkey_mprotect 0x1000 4096 1 1", "pkey_mprotect 0x1000 4096 4 1", false },
        { "prctl PR_SET_NAME seen: PR_SET_SECCOMP is refused", "prctl 15 0x1234", "prctl 22 2", false },
        { "fcntl F_GETFL seen: F_SETFL is refused", "fcntl 3 3", "fcntl 3 4", false },
        { "personality query seen: PER_LINUX32 is refused", "personality 0xffffffff", "personality 8", false },
        { "read seen: any read allowed", "read 0 0x1000 1", "read 9 9 9", true },
        { "read seen: write is refused", "read 0 0x1000 1", "write 1 0x1000 1", false },
        { "openat without --open-flags: any flags", "openat 0 0 0", "openat 0 0 0x241", true },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Allows_exactly_the_recorded_value_tuples(string desc, string recorded, string probe, bool allowed)
    {
        _ = desc;
        var calls = Record(recorded.Split(';').Select(Parse));
        var policy = ProfileSynthesizer.Synthesize(calls, Bare).Policy;
        Assert.True(ReplayCheck.Run(policy, calls).AllAllowed);
        var p = Parse(probe);
        Assert.Equal(allowed ? Allow : Eperm, Run(policy, X64, p.Name, p.Args));
    }

    /// <summary>"clone 0x3d0f00|0x100 7" → clone(0x3d0f100, 7) on x86_64.</summary>
    private static Call Parse(string text)
    {
        var words = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new Call(X64, words[0], [.. words[1..].Select(w => w.Split('|').Aggregate(0UL, (acc, v) => acc | (v.StartsWith("0x", StringComparison.Ordinal)
            ? ulong.Parse(v[2..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)
            : ulong.Parse(v, System.Globalization.CultureInfo.InvariantCulture))))]);
    }

    [Fact]
    public void Writes_one_rule_per_tuple_with_MASKED_EQ_or_EQ_and_the_default_action()
    {
        var calls = Record([
            new(X64, "clone", [0x3d0f00]), new(X64, "clone", [0x1200011 | 0x1000_0000]),
            new(X64, "ioctl", [1, 0x5413]), new(X64, "ioctl", [1, 0x5401]), new(X64, "ioctl", [2, 0x5401]),
            new(X64, "read", [0]), new(X64, "exit_group", [0]),
        ]);
        var policy = ProfileSynthesizer.Synthesize(calls, Bare with { DefaultAction = PolicyAction.KillProcess }).Policy;
        Assert.Equal(PolicyAction.KillProcess, policy.DefaultAction);
        Assert.Equal(PolicyAction.KillThread, policy.BadArchAction); // runc keeps libseccomp's
        Assert.Equal([X64], policy.Architectures);
        Assert.Equal(
        [
            "clone(arg0 & 0x7e020000 == 0x0) -> ALLOW",
            "clone(arg0 & 0x7e020000 == 0x10000000) -> ALLOW",
            "exit_group -> ALLOW",
            "ioctl(arg1 & 0xffffffff == 0x5401) -> ALLOW",
            "ioctl(arg1 & 0xffffffff == 0x5413) -> ALLOW",
            "read -> ALLOW",
        ], policy.Rules.Select(Text));
        Assert.Equal([ArgOperator.MaskedEqual], policy.RulesFor("ioctl").SelectMany(r => r.Conditions).Select(c => c.Operator).Distinct());
    }

    private static string Text(SyscallRule r) =>
        r.Syscall + (r.IsUnconditional ? "" : "(" + string.Join(", ", r.Conditions.Select(c => $"arg{c.Index} & 0x{c.Mask:x} == 0x{c.Value:x}")) + ")") + " -> " + r.Action;

    [Fact]
    public void ArgumentMode_None_writes_no_conditions()
    {
        var calls = Record([new(X64, "clone", [0x3d0f00]), new(X64, "ioctl", [1, 0x5401]), new(X64, "socket", [1, 1, 0]), new(X64, "read", [])]);
        var policy = ProfileSynthesizer.Synthesize(calls, Bare with { Arguments = ArgumentMode.None }).Policy;
        Assert.Equal(["clone", "ioctl", "read", "socket"], policy.Rules.Select(r => r.Syscall));
        Assert.All(policy.Rules, r => Assert.True(r.IsUnconditional));
        Assert.Equal(Allow, Run(policy, X64, "clone", 0x1000_0000)); // namespaces are then allowed: that is what None means
    }

    [Fact]
    public void More_than_MaxDistinctValues_tuples_drop_the_conditions_with_a_note()
    {
        var atLimit = Record(Enumerable.Range(0, SyscallRecorder.MaxDistinctValues).Select(i => new Call(X64, "ioctl", [0, 0x5400 + (ulong)i])));
        var kept = ProfileSynthesizer.Synthesize(atLimit, Bare);
        Assert.Equal(SyscallRecorder.MaxDistinctValues, kept.Policy.RulesFor("ioctl").Length);
        Assert.Empty(kept.Notes);
        Assert.Equal(Eperm, Run(kept.Policy, X64, "ioctl", 0, 0x9999));

        var over = Record(Enumerable.Range(0, SyscallRecorder.MaxDistinctValues + 1).Select(i => new Call(X64, "ioctl", [0, 0x5400 + (ulong)i])).Append(new(X64, "prctl", [15])));
        var dropped = ProfileSynthesizer.Synthesize(over, Bare);
        Assert.True(Assert.Single(dropped.Policy.RulesFor("ioctl")).IsUnconditional);
        Assert.Equal(Allow, Run(dropped.Policy, X64, "ioctl", 0, 0x9999));
        Assert.False(Assert.Single(dropped.Policy.RulesFor("prctl")).IsUnconditional); // the others keep theirs
        var note = Assert.Single(dropped.Notes);
        Assert.Contains("ioctl", note);
        Assert.Contains($"more than {SyscallRecorder.MaxDistinctValues} distinct values of request", note);
        Assert.True(ReplayCheck.Run(dropped.Policy, over).AllAllowed);
    }

    [Fact]
    public void Unknown_numbers_and_ABIs_get_a_note_and_fail_the_replay_check()
    {
        int unnamed = LearningGenerators.UnnamedX86_64[0];
        var r = new SyscallRecorder();
        r.Record(X64.AuditArch, X64.Syscalls.GetNumber("read"), 1, 0, [0]);
        r.Record(X64.AuditArch, unnamed, 1, 0x4242, [1, 2]);
        r.Record(LearningGenerators.UnknownAuditArch, 3, 1, 0, [1]);
        var calls = r.Snapshot();
        var synthesis = ProfileSynthesizer.Synthesize(calls, Bare);
        Assert.Equal(["read"], synthesis.Policy.SyscallNames);
        Assert.Equal(2, synthesis.Notes.Length);
        Assert.Contains(synthesis.Notes, n => n.Contains($"x86_64 syscall {unnamed}", StringComparison.Ordinal) && n.Contains("cannot name it", StringComparison.Ordinal));
        Assert.Contains(synthesis.Notes, n => n.Contains("AUDIT_ARCH 0x12345678", StringComparison.Ordinal));
        var replay = ReplayCheck.Run(synthesis.Policy, calls);
        Assert.False(replay.AllAllowed);
        Assert.Equal(3, replay.Replayed);
        Assert.Equal([(unnamed, "ERRNO(EPERM)"), (3, "KILL_THREAD")],
            replay.Refused.Select(x => (x.Data.Nr, x.Action)).OrderByDescending(x => x.Nr));
        Assert.Equal(0x4242UL, replay.Refused.Single(x => x.Data.Nr == unnamed).Data.InstructionPointer);
    }

    [Fact]
    public void A_name_seen_on_one_ABI_is_allowed_on_every_ABI_seen_and_other_ABIs_are_killed()
    {
        var calls = Record([new(X64, "read", []), new(Architecture.X86, "write", []), new(Architecture.X86, "mmap2", [0, 0, 3])]);
        var policy = ProfileSynthesizer.Synthesize(calls, Bare).Policy;
        Assert.Equal([X64, Architecture.X86], policy.Architectures);
        Assert.Equal(Allow, Run(policy, X64, "write"));
        Assert.Equal(Allow, Run(policy, Architecture.X86, "read"));
        Assert.Equal(Allow, Run(policy, Architecture.X86, "mmap2", 0, 0, 3));
        Assert.Equal(Eperm, Run(policy, Architecture.X86, "mmap2", 0, 0, 7));
        Assert.Equal(PolicyAction.KillThread.ReturnValue, Run(policy, Architecture.X32, "read"));
        Assert.Equal(PolicyAction.KillThread.ReturnValue, Run(policy, Architecture.Aarch64, "read"));
        // i386 is listed in the OCI profile, so runc returns ENOSYS above the largest i386 number it names (mmap2, 192).
        Assert.Equal(new Dictionary<Architecture, uint> { [Architecture.X86] = 192 }, policy.EnosysAbove);
        Assert.Equal(Eperm, Run(policy, Architecture.X86, "fcntl"));                         // 55: the default
        Assert.Equal(PolicyAction.Errno(38).ReturnValue, Run(policy, Architecture.X86, "openat")); // 295: ENOSYS
        Assert.Equal(Eperm, Run(policy, X64, "openat"));                                      // x86_64 is not listed: no stub
        var back = SeccompKit.Policy.Oci.OciImporter.Import(SeccompKit.Policy.Oci.OciExporter.Export(policy, SeccompKit.Policy.Oci.OciTarget.Default).Json).Policy;
        Assert.Equal(policy.EnosysAbove, back.EnosysAbove);
    }

    [Fact]
    public void Extra_syscalls_are_allowed_unconditionally_and_nothing_else_is_added()
    {
        var calls = Record([new(X64, "ioctl", [1, 0x5401])]);
        var policy = ProfileSynthesizer.Synthesize(calls, Bare with { Extra = [("ioctl", "runtime"), ("getpid", "runtime")] }).Policy;
        Assert.Equal(["getpid", "ioctl"], policy.Rules.Select(r => r.Syscall));
        Assert.All(policy.Rules, r => Assert.True(r.IsUnconditional));
    }

    [Fact]
    public void Nothing_recorded_gives_a_profile_that_allows_nothing()
    {
        var policy = ProfileSynthesizer.Synthesize(new SyscallRecorder().Snapshot(), Bare).Policy;
        Assert.Empty(policy.Rules);
        Assert.Equal([X64], policy.EffectiveArchitectures);
        Assert.Equal(Eperm, Run(policy, X64, "read"));
    }

    [Fact]
    public void The_baseline_is_allowed_for_every_covered_ABI_and_named_in_the_result()
    {
        var calls = Record([new(X64, "read", []), new(X64, "futex", [0, 0x81])]);
        var result = ProfileSynthesizer.Synthesize(calls);
        var x64Only = LearnedBaseline.For(X64).Select(b => b.Syscall).ToHashSet();
        Assert.Contains("rt_sigreturn", x64Only);
        Assert.Contains("restart_syscall", x64Only);
        Assert.DoesNotContain("sigreturn", x64Only); // i386 only
        // Recorded members are not reported as added; every other member of the covered ABI is, and is allowed.
        Assert.Equal(x64Only.Where(n => n != "futex").Order(StringComparer.Ordinal), result.Baseline.Select(b => b.Syscall).Order(StringComparer.Ordinal));
        foreach (var name in x64Only) Assert.Equal(Allow, Run(result.Policy, X64, name));
        Assert.Equal(Eperm, Run(result.Policy, X64, "mkdir"));
        Assert.All(result.Baseline, b => Assert.False(string.IsNullOrWhiteSpace(b.Reason)));

        // i386 seen: its sigreturn and 64-bit-time calls join.
        var withI386 = ProfileSynthesizer.Synthesize(Record([new(X64, "read", []), new(Architecture.X86, "read", [])]));
        Assert.Contains(withI386.Baseline, b => b.Syscall == "sigreturn");
        Assert.Equal(Allow, Run(withI386.Policy, Architecture.X86, "sigreturn"));
        Assert.Equal(Allow, Run(withI386.Policy, Architecture.X86, "clock_gettime64"));

        // --no-baseline: nothing but what was recorded.
        var none = ProfileSynthesizer.Synthesize(calls, new SynthesisOptions { Baseline = false, Clone3 = Clone3Rule.Omit });
        Assert.Empty(none.Baseline);
        Assert.Equal(["futex", "read"], none.Policy.SyscallNames.Order(StringComparer.Ordinal));
        Assert.Equal(Eperm, Run(none.Policy, X64, "rt_sigreturn"));
    }

    [Fact]
    public void Clone3_gets_ENOSYS_by_default_and_is_allowed_only_when_asked_and_recorded()
    {
        var withClone3 = Record([new(X64, "read", []), new(X64, "clone3", [0x1000, 88])]);
        var enosys = ProfileSynthesizer.Synthesize(withClone3, new SynthesisOptions { Baseline = false });
        Assert.Equal(PolicyAction.Errno(38).ReturnValue, Run(enosys.Policy, X64, "clone3"));
        Assert.Contains(enosys.Notes, n => n.Contains("answers it ENOSYS instead", StringComparison.Ordinal));
        // Even when the run never made it: glibc may call it where it did not, and must fall back to clone then.
        var unrecorded = ProfileSynthesizer.Synthesize(Record([new(X64, "read", [])]), new SynthesisOptions { Baseline = false });
        Assert.Equal(PolicyAction.Errno(38).ReturnValue, Run(unrecorded.Policy, X64, "clone3"));
        Assert.Empty(unrecorded.Notes);

        var allowed = ProfileSynthesizer.Synthesize(withClone3, new SynthesisOptions { Baseline = false, Clone3 = Clone3Rule.Allow });
        Assert.Equal(Allow, Run(allowed.Policy, X64, "clone3"));
        Assert.Contains(allowed.Notes, n => n.Contains("no seccomp filter can check them", StringComparison.Ordinal));
        var allowedUnrecorded = ProfileSynthesizer.Synthesize(Record([new(X64, "read", [])]), new SynthesisOptions { Baseline = false, Clone3 = Clone3Rule.Allow });
        Assert.Equal(Eperm, Run(allowedUnrecorded.Policy, X64, "clone3"));
    }

    [Theory]
    [InlineData("unshare -m: CLONE_NEWNS allowed", "unshare", 0x20000UL, 0UL, 0x20000UL, 0UL, true)]
    [InlineData("unshare -m learned, unshare -U refused", "unshare", 0x20000UL, 0UL, 0x10000000UL, 0UL, false)]
    [InlineData("unshare -m learned, -m plus -U refused", "unshare", 0x20000UL, 0UL, 0x10020000UL, 0UL, false)]
    [InlineData("unshare of files only: no namespace bit, allowed with other non-namespace flags", "unshare", 0x400UL, 0UL, 0x600UL, 0UL, true)]
    [InlineData("unshare CLONE_NEWTIME is a namespace flag", "unshare", 0UL, 0UL, 0x80UL, 0UL, false)]
    [InlineData("setns into a net namespace learned, a user namespace refused", "setns", 3UL, 0x40000000UL, 3UL, 0x10000000UL, false)]
    [InlineData("setns nstype 0 (any) learned is only nstype 0", "setns", 3UL, 0UL, 4UL, 0x40000000UL, false)]
    [InlineData("setns same kind, other fd", "setns", 3UL, 0x40000000UL, 9UL, 0x40000000UL, true)]
    public void Unshare_and_setns_are_allowed_only_with_the_namespace_flags_seen(string desc, string name, ulong a0, ulong a1, ulong p0, ulong p1, bool allowed)
    {
        _ = desc;
        var policy = ProfileSynthesizer.Synthesize(Record([new(X64, name, [a0, a1])]), Bare).Policy;
        Assert.Equal(allowed ? Allow : Eperm, Run(policy, X64, name, p0, p1));
    }
}
