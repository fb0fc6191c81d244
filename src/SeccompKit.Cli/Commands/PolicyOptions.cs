using System.CommandLine;
using SeccompKit.Cli.Io;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;

namespace SeccompKit.Cli.Commands;

/// <summary>The options every command that reads a policy file shares.</summary>
internal sealed class PolicyOptions
{
    public Option<PolicyFormat> From { get; } = new("--from")
    {
        Description = "Input format: auto (JSON with archMap/includes is a Docker profile, other JSON is OCI linux.seccomp or a config.json, anything else the policy language), oci, docker, podman, policy",
        DefaultValueFactory = _ => PolicyFormat.Auto,
    };

    public Option<string[]> Arch { get; } = new("--arch")
    {
        Description = "Docker profiles: the host arch whose archMap entry is used (default x86_64). Other formats: the architectures the filter covers, replacing the policy's (repeat or comma-separate)",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string[]> Cap { get; } = new("--cap")
    {
        Description = "Docker profiles: the container's capabilities (CAP_SYS_ADMIN...; repeat); default the engine's default set",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string?> Kernel { get; } = new("--kernel") { Description = "Docker profiles: kernel release for minKernel (default: the running kernel)" };

    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "Do not print notes (warnings are still printed)" };

    public IEnumerable<Option> All => [From, Arch, Cap, Kernel, Quiet];

    // summarize: print one line with the number of warnings instead of each (for `run`, whose standard error
    // belongs to the program); notes are then not printed.
    public (SeccompPolicy Policy, PolicyFormat Format) Load(ParseResult parse, string path, ICliConsole console, bool summarize = false)
    {
        var arches = (parse.GetValue(Arch) ?? []).SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(PolicyInput.ParseArch).Distinct().ToList();
        var caps = parse.GetValue(Cap) is { Length: > 0 } c
            ? c.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Select(x => x.ToUpperInvariant().StartsWith("CAP_", StringComparison.Ordinal) ? x.ToUpperInvariant() : "CAP_" + x.ToUpperInvariant()).ToList()
            : null;
        var format = parse.GetValue(From);
        string text = PolicyInput.ReadText(path, console);
        var detected = format == PolicyFormat.Auto ? PolicyFile.Detect(text) : format;
        bool docker = detected is PolicyFormat.Docker or PolicyFormat.Podman;
        if (docker && arches.Count > 1)
            throw new CliInputException("--arch: a Docker profile is resolved for one host arch (its archMap entry names the others); give one --arch", ExitCodes.Usage);
        if (!docker && (caps is not null || parse.GetValue(Kernel) is not null))
            throw new CliInputException("--cap and --kernel only apply to Docker-format profiles (archMap, includes/excludes); this input is " + PolicyFile.FormatName(detected), ExitCodes.Usage);
        var loaded = PolicyFile.Parse(text, PolicyInput.FileName(path),
            new PolicyFileOptions { Format = detected, Architectures = arches, Capabilities = caps, Kernel = parse.GetValue(Kernel) });
        if (!summarize) PolicyInput.Report(loaded.Diagnostics, path, console, parse.GetValue(Quiet));
        else if (!parse.GetValue(Quiet) && loaded.WarningCount is > 0 and int warnings)
            console.Error.WriteLine($"seccompkit: {path}: {warnings} warning(s) about what the filter leaves out; see them with `seccompkit compile {path} --report` (-q hides this line)");
        return (loaded.Policy, loaded.Format);
    }
}
