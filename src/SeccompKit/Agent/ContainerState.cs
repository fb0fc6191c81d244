using System.Collections.Immutable;

namespace SeccompKit.Agent;

/// <summary>
/// The OCI runtime-spec container state a runtime sends with a seccomp listener (runtime-spec config-linux.md,
/// "containerProcessState"), as validated by <see cref="AgentPayload"/>.
/// </summary>
/// <param name="OciVersion">The state's ociVersion as the runtime wrote it (crun 1.8.1 writes "0.2.0", runc 1.1.5 "1.0.2-dev").</param>
/// <param name="Id">The container id: unique per runtime root, used to name the agent's result files.</param>
/// <param name="Status">"creating" when the listener is sent.</param>
/// <param name="Pid">The container init in the runtime's (host) pid namespace.</param>
/// <param name="Bundle">The bundle directory the runtime was given.</param>
/// <param name="Annotations">The config's annotations (podman sets several); empty when absent.</param>
public sealed record ContainerState(string OciVersion, string Id, string Status, int Pid, string Bundle, ImmutableDictionary<string, string> Annotations);
