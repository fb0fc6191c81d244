using System.Diagnostics;

namespace SeccompKit.TestKit;

/// <summary>
/// A real OCI runtime binary (runc or crun) and the command lines the tests give it. crun 1.8.1 refuses hosts with
/// hybrid cgroups whose cgroup2 mount has controllers ("cgroups in hybrid mode not supported"), as our machines
/// have (hugetlb sits in /sys/fs/cgroup/unified): its <c>create</c> and <c>run</c> then go through the
/// <c>crun-hybrid</c> wrapper of ../shared/docs/OCI-RUNTIMES.md — a private mount namespace in which the cgroup2
/// mount is unmounted, so crun sees a pure v1 host. The host mount is untouched. Other crun commands need no wrapper.
/// </summary>
/// <remarks>Also used by tools/MeasureRuntimeSyscalls (a project reference): no xunit in SeccompKit.TestKit.</remarks>
public sealed class OciRuntime
{
    private const string HybridCgroup2 = "/sys/fs/cgroup/unified";

    /// <summary>runc, found on PATH.</summary>
    public static OciRuntime Runc { get; } = new("runc");

    /// <summary>crun, found on PATH.</summary>
    public static OciRuntime Crun { get; } = new("crun");

    /// <summary>runc or crun by name.</summary>
    public static OciRuntime Named(string name) => name switch
    {
        "runc" => Runc,
        "crun" => Crun,
        _ => throw new ArgumentException($"unknown OCI runtime '{name}'; use runc or crun", nameof(name)),
    };

    private readonly Lazy<string?> _path;
    private readonly Lazy<string> _version;

    private OciRuntime(string name)
    {
        Name = name;
        _path = new(() => FindOnPath(name));
        _version = new(() => ReadVersion(this));
    }

    /// <summary>"runc" or "crun".</summary>
    public string Name { get; }

    /// <summary>The binary's full path, or null when it is not installed.</summary>
    public string? Path => _path.Value;

    /// <summary>Is the binary on PATH?</summary>
    public bool IsInstalled => Path is not null;

    /// <summary>Why a test cannot use this runtime (empty when it can).</summary>
    public string WhyMissing => IsInstalled ? "" : $"{Name} is not installed (not on PATH {Environment.GetEnvironmentVariable("PATH")}); apt-get install -y {Name} busybox-static";

    /// <summary>The version from the first line of <c>--version</c>: "1.1.5+ds1" for runc, "1.8.1" for crun.</summary>
    public string Version => _version.Value;

    /// <summary>The whole <c>--version</c> output (commit, spec, go/libseccomp versions, features).</summary>
    public string VersionOutput => Exec(TimeSpan.FromSeconds(20), "--version").Stdout.Trim();

    /// <summary>Does crun need the hybrid-cgroup wrapper on this host (a cgroup2 mount beside v1 with controllers)?</summary>
    public bool NeedsHybridWrapper =>
        Name == "crun" && File.Exists(System.IO.Path.Combine(HybridCgroup2, "cgroup.controllers"))
        && File.ReadAllText(System.IO.Path.Combine(HybridCgroup2, "cgroup.controllers")).Trim().Length > 0;

    /// <summary>
    /// The start info for <c>NAME ARGS...</c>; crun's <c>create</c>/<c>run</c> wrapped as ../shared/oci/crun-hybrid does when
    /// the host needs it. Standard streams are redirected.
    /// </summary>
    public ProcessStartInfo Command(params string[] args)
    {
        string binary = Path ?? throw new InvalidOperationException(WhyMissing);
        ProcessStartInfo psi;
        if (args.Length > 0 && args[0] is "create" or "run" && NeedsHybridWrapper)
            psi = new ProcessStartInfo("unshare",
                ["--mount", "--propagation", "private", "sh", "-c", $"umount {HybridCgroup2} && exec \"$0\" \"$@\"", binary, .. args]);
        else
            psi = new ProcessStartInfo(binary, args);
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        return psi;
    }

    /// <summary>Runs <c>NAME ARGS...</c> to the end (killed after <paramref name="timeout"/>, then TimeoutException).</summary>
    public (int Code, string Stdout, string Stderr) Exec(TimeSpan timeout, params string[] args)
    {
        var psi = Command(args);
        var r = ChildProcess.Run(psi.FileName, psi.ArgumentList, new ProcessOptions { Timeout = timeout });
        return (r.Exit, r.Out, r.Err);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static string ReadVersion(OciRuntime runtime)
    {
        // "runc version 1.1.5+ds1" / "crun version 1.8.1"
        var first = runtime.VersionOutput.Split('\n')[0].Trim();
        const string marker = " version ";
        int i = first.IndexOf(marker, StringComparison.Ordinal);
        return i >= 0 ? first[(i + marker.Length)..].Trim() : first;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
