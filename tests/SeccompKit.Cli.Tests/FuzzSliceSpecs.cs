using SeccompKit.Fuzz;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// The CI slice of the fuzz campaign (tools/Fuzz, issue 17): a bounded number of mutated profiles, policies, listings,
/// raw programs, agent payloads and configurations through every reader and the command line in-process, then a few
/// runs of the binary as a process. The seed is random per run (SECCOMPKIT_FUZZ_SEED fixes it) and printed on failure
/// with the command that reruns the failing input. bench/results/fuzz.md has the long campaign.
/// </summary>
public class FuzzSliceSpecs
{
    private static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("SECCOMPKIT_FUZZ_SEED"), out int s) ? s : Random.Shared.Next();

    private static string Report(int seed, IEnumerable<Finding> findings) =>
        $"fuzz seed {seed} (rerun: SECCOMPKIT_FUZZ_SEED={seed}, or dotnet tools/Fuzz/bin/Release/net10.0/SeccompKit.Fuzz.dll run --seed {seed} --start INPUT --inputs 1):\n" +
        string.Join("\n\n", findings.Select(f => $"{f.Kind} in {f.Target}, input {f.Index}:\n{f.Message}"));

    [Fact]
    public void A_bounded_slice_of_mutated_inputs_finds_no_internal_error_hang_or_excess_memory_in_any_reader()
    {
        int seed = Seed();
        var corpus = Corpus.Load(Repo.Root);
        using var work = new TempDir();
        var result = new Campaign(new CampaignOptions { Seed = seed, Repo = Repo.Root, Inputs = 1500, TimeLimit = TimeSpan.FromSeconds(10) }, corpus, work.PathName).Run();
        Assert.True(result.Inputs == 1500, $"seed {seed}: {result.Inputs} inputs ran");
        Assert.True(!result.HasFindings, Report(seed, result.Findings));
        // Every reader was reached, and mutated inputs got past the first syntax check into the deeper steps.
        Assert.All(result.Targets, t => Assert.True(t.Value.Inputs > 0, $"seed {seed}: no input reached {t.Key}"));
        Assert.True(result.Targets["policy"].Accepted > 0 && result.Targets["bpf-raw"].Accepted > 0, $"seed {seed}: no mutated policy or program was accepted");
    }

    [Fact]
    public void The_slice_reports_a_reader_that_throws_an_internal_error_with_the_input_that_did()
    {
        // The check that the slice can fail: a reader that throws something other than SeccompKit's input error.
        var boom = new Target("boom", [SeedKind.PolicyJson], 1000, (input, _) =>
        {
            if (input.Length % 3 == 0) throw new InvalidOperationException("a reader's internal error");
        }, null);
        var corpus = Corpus.Load(Repo.Root);
        using var work = new TempDir();
        var result = new Campaign(new CampaignOptions { Seed = 7, Repo = Repo.Root, Inputs = 60, ExtraTargets = [boom], Only = new HashSet<string> { "boom" } }, corpus, work.PathName).Run();
        Assert.True(result.HasFindings);
        var finding = result.Findings.First(f => f.Target == "boom");
        Assert.Equal("bug", finding.Kind);
        Assert.Contains("a reader's internal error", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_binary_run_as_a_process_on_mutated_inputs_never_crashes_hangs_or_reports_an_internal_error()
    {
        // The NativeAOT binary when ./test.sh built it (artifacts/aot), else the JIT build beside the tests.
        string aot = Repo.Path("artifacts", "aot", "seccompkit");
        string binary = File.Exists(aot) ? aot : CliProcess.Path;
        int seed = Seed();
        using var work = new TempDir();
        // The process campaign runs in a fuzzer process of its own, never in this test host: it makes itself a child
        // subreaper and kills every child of its process it is not waiting for (orphans of a run), which here would be
        // the other tests' children (seen in CI: the learn runs of LearnedSignalSpecs' fixture were SIGKILLed).
        string fuzzer = Path.Combine(AppContext.BaseDirectory, "SeccompKit.Fuzz");
        var r = ChildProcess.Run(fuzzer, ["cli", "--bin", binary, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--inputs", "40",
            "--timeout", "20", "--findings", Path.Combine(work.PathName, "findings")], new ProcessOptions { WorkingDirectory = Repo.Root });
        string findings = Directory.Exists(Path.Combine(work.PathName, "findings"))
            ? string.Join("\n", Directory.EnumerateFiles(Path.Combine(work.PathName, "findings"), "*", SearchOption.AllDirectories).Select(f => $"{f}:\n{File.ReadAllText(f)}"))
            : "";
        Assert.True(r.Exit == 0, $"fuzz seed {seed} (rerun: SECCOMPKIT_FUZZ_SEED={seed}): {fuzzer} cli exited {r.Exit}\n{r.Err}\n{findings}");
        Assert.Contains("fuzz-cli: 40 runs", r.Err, StringComparison.Ordinal);
    }
}
