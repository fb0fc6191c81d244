using System.CommandLine;
using SeccompKit.Agent;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Runtimes;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Commands;

/// <summary>
/// <c>seccompkit agent profile --runtime RUNTIME[@VERSION] --socket PATH --metadata MODE [--base FILE] [--notify SYSCALLS] -o FILE</c>:
/// the OCI <c>linux.seccomp</c> section that puts a container in MODE with the seccomp agent listening on PATH
/// (<see cref="AgentProfile.For"/>).
/// </summary>
public static class AgentProfileCommand
{
    /// <summary>Builds the <c>profile</c> subcommand (it hangs under <c>agent</c>).</summary>
    public static Command Create(ICliConsole console)
    {
        var runtime = new Option<string>("--runtime")
        {
            Description = "The OCI runtime that starts the container: runc or crun (the installed version) or RUNTIME@VERSION (runc@1.1.5, crun@1.8.1). " +
                          $"Only what that version accepts is written, and only what it can have notified is notified. Known: {OciTarget.KnownSummary}",
            HelpName = "RUNTIME[@VERSION]",
            Required = true,
        };
        var socket = new Option<string>("--socket") { Description = "The agent's socket (its --socket), an absolute path: the container's listenerPath", Required = true, HelpName = "PATH" };
        var metadata = new Option<string>("--metadata") { Description = $"The mode, written as listenerMetadata: {ContainerMode.Grammar}", Required = true, HelpName = "MODE" };
        var baseFile = new Option<string?>("--base")
        {
            Description = "complain:PROFILE: the profile whose refusals are reported (required; OCI, Docker or .policy). supervise:RULESET: the profile for " +
                          "everything the ruleset does not handle (default: allow it). Not used by learn",
            HelpName = "FILE",
        };
        var notify = new Option<string[]>("--notify")
        {
            Description = "supervise:RULESET: the syscalls the ruleset's handlers decide (comma-separated or repeated). Default: those of the " +
                          "built-in ruleset 'devices' (mknod, mknodat) or of the ruleset RULESET in --config; required for a ruleset a library registers",
            HelpName = "SYSCALLS",
            AllowMultipleArgumentsPerToken = true,
        };
        var agentConfig = new Option<string?>("--config") { Description = "supervise:RULESET: the agent's configuration (its --config), whose rulesets say which syscalls to notify", HelpName = "FILE" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the linux.seccomp JSON (default standard output)", HelpName = "FILE" };
        var force = OutputFile.ForceOption();
        var policy = new PolicyOptions();
        var cmd = new Command("profile",
            "Write the OCI linux.seccomp section that hands a container to the seccomp agent in a mode. Put it in the\n" +
            "container's config.json (or give it to podman with --security-opt seccomp=FILE); the runtime then sends the\n" +
            "agent the container's notify descriptor with the mode as listenerMetadata.\n\n" +
            "  learn              every syscall is notified (the agent records it and lets it run), except what the runtime\n" +
            "                     cannot have notified (measured per version: runc 1.1 refuses NOTIFY for write and as the\n" +
            "                     default action), and clone3, answered ENOSYS as the learned profile will answer it\n" +
            "  complain:PROFILE   --base PROFILE with every refusing action made NOTIFY: the agent reports and lets it run\n" +
            "  supervise:RULESET  --base (default allow everything) with the ruleset's syscalls notified (--notify, or the\n" +
            "                     built-in ruleset's, or --config's ruleset of that name)\n\n" +
            "What is not notified, and why, is printed to standard error.\n\n" +
            "Examples:\n" +
            "  seccompkit agent profile --runtime runc --socket /run/seccompkit.sock --metadata learn -o learn.json\n" +
            "  seccompkit agent profile --runtime crun@1.8.1 --socket /run/seccompkit.sock --metadata complain:web \\\n" +
            "      --base web.json -o complain.json\n" +
            "  seccompkit agent profile --runtime runc --socket /run/seccompkit.sock --metadata supervise:devices -o devices.json\n" +
            "  seccompkit agent profile --runtime runc --socket /run/seccompkit.sock --metadata supervise:tmpfs --config agent.json\n" +
            "  podman run --security-opt seccomp=learn.json ...\n\n" +
            "Exit status: 0 written, 2 bad command line (unknown runtime or mode), 3 the profile cannot be written for that\n" +
            "runtime (the message says why), 4 the output cannot be written.")
        { runtime, socket, metadata, baseFile, notify, agentConfig, output, force };
        foreach (var o in policy.All) cmd.Add(o);
        cmd.SetAction(parse =>
        {
            var destination = OutputFile.Check(parse.GetValue(output), parse.GetValue(force));
            string runtimeText = parse.GetRequiredValue(runtime);
            OciTarget target;
            try { target = InstalledRuntimes.Parse(runtimeText); }
            catch (UnknownOciTargetException e) { throw new CliInputException($"--runtime {runtimeText}: {e.Message}", ExitCodes.Usage); }
            ContainerMode mode;
            try { mode = ContainerMode.Parse(parse.GetRequiredValue(metadata), defaultMode: null); }
            catch (ContainerModeException e) { throw new CliInputException($"--metadata: {e.Message}", ExitCodes.Usage); }
            string? basePath = parse.GetValue(baseFile);
            string[] names = [.. (parse.GetValue(notify) ?? []).SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
            if (mode is ContainerMode.Learn && basePath is not null)
                throw new CliInputException("--base is not used by learn (the container's whole behaviour is learned); remove it", ExitCodes.Usage);
            if (mode is ContainerMode.Complain c && basePath is null)
                throw new CliInputException($"complain:{c.Profile} needs --base FILE: the profile whose refusals the agent reports", ExitCodes.Usage);
            if (mode is not ContainerMode.Supervise && names.Length > 0)
                throw new CliInputException("--notify is for supervise:RULESET only", ExitCodes.Usage);
            if (mode is not ContainerMode.Supervise && parse.GetValue(agentConfig) is not null)
                throw new CliInputException("--config is for supervise:RULESET only (it names the ruleset's syscalls)", ExitCodes.Usage);
            if (mode is ContainerMode.Supervise s && names.Length == 0) names = [.. RulesetSyscalls(s.Ruleset, parse.GetValue(agentConfig))];

            var baseProfile = basePath is null ? null : policy.Load(parse, basePath, console).Policy;
            AgentProfile profile;
            try
            {
                profile = AgentProfile.For(mode, target, parse.GetRequiredValue(socket), new AgentProfileOptions { Profile = baseProfile, Notify = names });
            }
            catch (AgentProfileException e) { throw new CliInputException(e.Message, ExitCodes.BadInput); }
            bool quiet = parse.GetValue(policy.Quiet);
            OciOutput.Report(profile.Oci, console, "agent profile", quiet);
            if (!quiet)
            {
                foreach (var n in profile.Notes) console.Error.WriteLine($"seccompkit: agent profile: note: {n}");
                foreach (var (name, what) in profile.NotNotified) console.Error.WriteLine($"seccompkit: agent profile: not notified: {name}: {what}");
            }
            string json = profile.Oci.Json.EndsWith('\n') ? profile.Oci.Json : profile.Oci.Json + "\n";
            destination.Write(console, json);
            console.Error.WriteLine($"seccompkit: agent profile: {mode} for {target}, listener {profile.Policy.ListenerPath}{(destination.IsStandardOutput ? "" : $": wrote {destination.Display}")}");
            return ExitCodes.Success;
        });
        return cmd;
    }

    /// <summary>The syscalls ruleset <paramref name="name"/> decides: the built-in one's, or the configuration's ruleset of that name.</summary>
    private static IEnumerable<string> RulesetSyscalls(string name, string? configFile)
    {
        if (name == RulesetSpec.BuiltinDevicesName) return RulesetSpec.BuiltinDevices.Syscalls;
        if (configFile is null)
            throw new CliInputException($"supervise:{name} is not a built-in ruleset (only '{RulesetSpec.BuiltinDevicesName}' is): pass the agent's --config FILE " +
                "that defines it, or name its syscalls with --notify", ExitCodes.Usage);
        try
        {
            var rulesets = RulesetSpec.FromConfig(AgentConfig.Load(configFile));
            return rulesets.TryGetValue(name, out var spec) ? spec.Syscalls
                : throw new CliInputException($"--config {configFile} defines no ruleset '{name}'" +
                    (rulesets.IsEmpty ? " (it defines none)" : $"; it defines {string.Join(", ", rulesets.Keys.Order(StringComparer.Ordinal))}"), ExitCodes.Usage);
        }
        catch (AgentConfigException e) { throw new CliInputException($"--config {e.Message}", ExitCodes.BadInput); }
    }
}
