using System.Diagnostics;
using System.Text.Json;

namespace SeccompKit.Linux.Tests.Libseccomp;

/// <summary>One exported filter: its BPF file and the vectors the rule set's meaning gives.</summary>
public sealed record ExportedFilter(string Name, string Description, byte[] Bpf, IReadOnlyList<LibseccompVector> Vectors);

/// <summary>One input and the return value the rules say: <c>arch nr arg0..arg5 -> expected</c>.</summary>
public sealed record LibseccompVector(uint Arch, uint Nr, ulong[] Args, uint Expected);

/// <summary>A profile name, the number libseccomp's resolver gives it on one ABI, and the profile's action.</summary>
public sealed record CrossCheckEntry(string Name, string ArchName, uint AuditArch, uint Nr, uint Expected);

/// <summary>
/// Runs <c>export_filters.py</c> once per test class with Debian's /usr/bin/python3 (which has the
/// python3-seccomp module) and reads what it wrote: libseccomp's BPF for every rule set, the vectors and
/// the Docker cross-check table.
/// </summary>
public sealed class LibseccompExport : IDisposable
{
    /// <summary>The interpreter that has Debian's python3-seccomp (a pyenv python3 on PATH may not).</summary>
    public const string Python = "/usr/bin/python3";

    private readonly Lazy<(string Version, IReadOnlyList<ExportedFilter> Filters, IReadOnlyList<CrossCheckEntry> Cross)> _export;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("seccompkit-libseccomp-");

    public LibseccompExport() => _export = new(Run);

    public string LibseccompVersion => _export.Value.Version;
    public IReadOnlyList<ExportedFilter> Filters => _export.Value.Filters;
    public IReadOnlyList<CrossCheckEntry> DockerCrossCheck => _export.Value.Cross;

    private static string ScriptDir => Path.Combine(AppContext.BaseDirectory, "Libseccomp");

    private (string, IReadOnlyList<ExportedFilter>, IReadOnlyList<CrossCheckEntry>) Run()
    {
        var (code, _, err) = Exec(Python, "-c", "import seccomp");
        if (code != 0)
            throw new InvalidOperationException(
                $"{Python} cannot import the libseccomp bindings (exit {code}: {err.Trim()}). " +
                "Install them with: apt-get install python3-seccomp");

        var script = Path.Combine(ScriptDir, "export_filters.py");
        var profile = Path.Combine(ScriptDir, "docker-default.json");
        (code, var output, err) = Exec(Python, script, "--out", _dir.FullName, "--profile", profile);
        if (code != 0)
            throw new InvalidOperationException($"export_filters.py failed with exit code {code}:\n{err}\n{output}");

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_dir.FullName, "manifest.json")));
        var root = doc.RootElement;
        var filters = new List<ExportedFilter>();
        foreach (var f in root.GetProperty("filters").EnumerateArray())
        {
            var vectors = new List<LibseccompVector>();
            foreach (var v in f.GetProperty("vectors").EnumerateArray())
            {
                var args = new ulong[6];
                for (int i = 0; i < 6; i++) args[i] = v[2 + i].GetUInt64();
                vectors.Add(new LibseccompVector(v[0].GetUInt32(), v[1].GetUInt32(), args, v[8].GetUInt32()));
            }
            filters.Add(new ExportedFilter(
                f.GetProperty("name").GetString()!,
                f.GetProperty("description").GetString()!,
                File.ReadAllBytes(Path.Combine(_dir.FullName, f.GetProperty("file").GetString()!)),
                vectors));
        }
        var cross = root.GetProperty("dockerCrossCheck").EnumerateArray()
            .Select(c => new CrossCheckEntry(c.GetProperty("name").GetString()!, c.GetProperty("arch").GetString()!,
                c.GetProperty("auditArch").GetUInt32(), c.GetProperty("nr").GetUInt32(), c.GetProperty("expected").GetUInt32()))
            .ToList();
        return (root.GetProperty("libseccomp").GetString()!, filters, cross);
    }

    private static (int Code, string Stdout, string Stderr) Exec(string file, params string[] args)
    {
        try
        {
            var r = ChildProcess.Run(file, args, new ProcessOptions { Timeout = TimeSpan.FromMinutes(3) });
            return (r.Exit, r.Out, r.Err);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message} Install Debian's python3 and its libseccomp bindings: apt-get install python3 python3-seccomp", e);
        }
    }

    public void Dispose()
    {
        try { _dir.Delete(recursive: true); } catch (IOException) { /* a leftover temp dir is harmless */ }
    }
}
