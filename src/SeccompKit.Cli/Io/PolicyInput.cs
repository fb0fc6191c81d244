using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Io;

/// <summary>The formats a policy file can be in.</summary>
public enum PolicyFormat
{
    /// <summary>Decide from the content: JSON with <c>archMap</c> or <c>includes</c>/<c>excludes</c> is a Docker profile, other JSON is OCI (the seccomp object or a whole config.json), anything else is the SeccompKit language.</summary>
    Auto,
    /// <summary>OCI runtime-spec <c>linux.seccomp</c> (or a config.json holding it), read as runc reads it.</summary>
    Oci,
    /// <summary>A Docker/moby profile (archMap, includes/excludes), resolved as Docker does.</summary>
    Docker,
    /// <summary>A Docker-format profile resolved as podman (containers/common) does.</summary>
    Podman,
    /// <summary>The SeccompKit policy language.</summary>
    Policy,
}

/// <summary>How Docker-format profiles are resolved (options shared by compile and convert).</summary>
/// <param name="Arch">Host arch for the archMap entry; null for x86_64.</param>
/// <param name="Capabilities">Container capabilities; null for the engine's default set.</param>
/// <param name="Kernel">Kernel release for minKernel; null for the running kernel.</param>
public sealed record ProfileOptions(Architecture? Arch, IReadOnlyCollection<string>? Capabilities, string? Kernel);

/// <summary>Reads policy files in any supported format.</summary>
public static class PolicyInput
{
    /// <summary>Reads <paramref name="path"/> ("-" = standard input) and returns the policy, its format and the reader's notes.</summary>
    public static (SeccompPolicy Policy, PolicyFormat Format, ImmutableArray<PolicyDiagnostic> Diagnostics) Load(
        string path, PolicyFormat format, ProfileOptions profile, ICliConsole console) =>
        Load(path, ReadText(path, console), format, profile);

    /// <summary>Like <see cref="Load(string, PolicyFormat, ProfileOptions, ICliConsole)"/> for text already read (pipes can be read once only).</summary>
    public static (SeccompPolicy Policy, PolicyFormat Format, ImmutableArray<PolicyDiagnostic> Diagnostics) Load(
        string path, string text, PolicyFormat format, ProfileOptions profile)
    {
        if (format == PolicyFormat.Auto) format = Detect(text);
        string name = path == "-" ? "<stdin>" : path;
        switch (format)
        {
            case PolicyFormat.Oci:
            {
                var (p, d) = OciImporter.Import(ExtractSeccomp(text, name), new OciImportOptions { Native = profile.Arch ?? Architecture.NativeHost });
                return (p, format, d);
            }
            case PolicyFormat.Docker:
            case PolicyFormat.Podman:
            {
                var options = new DockerResolveOptions
                {
                    Architecture = profile.Arch ?? Architecture.NativeHost,
                    Capabilities = profile.Capabilities,
                    KernelVersion = profile.Kernel ?? RunningKernel(),
                    Engine = format == PolicyFormat.Podman ? DockerEngine.Podman : DockerEngine.Moby,
                };
                var (p, d) = DockerProfile.Resolve(text, options);
                return (p, format, d);
            }
            default:
                // Includes resolve relative to the file; standard input resolves them from the current directory.
                string fileName = path == "-" ? Path.Combine(Directory.GetCurrentDirectory(), "<stdin>") : Path.GetFullPath(path);
                var policy = PolicyLanguage.Parse(text, fileName, new FileSystemIncludeResolver());
                return (policy, PolicyFormat.Policy, []);
        }
    }

    /// <summary>Writes the notes to standard error, one per line.</summary>
    public static void Report(ImmutableArray<PolicyDiagnostic> diagnostics, string path, ICliConsole console, bool quiet)
    {
        foreach (var d in diagnostics)
        {
            if (quiet && d.Severity == DiagnosticSeverity.Info) continue;
            console.Error.WriteLine($"seccompkit: {path}: {d}");
        }
    }

    /// <summary>Reads a policy file or standard input ("-") as text.</summary>
    public static string ReadText(string path, ICliConsole console)
    {
        try
        {
            if (path == "-")
            {
                using var reader = new StreamReader(console.OpenStandardInput());
                return reader.ReadToEnd();
            }
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException) { throw new CliInputException($"{path}: no such file"); }
        catch (DirectoryNotFoundException) { throw new CliInputException($"{path}: no such file or directory"); }
        catch (UnauthorizedAccessException) { throw new CliInputException($"{path}: permission denied"); }
        catch (IOException e) { throw new CliInputException($"{path}: cannot read: {e.Message}"); }
    }

    /// <summary>JSON objects are OCI or Docker; anything else is the policy language.</summary>
    public static PolicyFormat Detect(string text)
    {
        var t = text.TrimStart();
        if (!t.StartsWith('{')) return PolicyFormat.Policy;
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return PolicyFormat.Oci;
            if (root.TryGetProperty("archMap", out _)) return PolicyFormat.Docker;
            if (root.TryGetProperty("syscalls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                foreach (var c in calls.EnumerateArray())
                    if (c.ValueKind == JsonValueKind.Object && (c.TryGetProperty("includes", out _) || c.TryGetProperty("excludes", out _) || c.TryGetProperty("name", out _)))
                        return PolicyFormat.Docker;
            return PolicyFormat.Oci;
        }
        catch (JsonException) { return PolicyFormat.Oci; } // the OCI reader reports the error with its line and path
    }

    /// <summary>A whole OCI config.json is accepted: its <c>linux.seccomp</c> object is used.</summary>
    private static string ExtractSeccomp(string text, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ociVersion", out _))
            {
                if (root.TryGetProperty("linux", out var linux) && linux.ValueKind == JsonValueKind.Object && linux.TryGetProperty("seccomp", out var s))
                    return s.GetRawText();
                throw new CliInputException($"{name}: this is an OCI config.json without linux.seccomp; add a seccomp object or pass the seccomp profile itself");
            }
        }
        catch (JsonException) { }
        return text;
    }

    /// <summary>The running kernel's release (for Docker's minKernel), read where the CLI runs.</summary>
    private static string RunningKernel()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException("cannot read /proc/sys/kernel/osrelease to resolve the profile's minKernel conditions; pass --kernel VERSION");
        }
    }

    /// <summary>Parses an --arch value.</summary>
    public static Architecture ParseArch(string name)
    {
        if (Architecture.TryGet(name, out var a)) return a;
        try { return Architecture.Get(name); }
        catch (SeccompException e) { throw new CliInputException($"--arch: {e.Message}", ExitCodes.Usage); }
    }
}
