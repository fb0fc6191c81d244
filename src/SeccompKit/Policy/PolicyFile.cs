using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy;

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

/// <summary>How <see cref="PolicyFile"/> reads a policy file.</summary>
public sealed record PolicyFileOptions
{
    /// <summary>The format; <see cref="PolicyFormat.Auto"/> (the default) detects it (<see cref="PolicyFile.Detect"/>).</summary>
    public PolicyFormat Format { get; init; } = PolicyFormat.Auto;

    /// <summary>
    /// Docker profiles: at most one, the host arch whose <c>archMap</c> entry is used (none: x86_64, this host).
    /// Other formats: the architectures the filter covers, replacing the policy's own (none: keep them).
    /// </summary>
    public IReadOnlyList<Architecture> Architectures { get; init; } = [];

    /// <summary>Docker profiles only: the container's capabilities (<c>CAP_SYS_ADMIN</c>...); null for the engine's default set.</summary>
    public IReadOnlyCollection<string>? Capabilities { get; init; }

    /// <summary>Docker profiles only: the kernel release their <c>minKernel</c> conditions are decided for; null for the running kernel.</summary>
    public string? Kernel { get; init; }
}

/// <summary>A policy file as read: what it was, what it means, and the reader's notes.</summary>
/// <param name="Format">The format it was read as (never <see cref="PolicyFormat.Auto"/>).</param>
/// <param name="Policy">The policy.</param>
/// <param name="Diagnostics">What the reader skipped or wants the user to know, each with its JSON path or file:line.</param>
public sealed record LoadedPolicy(PolicyFormat Format, SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics)
{
    /// <summary>The policy's filter flags (OCI <c>flags</c>, the language's <c>flags</c> statement).</summary>
    public PolicyFlags Flags => Policy.Flags;

    /// <summary>How many of <see cref="Diagnostics"/> are warnings (input skipped or not doing what it seems to).</summary>
    public int WarningCount => Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Warning);
}

/// <summary>
/// A policy file that cannot be read or does not hold a policy in a way no reader reports: missing, unreadable, a
/// config.json without <c>linux.seccomp</c>, options that do not apply to its format. <see cref="PolicyException.Location"/>
/// is the file.
/// </summary>
public sealed class PolicyFileException : PolicyException
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public PolicyFileException(string file, string message) : base(message, PolicyLocation.InFile(file)) { }
}

/// <summary>
/// Loads a policy file in any supported format in one call: OCI <c>linux.seccomp</c> JSON (or a whole config.json),
/// Docker and podman profiles, or the SeccompKit policy language, detected from the content unless given.
/// </summary>
/// <example>
/// <code>
/// var loaded = PolicyFile.Load("data/profiles/docker-default.json");
/// var filter = PolicyCompiler.Compile(loaded.Policy).Program;
/// </code>
/// </example>
public static class PolicyFile
{
    /// <summary>The name errors give to text that came from no file (standard input).</summary>
    public const string StandardInputName = "<stdin>";

    /// <summary>Reads and loads <paramref name="path"/>.</summary>
    /// <exception cref="PolicyFileException">The file cannot be read, or the options do not fit its format.</exception>
    /// <exception cref="PolicyException">The content is not a valid policy (the message gives the JSON path or file:line).</exception>
    public static LoadedPolicy Load(string path, PolicyFileOptions? options = null) => Parse(Read(path), path, options);

