using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Files;

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
        if (format is PolicyFormat.Oci or PolicyFormat.Docker or PolicyFormat.Podman) RequireObject(text, name);
        try
        {
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
                    // Includes resolve relative to the file; standard input's name is relative, so they resolve from the
                    // current directory, and messages say "<stdin>:3:1", not a file of that name in the current directory.
                    string fileName = path is null ? StandardInputName : System.IO.Path.GetFullPath(path);
                    policy = PolicyLanguage.Parse(text, fileName, new FileSystemIncludeResolver());
                    diagnostics = [];
                    format = PolicyFormat.Policy;
                    break;
            }
        }
        catch (PolicyException e) when (format != PolicyFormat.Policy && e is not PolicyFileException && e.Location is null or { File: null, JsonPath: not null } or { File: null, Line: not null })
        {
            // The JSON readers know paths and lines but not the file: name it, so that with several inputs (merge)
            // the message says which.
            throw e.At(e.Location is null ? PolicyLocation.InFile(name) : e.Location with { File = name });
        }
        if (!docker && options.Architectures.Count > 0) policy = policy.WithArchitectures(options.Architectures);
        return new LoadedPolicy(format, policy, diagnostics);
    }

    /// <summary>Reads a policy file as text, within the limits of <see cref="InputFile"/> (size, time).</summary>
    /// <exception cref="PolicyFileException">It does not exist, is a directory, may not be read, is too large, or reading failed (the message says which).</exception>
    public static string Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try { return InputFile.ReadAllText(path); }
        catch (InputFileException e) { throw new PolicyFileException(path, e.Reason); }
    }

    /// <summary>
    /// The format of <paramref name="text"/>: a JSON object with <c>archMap</c>, or with a syscalls entry that has
    /// <c>includes</c>, <c>excludes</c> or <c>name</c>, is a Docker profile; other JSON is OCI (whose reader reports
    /// malformed JSON with its line); anything else is the policy language.
    /// </summary>
    public static PolicyFormat Detect(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.AsSpan().TrimStart();
        // A JSON array: no policy-language statement starts with '[', so it is JSON that is not a profile (Parse says so).
        if (t.StartsWith('[')) return PolicyFormat.Oci;
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

    /// <summary>
    /// Refuses JSON whose top level is not an object (an array, a string, a number) with a message saying what was
    /// expected, instead of a reader's error about a field. Malformed JSON passes: the reader reports it with its line.
    /// </summary>
    private static void RequireObject(string text, string name)
    {
        JsonValueKind kind;
        try
        {
            using var doc = JsonDocument.Parse(Oci.JsonWalker.ReplaceLoneSurrogateEscapes(text), new JsonDocumentOptions { MaxDepth = 64 });
            kind = doc.RootElement.ValueKind;
        }
        catch (JsonException) { return; }
        if (kind == JsonValueKind.Object) return;
        string found = kind switch
        {
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };
        throw new PolicyFileException(name, $"this is JSON, but its top level is {found}, not a profile: expected an object, either an OCI linux.seccomp object or Docker/podman profile ({{\"defaultAction\": ..., \"syscalls\": [...]}}) or a whole OCI config.json (with linux.seccomp)");
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
