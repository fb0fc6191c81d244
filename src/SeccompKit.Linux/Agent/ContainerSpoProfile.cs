using SeccompKit.Linux.Runtimes;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// A container's learned profile as a security-profiles-operator <c>SeccompProfile</c>, for the agent's output
/// <c>OUTPUT/&lt;container id&gt;.spo.yaml</c> beside the OCI profile: named after the container id
/// (<see cref="SpoProfile.NameFor"/>), written for the runtime that sent the container (its installed version), so the
/// object's spec is what that runtime runs on the node.
/// </summary>
/// <example>
/// At the end of a learn session, after writing <c>OUTPUT/ID.json</c>:
/// <code>
/// try
/// {
///     var spo = ContainerSpoProfile.For(container, learned);
///     WriteAtomically(Path.Combine(container.OutputDirectory, ContainerSpoProfile.FileName(container.Id)), spo.Yaml);
/// }
/// catch (SpoExportException e) { /* put e.Message in the report: what the CRD cannot hold, with the fix */ }
/// </code>
/// </example>
public static class ContainerSpoProfile
{
    /// <summary>The output file name for container <paramref name="containerId"/> (a validated id is a valid file name).</summary>
    public static string FileName(string containerId)
    {
        ArgumentNullException.ThrowIfNull(containerId);
        return containerId + ".spo.yaml";
    }

    /// <summary>The SeccompProfile of <paramref name="learned"/> for <paramref name="container"/>.</summary>
    /// <exception cref="OciExportException">The container's runtime cannot run the profile.</exception>
    /// <exception cref="SpoExportException">The CRD cannot hold the profile; every reason with its fix.</exception>
    public static SpoExport For(AgentContainer container, SeccompPolicy learned)
    {
        ArgumentNullException.ThrowIfNull(container);
        return For(container.Id, container.Runtime, learned);
    }

    /// <summary>
    /// The SeccompProfile of <paramref name="learned"/> for the container <paramref name="containerId"/> run by
    /// <paramref name="runtime"/> ("runc" or "crun", read at its installed version; null: the installed runc, else
    /// <see cref="OciTarget.Default"/>, as <c>--for</c> defaults). The diagnostics say which target was taken.
    /// </summary>
    /// <exception cref="OciExportException">The runtime cannot run the profile.</exception>
    /// <exception cref="SpoExportException">The CRD cannot hold the profile; every reason with its fix.</exception>
    public static SpoExport For(string containerId, string? runtime, SeccompPolicy learned)
    {
        ArgumentNullException.ThrowIfNull(containerId);
        ArgumentNullException.ThrowIfNull(learned);
        var (target, note) = runtime is null ? InstalledRuntimes.Default() : (InstalledRuntimes.Parse(runtime), null);
        var spo = SpoProfile.Export(learned, SpoProfile.NameFor(containerId), target);
        return note is null ? spo : spo with { Diagnostics = spo.Diagnostics.Insert(0, new PolicyDiagnostic(DiagnosticSeverity.Info, "runtime", note)) };
    }
}
