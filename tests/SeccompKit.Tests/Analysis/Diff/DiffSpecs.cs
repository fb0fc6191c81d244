using CsCheck;
using SeccompKit.Analysis;
using SeccompKit.Analysis.Diff;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;

namespace SeccompKit.Tests.Analysis.Diff;

/// <summary>diff: exact behavioural differences, checked by emulation and against PolicyEvaluator.</summary>
public class DiffSpecs
{
    private static FilterExplanation Explain(SeccompPolicy p, bool optimize = true) =>
        FilterExplainer.Explain(PolicyCompiler.Compile(p, new CompileOptions { Optimize = optimize }).Program);

    [Fact]
    public void Docker_and_podman_differ_where_their_filters_do_and_every_example_is_emulated()
    {
        var docker = ProfilePolicies.Load("docker-default");
        var podman = ProfilePolicies.Load("podman-default");
        var d = FilterDiff.Compare(Explain(docker), Explain(podman));
        Assert.False(d.Equal);
        // podman's profile lets mount and umount2 through where Docker's refuses them with EPERM.
        Assert.Contains(d.Entries, e => e.Abi == Architecture.X86_64 && e.Syscall == "mount" && e.Before == PolicyAction.Errno(1).ReturnValue && e.After == PolicyAction.Allow.ReturnValue);
        foreach (var e in d.Entries)
        {
            Assert.Equal(e.Before, PolicyEvaluator.EvaluateValue(docker, e.Example));
            Assert.Equal(e.After, PolicyEvaluator.EvaluateValue(podman, e.Example));
        }
        TestContext.Current.SendDiagnosticMessage($"docker vs podman: {d.Entries.Length} differing regions");
    }

    [Fact]
    public void A_policy_against_its_optimised_unoptimised_and_reformatted_forms_is_equal()
    {
        var docker = ProfilePolicies.Load("docker-default");
        var e = Explain(docker);
        Assert.True(FilterDiff.Compare(e, Explain(docker, optimize: false)).Equal);
        var reprinted = PolicyLanguage.Parse(PolicyLanguage.Print(docker));
        Assert.True(FilterDiff.Compare(e, Explain(reprinted)).Equal);
    }

    [Fact]
    public void A_learned_shape_against_docker_reports_the_syscalls_it_refuses()
    {
        var learned = PolicyLanguage.Parse("""
            default errno(EPERM)
            architectures x86_64
            allow { read, write, close, exit_group, openat(flags & O_ACCMODE == O_RDONLY), clone(clone_flags & CLONE_NEWUSER == 0) }
            """);
        var docker = ProfilePolicies.Load("docker-default");
        var d = FilterDiff.Compare(Explain(learned), Explain(docker));
        Assert.Contains(d.Entries, e => e.Abi == Architecture.X86_64 && e.Syscall == "getpid" && e.After == PolicyAction.Allow.ReturnValue);
        Assert.Contains(d.Entries, e => e.Abi == Architecture.X86_64 && e.Syscall == "openat" && e.Before == PolicyAction.Errno(1).ReturnValue);
        foreach (var x in d.Entries)
        {
            Assert.Equal(x.Before, PolicyEvaluator.EvaluateValue(learned, x.Example));
            Assert.Equal(x.After, PolicyEvaluator.EvaluateValue(docker, x.Example));
        }
    }

    [Fact]
    public void The_diff_of_two_random_policies_is_exactly_where_the_evaluator_disagrees()
    {
        long checkedPoints = 0, pairs = 0;
        Gen.Select(PolicyGenerator.Policies, PolicyGenerator.Policies).Sample((p, q) =>
        {
            CompiledPolicy cp, cq;
            try { cp = PolicyCompiler.Compile(p); cq = PolicyCompiler.Compile(q); }
            catch (CompileException) { return; }
            var d = FilterDiff.Compare(FilterExplainer.Explain(cp.Program), FilterExplainer.Explain(cq.Program));
            // Every reported region's example: the two disagree, as reported.
            foreach (var e in d.Entries)
            {
                Assert.NotEqual(e.Before, e.After);
                Assert.Equal(e.Before, PolicyEvaluator.EvaluateValue(p, e.Example));
                Assert.Equal(e.After, PolicyEvaluator.EvaluateValue(q, e.Example));
            }
            // Every boundary input where they disagree lies in a reported region, and none where they agree.
            var rng = new Random(p.Rules.Length * 31 + q.Rules.Length);
            foreach (var x in PolicyGenerator.Vectors(p, rng).Concat(PolicyGenerator.Vectors(q, rng)))
            {
                uint va = PolicyEvaluator.EvaluateValue(p, x), vb = PolicyEvaluator.EvaluateValue(q, x);
                var words = ExplainOracle.Words(x);
                bool reported = d.Entries.Any(e => e.Region.Contains(words) && (e.Abi is null || e.Abi.AuditArch == x.Arch));
                if (FilterStack.IsExemptFromFiltering(x)) continue;
                Assert.True(reported == (va != vb), $"{x}: {ActionNames.Format(va)} vs {ActionNames.Format(vb)}, reported {reported}");
                checkedPoints++;
            }
            pairs++;
        }, iter: 40, threads: 1);
        TestContext.Current.SendDiagnosticMessage($"diff on random policy pairs: {pairs} pairs, {checkedPoints} boundary inputs, 0 mismatches");
    }
}
