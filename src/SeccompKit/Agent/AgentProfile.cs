using System.Collections.Immutable;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;
using SeccompKit.Syscalls;

namespace SeccompKit.Agent;

/// <summary>
/// The OCI <c>linux.seccomp</c> section that puts a container in a <see cref="ContainerMode"/> with one runtime version:
/// the filter notifies what the mode needs the agent to see, <c>listenerPath</c> points at the agent and
/// <c>listenerMetadata</c> names the mode. Written through <see cref="OciExporter"/> for the target, so it holds only
/// what that runtime version accepts.
/// </summary>
/// <remarks>
/// Some syscalls cannot be notified with a given runtime (<see cref="RuntimeHandoff"/>, measured: docs/RUNTIME-SYSCALLS.md):
/// runc 1.1 refuses SCMP_ACT_NOTIFY for <c>write</c> and as the default action, and a runtime that makes a notified call
/// after installing the filter but before the agent has the descriptor hangs (runc#4328). Those are left out of the
/// notified set and <see cref="NotNotified"/> says what happens to each.
/// </remarks>
/// <param name="Mode">The mode.</param>
/// <param name="Target">The runtime version it is written for.</param>
/// <param name="Policy">The profile as a policy (with the listener fields).</param>
/// <param name="Oci">The OCI section (<see cref="OciExport.Json"/> is what goes into config.json's <c>linux.seccomp</c>).</param>
/// <param name="NotNotified">Syscalls the mode would notify but this profile does not, with what the container gets for them.</param>
/// <param name="Notes">Everything else the user should know (one sentence each).</param>
public sealed record AgentProfile(ContainerMode Mode, OciTarget Target, SeccompPolicy Policy, OciExport Oci,
    ImmutableSortedDictionary<string, string> NotNotified, ImmutableArray<string> Notes)
{
    /// <summary>ENOSYS (include/uapi/asm-generic/errno.h): what learned profiles answer clone3, whose flags cannot be checked.</summary>
    private const int Enosys = 38;

    /// <summary>Longest listenerPath a unix socket address holds (sun_path is 108 bytes with its NUL, unix(7)).</summary>
    public const int MaxSocketPathBytes = 107;

    /// <summary>The architectures an agent profile covers on an x86_64 host: the ABIs a process there can call through.</summary>
    public static ImmutableArray<Architecture> Architectures { get; } = Architecture.NativeHost == Architecture.X86_64
        ? [Architecture.X86_64, Architecture.X86, Architecture.X32]
        : [Architecture.NativeHost];

    /// <summary>
    /// The section for <paramref name="mode"/> with <paramref name="target"/>, sending the listener to
    /// <paramref name="socketPath"/>:
    /// <list type="bullet">
    /// <item><c>learn</c>: every syscall notified (the agent lets each run and records it), except what the runtime cannot
    /// have notified (allowed, unrecorded: the learned profile gets them from the runtime's measured set) and
    /// <c>clone3</c>, answered ENOSYS as learned profiles answer it (glibc then uses clone, which is learned).</item>
    /// <item><c>complain:PROFILE</c>: <see cref="AgentProfileOptions.Profile"/> with every refusing action (rules and
    /// default) made SCMP_ACT_NOTIFY, so the agent sees what it would refuse and lets it run.</item>
    /// <item><c>supervise:RULESET</c>: the base (<see cref="AgentProfileOptions.Profile"/>, default allow everything)
    /// with <see cref="AgentProfileOptions.Notify"/> notified.</item>
    /// </list>
    /// </summary>
    /// <exception cref="AgentProfileException">Bad socket path, a missing option, or a syscall the runtime cannot notify asked for.</exception>
    /// <exception cref="UnknownRuntimeException">No measurement for the target's runtime.</exception>
    /// <exception cref="OciExportException">The target cannot run the profile (e.g. the base uses what it does not accept).</exception>
    public static AgentProfile For(ContainerMode mode, OciTarget target, string socketPath, AgentProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(socketPath);
        options ??= new AgentProfileOptions();
        CheckSocket(socketPath);
        var set = RuntimeSyscalls.For(target);
        var handoff = set.BeforeHandoff ?? throw new AgentProfileException(
            $"which syscalls {target.Runtime} makes before a seccomp agent has the notify descriptor was not measured; measure it: tools/measure-runtime-syscalls.sh handoff {target.Runtime}");
        var notes = new List<string>();
        if (set.Mismatch(target) is { } mismatch) notes.Add(mismatch);
        else if (OciTarget.ParseVersion(handoff.Version) != target.Version)
            notes.Add($"what {target.Runtime} cannot have notified was measured for {target.Runtime} {handoff.Version}, not {target}; measure it again with tools/measure-runtime-syscalls.sh handoff {target.Runtime}");
        bool defaultNotify = handoff.DefaultNotify && !target.Model.RefusesNotifyDefaultAndWrite;
        var builder = new Builder(target, handoff, defaultNotify, notes);
        var policy = mode switch
        {
            ContainerMode.Learn => builder.Learn(),
            ContainerMode.Complain c => builder.Complain(options.Profile ?? throw new AgentProfileException(
                $"complain:{c.Profile} needs the profile whose refusals are reported (the agent's configured profile {c.Profile}; --base FILE)")),
            ContainerMode.Supervise s => builder.Supervise(s, options.Profile, options.Notify),
            _ => throw new AgentProfileException($"unknown mode {mode}"),
        };
        policy = new SeccompPolicy(policy.DefaultAction, policy.Rules, policy.Architectures, policy.DeclaredBadArchAction, policy.Flags,
            socketPath, mode.ToString(), policy.EnosysAbove);
        var oci = OciExporter.Export(policy, target);
        return new AgentProfile(mode, target, policy, oci, builder.NotNotified.ToImmutable(), [.. notes]);
    }

    private static void CheckSocket(string socketPath)
    {
        if (!socketPath.StartsWith('/'))
            throw new AgentProfileException($"the socket path '{socketPath}' is not absolute; the runtime connects to it from its own working directory, so give the agent's --socket as an absolute path");
        if (Encoding.UTF8.GetByteCount(socketPath) > MaxSocketPathBytes)
            throw new AgentProfileException($"the socket path '{socketPath}' is {Encoding.UTF8.GetByteCount(socketPath)} bytes; a unix socket path holds at most {MaxSocketPathBytes} (unix(7) sun_path); choose a shorter --socket");
        if (socketPath.Contains('\0', StringComparison.Ordinal))
            throw new AgentProfileException("the socket path contains a NUL character");
    }

    /// <summary>Every syscall name of <paramref name="architectures"/>, sorted.</summary>
    public static ImmutableArray<string> AllSyscalls(IEnumerable<Architecture> architectures) =>
        [.. architectures.SelectMany(a => a.Syscalls.All.Select(e => e.Name)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private sealed class Builder(OciTarget target, RuntimeHandoff handoff, bool defaultNotify, List<string> notes)
    {
        public readonly ImmutableSortedDictionary<string, string>.Builder NotNotified = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);

        private static string Why(string reason) => reason.Length > 0 && char.IsUpper(reason[0]) ? char.ToLowerInvariant(reason[0]) + reason[1..] : reason;

        public SeccompPolicy Learn()
        {
            var rules = new List<SyscallRule>();
            foreach (var (name, why) in handoff.Syscalls)
            {
                rules.Add(new SyscallRule(name, PolicyAction.Allow) { Origin = $"{target.Runtime}: {why}" });
                NotNotified[name] = $"allowed and not recorded ({target}: {Why(why)}); the learned profile allows it as one of {target.Runtime}'s own syscalls";
            }
            rules.Add(new SyscallRule("clone3", PolicyAction.Errno(Enosys)) { Origin = "learned profiles answer clone3 ENOSYS" });
            NotNotified["clone3"] = "ERRNO(ENOSYS), as the learned profile answers it: its flags cannot be checked, and glibc then uses clone, which is learned";
            if (!defaultNotify)
            {
                // runc: NOTIFY cannot be the default, so every syscall the tables name is notified by a rule; a number no
                // name covers gets runc's ENOSYS stub above the highest named one, or is allowed unrecorded below it.
                var named = new HashSet<string>(rules.Select(r => r.Syscall), StringComparer.Ordinal);
                rules.AddRange(AllSyscalls(Architectures).Where(n => !named.Contains(n)).Select(n => new SyscallRule(n, PolicyAction.UserNotif)));
                notes.Add($"{target} refuses SCMP_ACT_NOTIFY as the default action, so every syscall of {string.Join(", ", Architectures.Select(a => a.Name))} is notified by name; the default is SCMP_ACT_ALLOW");
            }
            return new SeccompPolicy(defaultNotify ? PolicyAction.UserNotif : PolicyAction.Allow, rules, Architectures, PolicyAction.KillThread);
        }

        public SeccompPolicy Complain(SeccompPolicy profile)
        {
            if (profile.ListenerPath is not null || profile.DefaultAction.Kind == SeccompAction.UserNotif || profile.Rules.Any(r => r.Action.Kind == SeccompAction.UserNotif))
                throw new AgentProfileException("the profile to complain about already notifies a supervisor; complain needs a profile that decides every call itself (remove its notify rules and listener)");
            var rules = new List<SyscallRule>();
            foreach (var r in profile.Rules)
            {
                if (r.Action.LetsCallRun) { rules.Add(r); continue; }
                if (handoff.Syscalls.TryGetValue(r.Syscall, out var why))
                {
                    rules.Add(r);
                    NotNotified[r.Syscall] = $"keeps the profile's {PolicyPrinter.ActionText(r.Action)} and is not reported ({target}: {Why(why)})";
                    continue;
                }
                rules.Add(new SyscallRule(r.Syscall, PolicyAction.UserNotif, r.Conditions) { Origin = r.Origin });
            }
            var d = profile.DefaultAction;
            if (d.LetsCallRun) return With(profile, d, rules);
            var ruled = new HashSet<string>(profile.Rules.Select(r => r.Syscall), StringComparer.Ordinal);
            var all = AllSyscalls(profile.EffectiveArchitectures);
            // Syscalls the default decides for: notified, except the runtime's exceptions, which keep the default.
            foreach (var (name, why) in handoff.Syscalls)
                if (!ruled.Contains(name) && all.Contains(name))
                {
                    rules.Add(new SyscallRule(name, d));
                    NotNotified[name] = $"keeps the profile's default {PolicyPrinter.ActionText(d)} and is not reported ({target}: {Why(why)})";
                }
            if (defaultNotify) return With(profile, PolicyAction.UserNotif, rules);
            var named = new HashSet<string>(rules.Select(r => r.Syscall), StringComparer.Ordinal);
            rules.AddRange(all.Where(n => !named.Contains(n)).Select(n => new SyscallRule(n, PolicyAction.UserNotif)));
            // A syscall with conditional rules only: a call none of them matches falls to the default, which runc cannot notify.
            var fallThrough = profile.SyscallNames.Where(n => !handoff.Syscalls.ContainsKey(n) && profile.RulesFor(n).All(r => !r.IsUnconditional)).ToList();
            foreach (var n in fallThrough)
                NotNotified[n] = $"a call no rule of the profile matches keeps the default {PolicyPrinter.ActionText(d)} and is not reported ({target} cannot notify a default action)";
            notes.Add($"{target} refuses SCMP_ACT_NOTIFY as the default action: every syscall the profile leaves to its default ({PolicyPrinter.ActionText(d)}) is notified by name instead");
            return With(profile, d, rules);
        }

        public SeccompPolicy Supervise(ContainerMode.Supervise mode, SeccompPolicy? baseProfile, IReadOnlyList<string> notify)
        {
            if (notify.Count == 0)
                throw new AgentProfileException($"supervise:{mode.Ruleset} needs the syscalls its ruleset handles; none were given");
            var names = notify.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var refused = names.Where(handoff.Syscalls.ContainsKey).ToList();
            if (refused.Count > 0)
                throw new AgentProfileException($"{target} cannot have {string.Join(", ", refused)} notified ({string.Join("; ", refused.Select(n => $"{n}: {Why(handoff.Syscalls[n])}"))}); " +
                    $"remove {(refused.Count == 1 ? "it" : "them")} from the ruleset supervise:{mode.Ruleset}");
            var b = baseProfile ?? new SeccompPolicy(PolicyAction.Allow, [], Architectures, PolicyAction.KillThread);
            if (b.ListenerPath is not null || b.Rules.Any(r => r.Action.Kind == SeccompAction.UserNotif) || b.DefaultAction.Kind == SeccompAction.UserNotif)
                throw new AgentProfileException("the --base profile already notifies a supervisor; give a base that decides every call itself (remove its notify rules and listener)");
            var set = names.ToHashSet(StringComparer.Ordinal);
            var rules = b.Rules.Where(r => !set.Contains(r.Syscall)).Concat(names.Select(n => new SyscallRule(n, PolicyAction.UserNotif) { Origin = $"supervise:{mode.Ruleset}" }));
            return With(b, b.DefaultAction, rules);
        }

        private static SeccompPolicy With(SeccompPolicy p, PolicyAction defaultAction, IEnumerable<SyscallRule> rules) =>
            new(defaultAction, rules, p.Architectures, p.DeclaredBadArchAction, p.Flags, null, null, p.EnosysAbove);
    }
}
