using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>
/// Writes a policy as a kubelet "Localhost" seccomp profile: the file a pod names with
/// <c>securityContext.seccompProfile: {type: Localhost, localhostProfile: REL/PATH.json}</c>, relative to
/// <see cref="RootDirectory"/> on the node. Kubelet does not read the file itself: it hands the path to the container
/// runtime interface, and containerd decodes it as the OCI runtime-spec <c>LinuxSeccomp</c> (JSON numbers for
/// <c>errnoRet</c> and argument values) while CRI-O decodes it as a containers/common seccomp profile, which accepts the
/// same OCI fields (<c>architectures</c>, <c>names</c>, <c>defaultErrnoRet</c>, <c>flags</c>). Either passes the result to
/// the node's runc or crun, so the file is the OCI profile <see cref="OciExporter"/> writes for that runtime
/// (<see cref="OciTarget"/>).
/// </summary>
/// <remarks>
/// A Localhost profile written here enforces: a policy that notifies a supervisor or names a listener is refused, since
/// every pod using the file would then depend on an agent socket on each node. The learn-mode profile that points a pod at
/// the node's agent is written by <c>seccompkit agent profile</c>, whose output can be installed under the same directory.
/// </remarks>
public static class KubeletProfile
{
    /// <summary>Kubelet's default seccomp profile root (<c>&lt;--root-dir&gt;/seccomp</c>, root-dir /var/lib/kubelet).</summary>
    public const string RootDirectory = "/var/lib/kubelet/seccomp";

    /// <summary>Writes <paramref name="policy"/> as a Localhost profile for nodes whose runtime is <paramref name="target"/>.</summary>
    /// <exception cref="OciExportException">
    /// The runtime cannot run the policy, or the policy notifies a supervisor or names a listener (every reason, located).
    /// </exception>
    public static OciExport Export(SeccompPolicy policy, OciTarget target, Architecture? native = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(target);
        var problems = new List<OciExportProblem>();
        var o = policy.Origins;
        if (policy.ListenerPath is not null || policy.ListenerMetadata is not null)
            problems.Add(new(o.Listener ?? "listener", "a kubelet Localhost profile written by seccompkit enforces on its own, but this policy names a seccomp agent (listenerPath/listenerMetadata)",
                "remove the `listener` statement; to point pods at the node's agent use the profile `seccompkit agent profile` writes"));
        if (policy.DefaultAction.Kind == SeccompAction.UserNotif)
            problems.Add(new(o.DefaultAction ?? "default", "the default action notifies a supervisor, which a Localhost profile without an agent cannot reach", "write another `default` action"));
        for (int i = 0; i < policy.Rules.Length; i++)
        {
            var r = policy.Rules[i];
            if (r.Action.Kind == SeccompAction.UserNotif)
                problems.Add(new(r.Origin ?? $"rule {i + 1} ({r.Syscall})", $"{r.Syscall} notifies a supervisor, which a Localhost profile without an agent cannot reach", $"give {r.Syscall} another action"));
        }
        if (problems.Count > 0) throw new OciExportException(target, [.. problems]);
        var export = OciExporter.Export(policy, target, native);
        return export with
        {
            Diagnostics = export.Diagnostics.Add(new(DiagnosticSeverity.Info, "localhostProfile",
                $"install the file under {RootDirectory}/ on each node and reference it from a pod as securityContext.seccompProfile {{type: Localhost, localhostProfile: <path below {RootDirectory}>}}")),
        };
    }
}
