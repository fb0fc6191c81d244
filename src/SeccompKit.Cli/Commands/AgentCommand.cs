using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SeccompKit.Agent;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Agent;

namespace SeccompKit.Cli.Commands;

/// <summary>
/// <c>seccompkit agent</c>: the OCI seccomp agent in the foreground (<see cref="SeccompAgent"/>) until SIGTERM or
/// SIGINT, logging one line per event to standard error. Subcommands (<c>agent profile</c>) are given to
/// <see cref="Create"/> and registered beside it with one line in <see cref="CliApp"/>.
/// </summary>
public static class AgentCommand
{
    /// <summary>Builds the command with <paramref name="subcommands"/> under it (each a complete command of its own).</summary>
    /// <param name="console">The console.</param>
    /// <param name="sessions">The sessions per mode for a configuration (<see cref="AgentModeSessions.Default"/>).</param>
    /// <param name="subcommands">Commands under <c>agent</c> (e.g. <c>agent profile</c>).</param>
    public static Command Create(ICliConsole console, Func<AgentConfig, AgentModeSessions> sessions, params Command[] subcommands)
    {
        var socket = new Option<string>("--socket") { Description = "The unix socket runtimes connect to: linux.seccomp.listenerPath of the containers (created 0600, or 0660 with the config's socketGroup)", HelpName = "PATH" };
        var outputDir = new Option<string>("--output", "-o") { Description = "An existing writable directory for the results: OUTPUT/<container id>.json and friends", HelpName = "DIR" };
        var config = new Option<string?>("--config") { Description = "Agent configuration (JSON): allowedUids, socketGroup, defaultMode, profiles, rulesets", HelpName = "FILE" };
        var allowUid = new Option<uint[]>("--allow-uid") { Description = "A uid allowed to send listeners (SO_PEERCRED); repeat for more; replaces the config's allowedUids (default: 0)", HelpName = "UID", AllowMultipleArgumentsPerToken = false };
        var format = CliApp.OutputFormatOption();
        format.Description = "Log events as text lines or as JSON lines (standard error)";
        var cmd = new Command("agent",
            "Run the OCI seccomp agent in the foreground until SIGTERM or SIGINT. Runtimes (runc, crun, podman) send it each\n" +
            "container's seccomp listener when the container's profile has linux.seccomp.listenerPath = --socket; the agent\n" +
            "checks the sender's uid, the payload, the descriptors and the pid, then serves the container in the mode its\n" +
            "listenerMetadata names until it exits:\n" +
            "  learn | complain:PROFILE | supervise:RULESET   (PROFILE, RULESET: [A-Za-z0-9][A-Za-z0-9_.-]*)\n" +
            "No metadata means the config's defaultMode (refused if none); crun also accepts the annotation\n" +
            "run.oci.seccomp.receiver=PATH instead of listenerPath (metadata still comes from listenerMetadata).\n" +
            "Every refusal is logged and affects nothing else. On SIGTERM each container's results are written, then its\n" +
            "listener is closed (its notified calls fail with ENOSYS from then on) and the socket is removed; exit 0.\n\n" +
            "Examples:\n" +
            "  mkdir -p /var/lib/seccompkit && seccompkit agent --socket /run/seccompkit.sock --output /var/lib/seccompkit\n" +
            "  seccompkit agent --socket /run/seccompkit.sock -o out --config agent.json --format json 2>agent.log\n" +
            "  # the linux.seccomp section of a container's config.json (podman: --security-opt seccomp=learn.json):\n" +
            "  seccompkit agent profile --runtime runc --socket /run/seccompkit.sock --metadata learn -o learn.json\n" +
            "  # when the container exits: OUTPUT/<id>.json (its profile, for the same runtime), <id>.spo.yaml, <id>.report.json;\n" +
            "  # complain:NAME writes <id>.complain.json (NAME from the config's \"profiles\"), supervise:NAME <id>.supervise.json.\n" +
            "  # The guide: docs/AGENT.md.\n\n" +
            "Exit codes: 0 stopped by SIGTERM/SIGINT (results written), 2 usage, 69 the socket is in use or its path is not a\n" +
            "socket, 73 --output is missing or not writable, 78 --config is invalid or its socketGroup does not exist.")
        { socket, outputDir, config, allowUid, format };
        foreach (var sub in subcommands) cmd.Add(sub);
        cmd.SetAction(parse =>
        {
            string socketPath = parse.GetValue(socket) ?? throw new CliInputException("agent: --socket PATH is required (the containers' listenerPath)", ExitCodes.Usage);
            string output = parse.GetValue(outputDir) ?? throw new CliInputException("agent: --output DIR is required (where results are written)", ExitCodes.Usage);
            AgentConfig agentConfig;
            try
            {
                agentConfig = parse.GetValue(config) is { } file ? AgentConfig.Load(file) : new AgentConfig();
            }
            catch (AgentConfigException e)
            {
                throw new CliInputException($"--config {e.Message}", ExitCodes.AgentConfigInvalid);
            }
            if (parse.GetValue(allowUid) is { Length: > 0 } uids) agentConfig = agentConfig with { AllowedUids = [.. uids] };
            AgentModeSessions modes;
            try
            {
                // Before listening: a bad ruleset in the configuration refuses the agent, not a container later.
                modes = sessions(agentConfig);
            }
            catch (AgentConfigException e)
            {
                throw new CliInputException($"--config {e.Message}", ExitCodes.AgentConfigInvalid);
            }
            var log = new EventLog(console.Error, parse.GetValue(format));
            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            var options = new AgentOptions
            {
                SocketPath = socketPath,
                OutputDirectory = output,
                Config = agentConfig,
                Sessions = modes.Create,
                Log = log.Write,
            };
            try
            {
                SeccompAgent.RunAsync(options, stop.Token).GetAwaiter().GetResult();
            }
            catch (AgentStartException e)
            {
                throw new CliInputException($"agent: {e.Message}", e.Problem switch
                {
                    AgentStartProblem.OutputDirectory => ExitCodes.AgentOutputUnusable,
                    AgentStartProblem.SocketGroup => ExitCodes.AgentConfigInvalid,
                    _ => ExitCodes.AgentSocketUnavailable,
                });
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    /// <summary>One line per event on standard error, text or JSON; called from the agent's threads, so serialized.</summary>
    private sealed class EventLog(TextWriter error, OutputFormat format)
    {
        private readonly Lock _gate = new();

        public void Write(AgentEvent e)
        {
            string line = format == OutputFormat.Json ? Json(e) : $"{e.Time:yyyy-MM-ddTHH:mm:ss.fffZ} {Name(e.Kind)}: {e.Message}";
            lock (_gate)
            {
                error.WriteLine(line);
                error.Flush();
            }
        }

        private static string Name(AgentEventKind k) => k switch
        {
            AgentEventKind.SessionFault => "fault",
            _ => k.ToString().ToLowerInvariant(),
        };

        private static string Json(AgentEvent e)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                w.WriteString("time", e.Time);
                w.WriteString("event", Name(e.Kind));
                if (e.Kind == AgentEventKind.Refused) w.WriteString("reason", e.Reason.ToString());
                if (e.ContainerId is { } id) w.WriteString("container", id);
                if (e.Mode is { } mode) w.WriteString("mode", mode);
                if (e.Pid is { } pid) w.WriteNumber("pid", pid);
                if (e.Peer is { } peer)
                {
                    w.WriteNumber("peerPid", peer.Pid);
                    w.WriteNumber("peerUid", peer.Uid);
                }
                if (e.End is { } end) w.WriteString("end", end.ToString());
                if (e.Files.Count > 0)
                {
                    w.WriteStartArray("files");
                    foreach (var f in e.Files) w.WriteStringValue(f);
                    w.WriteEndArray();
                }
                w.WriteString("message", e.Message);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }
}
