using SeccompKit.Bpf;
using SeccompKit.Policy;

namespace SeccompKit.Compiler;

/// <summary>A compiled filter with the policy it came from.</summary>
public sealed class CompiledPolicy
{
    internal CompiledPolicy(BpfProgram program, SeccompPolicy policy, SeccompPolicy optimizedPolicy)
    {
        Program = program;
        Policy = policy;
        OptimizedPolicy = optimizedPolicy;
    }

    /// <summary>The filter, validated as the kernel validates it.</summary>
    public BpfProgram Program { get; }

    /// <summary>The policy as given.</summary>
    public SeccompPolicy Policy { get; }

    /// <summary>The policy after the policy-level passes (same meaning), which was lowered.</summary>
    public SeccompPolicy OptimizedPolicy { get; }

    /// <summary>Length, worst-case paths and action-cache coverage (computed on first use).</summary>
    public CompileReport Report => _report ??= CompileReport.Create(this);

    private CompileReport? _report;
}
