using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Learning;

/// <summary>One syscall a complain run saw the policy refuse (and let run).</summary>
/// <param name="Syscall">What was recorded of it.</param>
/// <param name="Actions">The policy's actions for it, one per distinct value of its security arguments (conditions may differ per value), in the order seen.</param>
public sealed record Complaint(LearnedSyscall Syscall, ImmutableArray<PolicyAction> Actions);

/// <summary>
/// What a complain run found, as data: each call the policy would have refused with the action it gives, and the patch
/// that would let the program run (<see cref="ComplainPatch"/>), also as the OCI <c>syscalls</c> entries to add.
/// </summary>
/// <param name="Complaints">One per refused syscall, most called first.</param>
/// <param name="Total">Refused calls in all.</param>
/// <param name="Clone3Refused">How many clone3 calls were answered ENOSYS.</param>
/// <param name="Patch">The rules to add.</param>
/// <param name="PatchEntries">The patch as OCI <c>syscalls</c> entries for <paramref name="Target"/>; empty when there is nothing to add or they cannot be written.</param>
/// <param name="PatchProblem">Why the entries cannot be written for <paramref name="Target"/> (null when they can).</param>
/// <param name="Target">The runtime the entries are written for.</param>
public sealed record ComplainReport(ImmutableArray<Complaint> Complaints, long Total, long Clone3Refused, ComplainPatch Patch,
    ImmutableArray<OciSyscall> PatchEntries, string? PatchProblem, OciTarget Target)
{
    /// <summary>The policy refused nothing the program did.</summary>
    public bool RefusedNothing => Complaints.IsEmpty;

    /// <summary>
    /// The report for <paramref name="policy"/> after a run that recorded <paramref name="refused"/> (the calls it would
    /// have refused) and answered clone3 ENOSYS <paramref name="clone3Refused"/> times.
    /// </summary>
    public static ComplainReport For(LearnedCalls refused, SeccompPolicy policy, long clone3Refused, OciTarget? target = null)
    {
        ArgumentNullException.ThrowIfNull(refused);
        ArgumentNullException.ThrowIfNull(policy);
        target ??= OciTarget.Default;
        var complaints = refused.Syscalls.OrderByDescending(s => s.Count).ThenBy(s => s.Display, StringComparer.Ordinal)
            .Select(s => new Complaint(s, [.. (s.Values.IsDefaultOrEmpty ? s.Samples.Take(1) : s.Values.Select(v => v.Representative))
                .Select(v => PolicyEvaluator.Evaluate(policy, new SeccompData(s.Nr, s.AuditArch, 0, v.ToArray())).Action)
                .Distinct()]))
            .ToImmutableArray();
        var patch = ComplainPatch.For(refused, policy, clone3Refused, target);
        ImmutableArray<OciSyscall> entries = [];
        string? problem = null;
        if (!patch.IsEmpty)
        {
            // Only the entries are shown, so the export's notes about the profile as a whole do not matter here.
            try { entries = [.. OciExporter.Export(patch.AsPolicy, target).Seccomp.Syscalls ?? []]; }
            catch (OciExportException e) { problem = e.Message; }
        }
        return new ComplainReport(complaints, refused.Total, clone3Refused, patch, entries, problem, target);
    }
}
