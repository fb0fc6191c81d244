using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Learning;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// What a profile would have refused in one container (<c>OUTPUT/ID.complain.json</c>, camelCase): each refused syscall
/// with the profile's action, its count, the first caller and the security-argument values seen, and the patch that lets
/// the container run.
/// </summary>
/// <param name="Container">The container id.</param>
/// <param name="Profile">The profile's name (complain:PROFILE).</param>
/// <param name="Runtime">The runtime that sent the listener ("runc", "crun"), or null.</param>
/// <param name="Target">The runtime version the patch entries are written for.</param>
/// <param name="End">"exited" or "agentStopped".</param>
/// <param name="Complete">False when the agent stopped before the container exited.</param>
/// <param name="Received">When the agent received the container's listener.</param>
/// <param name="Finished">When supervision ended.</param>
/// <param name="Refused">Calls the profile would have refused, in all.</param>
/// <param name="Complaints">One per refused syscall, most called first.</param>
/// <param name="Clone3Refused">How many clone3 calls were answered ENOSYS.</param>
/// <param name="Patch">The patch as OCI <c>syscalls</c> entries to add to the profile.</param>
/// <param name="PatchProblem">Why the entries cannot be written for the target (null when they can).</param>
/// <param name="PatchBaseline">Baseline syscalls the patch adds although the container did not make them.</param>
/// <param name="Notes">Notes about the patch and the target.</param>
public sealed record ContainerComplainReport(
    string Container, string Profile, string? Runtime, string Target, string End, bool Complete, DateTimeOffset Received, DateTimeOffset Finished,
    long Refused, ImmutableArray<ContainerComplaint> Complaints, long Clone3Refused, ImmutableArray<OciSyscall> Patch, string? PatchProblem,
    ImmutableArray<string> PatchBaseline, ImmutableArray<string> Notes);