    /// <summary>
    /// Loads a policy from <paramref name="text"/> already read (a pipe can be read once only). <paramref name="path"/> is
    /// where it came from, for messages and for the policy language's includes, which resolve relative to it; null for
    /// standard input or memory (messages say <see cref="StandardInputName"/>, includes resolve from the current directory).
    /// </summary>
    /// <exception cref="PolicyFileException">A config.json without <c>linux.seccomp</c>, or options that do not fit the format.</exception>
    /// <exception cref="PolicyException">The content is not a valid policy (the message gives the JSON path or file:line).</exception>
    public static LoadedPolicy Parse(string text, string? path, PolicyFileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new PolicyFileOptions();
        string name = path ?? StandardInputName;
        var format = options.Format == PolicyFormat.Auto ? Detect(text) : options.Format;
        bool docker = format is PolicyFormat.Docker or PolicyFormat.Podman;
        if (docker && options.Architectures.Count > 1)
            throw new PolicyFileException(name, "a Docker profile is resolved for one host arch (its archMap entry names the others); give one architecture");
        if (!docker && (options.Capabilities is not null || options.Kernel is not null))
            throw new PolicyFileException(name, $"capabilities and a kernel release only apply to Docker-format profiles (archMap, includes/excludes); this input is {FormatName(format)}");
        var host = docker && options.Architectures.Count == 1 ? options.Architectures[0] : Architecture.NativeHost;
        SeccompPolicy policy;
        ImmutableArray<PolicyDiagnostic> diagnostics;
        switch (format)
        {
            case PolicyFormat.Oci:
                (policy, diagnostics) = OciImporter.Import(ExtractSeccomp(text, name), new OciImportOptions { Native = host });
                break;
            case PolicyFormat.Docker:
            case PolicyFormat.Podman:
                (policy, diagnostics) = DockerProfile.Resolve(text, new DockerResolveOptions
                {
                    Architecture = host,
                    Capabilities = options.Capabilities,
                    KernelVersion = options.Kernel ?? RunningKernel(),
                    Engine = format == PolicyFormat.Podman ? DockerEngine.Podman : DockerEngine.Moby,
                });
                break;
            default:
                // Includes resolve relative to the file; standard input resolves them from the current directory.
                string fileName = path is null ? System.IO.Path.Combine(Directory.GetCurrentDirectory(), StandardInputName) : System.IO.Path.GetFullPath(path);
                policy = PolicyLanguage.Parse(text, fileName, new FileSystemIncludeResolver());
                diagnostics = [];
                format = PolicyFormat.Policy;
                break;
        }
        if (!docker && options.Architectures.Count > 0) policy = policy.WithArchitectures(options.Architectures);
        return new LoadedPolicy(format, policy, diagnostics);
    }

    /// <summary>Reads a policy file as text.</summary>
    /// <exception cref="PolicyFileException">It does not exist, may not be read, or reading failed (the message says which).</exception>
    public static string Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try { return File.ReadAllText(path); }
        catch (FileNotFoundException) { throw new PolicyFileException(path, "no such file"); }
        catch (DirectoryNotFoundException) { throw new PolicyFileException(path, "no such file or directory"); }
        catch (UnauthorizedAccessException) { throw new PolicyFileException(path, "permission denied"); }
        catch (IOException e) { throw new PolicyFileException(path, $"cannot read: {e.Message}"); }
    }

    /// <summary>
    /// The format of <paramref name="text"/>: a JSON object with <c>archMap</c>, or with a syscalls entry that has
    /// <c>includes</c>, <c>excludes</c> or <c>name</c>, is a Docker profile; other JSON is OCI (whose reader reports
    /// malformed JSON with its line); anything else is the policy language.
    /// </summary>
    public static PolicyFormat Detect(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
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

    /// <summary>The format's name as the command line spells it: oci, docker, podman, policy.</summary>
    public static string FormatName(PolicyFormat format) => format.ToString().ToLowerInvariant();

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
                throw new PolicyFileException(name, "this is an OCI config.json without linux.seccomp; add a seccomp object or pass the seccomp profile itself");
            }
        }
        catch (JsonException) { } // not JSON: the OCI reader reports it with its line
        return text;
    }

    /// <summary>
    /// The running kernel's release, which Docker compares a profile's <c>minKernel</c> with (moby's
    /// <c>kernel.GetKernelVersion</c> reads uname; /proc/sys/kernel/osrelease is the same string).
    /// </summary>
    private static string RunningKernel()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyException("cannot read /proc/sys/kernel/osrelease to resolve the profile's minKernel conditions; pass --kernel VERSION");
        }
    }
}
