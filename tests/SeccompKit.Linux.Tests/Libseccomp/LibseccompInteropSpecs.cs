using System.Globalization;
using SeccompKit.Bpf;

namespace SeccompKit.Linux.Tests.Libseccomp;

/// <summary>
/// Differential tests against libseccomp: filters it compiles (hand-written rule sets, the Docker default
/// profile translated the way runc does, and seeded random rule sets) must load through
/// <see cref="BpfProgram.FromRaw"/>, write back byte for byte, and give under <see cref="Interpreter"/>
/// exactly the return value the rule sets mean (computed by export_filters.py from the rules, not the BPF).
/// </summary>
public sealed class LibseccompInteropSpecs(LibseccompExport export, ITestOutputHelper output) : IClassFixture<LibseccompExport>
{
    private const int MaxReported = 25;

    [Fact]
    public void Every_libseccomp_filter_validates_round_trips_and_gives_the_rules_action_for_every_vector()
    {
        var problems = new List<string>();
        int vectors = 0, mismatches = 0;
        foreach (var f in export.Filters)
        {
            if (!BpfProgram.TryCreate(BpfProgram.ParseRaw(f.Bpf), out var program, out var error))
            {
                problems.Add($"{f.Name}: libseccomp's filter was refused: {error}");
                continue;
            }
            if (!program!.ToRaw().AsSpan().SequenceEqual(f.Bpf))
                problems.Add($"{f.Name}: ToRaw() differs from the exported file");
            // FromRaw is the public entry point; it must agree with the two steps above.
            if (!BpfProgram.FromRaw(f.Bpf).Equals(program))
                problems.Add($"{f.Name}: FromRaw gave a different program");

            var compiled = CompiledFilter.Compile(program);
            foreach (var v in f.Vectors)
            {
                vectors++;
                var data = new SeccompData(unchecked((int)v.Nr), v.Arch, 0, v.Args);
                uint got = Interpreter.Evaluate(program, data);
                uint gotCompiled = compiled.Evaluate(data);
                if (gotCompiled != got)
                {
                    mismatches++;
                    if (problems.Count < MaxReported)
                        problems.Add($"{f.Name}: {data}: CompiledFilter gave 0x{gotCompiled:x8}, the interpreter 0x{got:x8}");
                }
                var gotResult = new SeccompResult(got);
                var want = new SeccompResult(v.Expected);
                if (got != v.Expected || gotResult.Action != want.Action || gotResult.Data != want.Data)
                {
                    mismatches++;
                    if (problems.Count < MaxReported)
                        problems.Add($"{f.Name} ({f.Description}): {data} gave {gotResult} (0x{got:x8}), the rules say {want} (0x{v.Expected:x8})");
                }
            }
        }

        string line = string.Create(CultureInfo.InvariantCulture,
            $"libseccomp-interop: {export.Filters.Count} filters, {vectors} vectors, {mismatches} mismatches");
        output.WriteLine($"libseccomp {export.LibseccompVersion}");
        Kernel.KernelModel.ReportCounts(output, line);
        foreach (var p in problems) output.WriteLine(p);

        // Guard against a vacuous pass: ~30 hand-written sets, the Docker profile and 300 random sets.
        Assert.True(export.Filters.Count >= 300, $"only {export.Filters.Count} filters were exported");
        Assert.True(vectors >= 10_000, $"only {vectors} vectors were exported");
        Assert.True(problems.Count == 0 && mismatches == 0,
            $"{mismatches} mismatches, {problems.Count} problems (first {MaxReported}):\n" + string.Join('\n', problems));
    }

    [Fact]
    public void Every_libseccomp_filter_disassembles_with_names_and_assembles_back_byte_for_byte()
    {
        var symbols = new SeccompKit.Syscalls.SyscallSymbols();
        var problems = new List<string>();
        int named = 0;
        foreach (var f in export.Filters)
        {
            var program = BpfProgram.FromRaw(f.Bpf);
            string listing = Disassembler.Disassemble(program.Instructions.AsSpan(), symbols);
            if (System.Text.RegularExpressions.Regex.IsMatch(listing, @"if \(A [=!]= [a-z_][a-z0-9_]*\)")) named++;
            var back = BpfProgram.ToRaw(Assembler.Assemble(listing, symbols));
            if (!back.AsSpan().SequenceEqual(f.Bpf)) problems.Add($"{f.Name}: readable listing does not assemble to the exported bytes");
            var raw = BpfProgram.ToRaw(Assembler.Assemble(Disassembler.DisassembleRaw(program.Instructions.AsSpan())));
            if (!raw.AsSpan().SequenceEqual(f.Bpf)) problems.Add($"{f.Name}: raw listing does not assemble to the exported bytes");
        }
        string line = $"libseccomp-disasm-roundtrip: {export.Filters.Count} filters ({named} with syscall names), {problems.Count} mismatches";
        Kernel.KernelModel.ReportCounts(output, line);
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(10)));
        Assert.True(named > export.Filters.Count / 2, $"only {named} listings printed syscall names");
    }

    [Fact]
    public void The_docker_filter_gives_every_profile_syscall_resolved_by_libseccomp_the_profiles_action()
    {
        var docker = export.Filters.Single(f => f.Name == "docker-default");
        var program = BpfProgram.FromRaw(docker.Bpf);
        var wrong = new List<string>();
        foreach (var c in export.DockerCrossCheck)
        {
            var data = new SeccompData(unchecked((int)c.Nr), c.AuditArch);
            uint got = Interpreter.Evaluate(program, data);
            if (got != c.Expected)
                wrong.Add($"{c.Name} on {c.ArchName} (nr {c.Nr}): {new SeccompResult(got)}, the profile says {new SeccompResult(c.Expected)}");
        }
        var arches = export.DockerCrossCheck.Select(c => c.ArchName).Distinct().Order().ToList();
        output.WriteLine($"docker cross-check: {export.DockerCrossCheck.Count} (name, arch) pairs over {string.Join(", ", arches)}, {wrong.Count} mismatches");
        foreach (var w in wrong.Take(MaxReported)) output.WriteLine(w);

        Assert.Equal(["x32", "x86", "x86_64"], arches);
        Assert.True(export.DockerCrossCheck.Count >= 3 * 300, $"only {export.DockerCrossCheck.Count} (name, arch) pairs");
        // The profile both allows (ALLOW) and refuses (clone3 -> ERRNO(ENOSYS), cap-gated names -> default ERRNO(EPERM)).
        Assert.Contains(export.DockerCrossCheck, c => c.Expected == SeccompReturn.SECCOMP_RET_ALLOW);
        Assert.Contains(export.DockerCrossCheck, c => c.Name == "clone3" && c.Expected == (SeccompReturn.SECCOMP_RET_ERRNO | 38));
        Assert.Contains(export.DockerCrossCheck, c => c.Expected == (SeccompReturn.SECCOMP_RET_ERRNO | 1));
        Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(MaxReported)));
    }
}
