using System.Collections.Immutable;

namespace SeccompKit.Policy.Files;

/// <summary>A policy file as read: what it was, what it means, and the reader's notes.</summary>
/// <param name="Format">The format it was read as (never <see cref="PolicyFormat.Auto"/>).</param>
/// <param name="Policy">The policy.</param>
/// <param name="Diagnostics">What the reader skipped or wants the user to know, each with its JSON path or file:line.</param>
public sealed record LoadedPolicy(PolicyFormat Format, SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics)
{
    /// <summary>The policy's filter flags (OCI <c>flags</c>, the language's <c>flags</c> statement).</summary>
    public PolicyFlags Flags => Policy.Flags;

    /// <summary>How many of <see cref="Diagnostics"/> are warnings (input skipped or not doing what it seems to).</summary>
    public int WarningCount => Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Warning);
}
