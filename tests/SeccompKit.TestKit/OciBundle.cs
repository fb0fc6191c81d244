using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeccompKit.TestKit;

/// <summary>What to run in a container: the process, its user, no_new_privs, and the <c>linux.seccomp</c> object.</summary>
/// <param name="Args">process.args; "/bin/sh" etc. are symlinks to /bin/busybox in the rootfs.</param>
public sealed record OciContainerSpec(params string[] Args)
{
    /// <summary>The OCI <c>linux.seccomp</c> object, or null for none.</summary>
    public JsonNode? Seccomp { get; init; }

    /// <summary>process.noNewPrivileges (true in the default spec). runc and crun install the filter later when it is true.</summary>
    public bool NoNewPrivileges { get; init; } = true;

    /// <summary>process.user.uid and gid.</summary>
    public int Uid { get; init; }

    /// <summary>A copy with another seccomp object.</summary>
    public OciContainerSpec WithSeccomp(JsonNode? seccomp) => this with { Seccomp = seccomp };

    /// <summary>"noNewPrivileges=true uid=0".</summary>
    public string Describe() => $"noNewPrivileges={(NoNewPrivileges ? "true" : "false")} uid={Uid}";
}

/// <summary>How the container is started: <c>run</c> in the foreground, or <c>create</c> then <c>start</c> (what podman and containerd do).</summary>
public enum OciLaunchMode
{
    /// <summary><c>RUNTIME run</c>: the runtime waits for the container and exits with its status.</summary>
    Run,
    /// <summary><c>RUNTIME create</c>, then <c>RUNTIME start</c>: the container init waits on the exec fifo in between; no exit status.</summary>
    CreateStart,
}

/// <summary>How a container run ended.</summary>
/// <param name="ExitCode">The runtime's exit status (for <c>run</c>: the container's, 128+signal when killed); null for create/start, where nobody reaps the container for us.</param>
/// <param name="Stdout">The container's standard output.</param>
/// <param name="Stderr">The container's and the runtime's standard error.</param>
/// <param name="ContainerPid">The container init's pid in the host pid namespace (from <c>--pid-file</c>), or 0 when it was never created.</param>
/// <param name="Elapsed">Wall time of the whole run.</param>
/// <param name="RuntimePid">The pid of the runtime command started here (<c>run</c>, or <c>create</c>): every process of the container descends from it.</param>
public sealed record OciRunResult(int? ExitCode, string Stdout, string Stderr, int ContainerPid, TimeSpan Elapsed, int RuntimePid)
{
    /// <summary>A line for test output: exit code, pid, stdout and stderr.</summary>
    public override string ToString() =>
        $"exit {(ExitCode is { } c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")}, pid {ContainerPid}, {Elapsed.TotalMilliseconds:F0} ms, stdout [{Stdout.TrimEnd()}], stderr [{Stderr.TrimEnd()}]";
}

/// <summary>
/// An OCI bundle in a temporary directory: a rootfs of the static busybox (<c>/bin/busybox</c>, from
/// busybox-static) with one symlink per applet, laid out as ../shared/oci/mkrootfs.sh does, and a
/// <c>config.json</c> written for each run from the runtime's own <c>spec</c> with the edits
/// ../shared/docs/OCI-RUNTIMES.md lists (terminal off, writable root, our args, user, no_new_privs and seccomp).
/// Each run uses a fresh container id and always ends with <c>delete -f</c>; Dispose removes the directory.
/// </summary>
/// <remarks>Also used by tools/MeasureRuntimeSyscalls (a project reference): no xunit in SeccompKit.TestKit.</remarks>
public sealed class OciBundle : IDisposable
{
    /// <summary>The static busybox the rootfs is made of.</summary>
    public const string Busybox = "/bin/busybox";

    /// <summary>Where busybox sits in the rootfs, and so the <c>exe=</c> of every container process in audit records.</summary>
    public const string ContainerExecutable = "/bin/busybox";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private readonly Dictionary<string, string> _baseSpecs = [];

    private OciBundle(DirectoryInfo dir) => Dir = dir;

    /// <summary>The bundle directory (config.json and rootfs/).</summary>
    public DirectoryInfo Dir { get; }

    /// <summary>The rootfs directory.</summary>
    public string Rootfs => Path.Combine(Dir.FullName, "rootfs");

    /// <summary>Why no bundle can be made here (empty when one can): the static busybox is missing.</summary>
    public static string WhyUnavailable => File.Exists(Busybox) ? "" : $"{Busybox} is missing; the OCI tests build their rootfs from the static busybox: apt-get install -y busybox-static";

    /// <summary>Creates the directory and the rootfs.</summary>
    public static OciBundle Create()
    {
        if (WhyUnavailable.Length > 0) throw new InvalidOperationException(WhyUnavailable);
        var dir = Directory.CreateTempSubdirectory("seccompkit-oci-");
        try
        {
            MakeRootfs(Path.Combine(dir.FullName, "rootfs"));
            return new OciBundle(dir);
        }
        catch
        {
            dir.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Runs the container to its end with <paramref name="runtime"/> and returns how it ended. A run that takes longer
    /// than <paramref name="timeout"/> is killed and reported as a TimeoutException. The container is deleted afterwards
    /// in every case.
    /// </summary>
    /// <param name="runtime">The runtime.</param>
    /// <param name="spec">What to run.</param>
    /// <param name="timeout">How long the whole run may take.</param>
    /// <param name="mode">run, or create then start.</param>
    /// <param name="wrap">For <c>run</c> only: rewrites the runtime's command line (e.g. to run it under strace).</param>
    public OciRunResult Run(OciRuntime runtime, OciContainerSpec spec, TimeSpan timeout, OciLaunchMode mode = OciLaunchMode.Run,
        Func<ProcessStartInfo, ProcessStartInfo>? wrap = null)
    {
        WriteConfig(runtime, spec);
        string id = $"seccompkit-{runtime.Name}-{Guid.NewGuid():n}"[..32];
        string pidFile = Path.Combine(Dir.FullName, id + ".pid");
        var clock = Stopwatch.StartNew();
        try
        {
            return mode == OciLaunchMode.Run
                ? RunForeground(runtime, id, pidFile, timeout, clock, wrap ?? (psi => psi))
                : CreateAndStart(runtime, id, pidFile, timeout, clock);
        }
        finally
        {
            try { runtime.Exec(CommandTimeout, "delete", "-f", id); } catch (TimeoutException) { }
            File.Delete(pidFile);
        }
    }

    private OciRunResult RunForeground(OciRuntime runtime, string id, string pidFile, TimeSpan timeout, Stopwatch clock, Func<ProcessStartInfo, ProcessStartInfo> wrap)
    {
        var psi = wrap(runtime.Command("run", "--bundle", Dir.FullName, "--pid-file", pidFile, id));
        using var p = ChildProcess.Start(psi.FileName, psi.ArgumentList, new ProcessOptions { Timeout = timeout });
        try
        {
            var r = p.Wait();
            return new OciRunResult(r.Exit, r.Out, r.Err, ReadPid(pidFile), clock.Elapsed, r.Pid);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{runtime.Name} run {id} did not finish within {timeout.TotalSeconds} s (pid file: {ReadPid(pidFile)})", e);
        }
    }

    private OciRunResult CreateAndStart(OciRuntime runtime, string id, string pidFile, TimeSpan timeout, Stopwatch clock)
    {
        // With terminal off the runtime hands its own stdio to the container: our pipes stay open in the container init
        // after `create` returns, and reach EOF when the container exits.
        using var create = Process.Start(runtime.Command("create", "--bundle", Dir.FullName, "--pid-file", pidFile, id))
            ?? throw new InvalidOperationException($"could not start {runtime.Name}");
        create.StandardInput.Close();
        var stdout = create.StandardOutput.ReadToEndAsync();
        var stderr = create.StandardError.ReadToEndAsync();
        if (!create.WaitForExit(timeout))
        {
            string tree = HungProcesses.Describe(create.Id);
            create.Kill(entireProcessTree: true);
            throw new TimeoutException($"{runtime.Name} create {id} did not finish within {timeout.TotalSeconds} s; its processes were:\n{tree}");
        }
        if (create.ExitCode != 0)
        {
            Task.WaitAll([stdout, stderr], CommandTimeout);
            return new OciRunResult(create.ExitCode, stdout.IsCompleted ? stdout.Result : "", stderr.IsCompleted ? stderr.Result : "", ReadPid(pidFile), clock.Elapsed, create.Id);
        }
        int pid = ReadPid(pidFile);
        var (code, _, startErr) = runtime.Exec(CommandTimeout, "start", id);
        if (code != 0)
            return new OciRunResult(code, stdout.IsCompleted ? stdout.Result : "", startErr, pid, clock.Elapsed, create.Id);
        var left = timeout - clock.Elapsed;
        if (!Task.WaitAll([stdout, stderr], left > TimeSpan.Zero ? left : TimeSpan.Zero))
            throw new TimeoutException($"container {id} (pid {pid}) did not exit within {timeout.TotalSeconds} s of create; its processes were:\n{HungProcesses.Describe(pid)}");
        // The pipes close when the last container process exits; the runtime may take a moment to notice.
        return new OciRunResult(null, stdout.Result, stderr.Result, pid, clock.Elapsed, create.Id);
    }

    private static int ReadPid(string pidFile) =>
        File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid) ? pid : 0;

    /// <summary>Writes config.json: the runtime's <c>spec</c> with terminal off, a writable root, and <paramref name="spec"/>.</summary>
    public void WriteConfig(OciRuntime runtime, OciContainerSpec spec)
    {
        var config = JsonNode.Parse(BaseSpec(runtime))!.AsObject();
        var process = config["process"]!.AsObject();
        process["terminal"] = false;
        process["args"] = new JsonArray([.. spec.Args.Select(a => JsonValue.Create(a))]);
        process["noNewPrivileges"] = spec.NoNewPrivileges;
        process["user"] = new JsonObject { ["uid"] = spec.Uid, ["gid"] = spec.Uid };
        config["root"] = new JsonObject { ["path"] = Rootfs, ["readonly"] = false };
        var linux = config["linux"]!.AsObject();
        linux.Remove("seccomp");
        if (spec.Seccomp is not null) linux["seccomp"] = spec.Seccomp.DeepClone();
        File.WriteAllText(Path.Combine(Dir.FullName, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary><c>RUNTIME spec</c>'s config.json (run once per runtime, in a scratch directory).</summary>
    private string BaseSpec(OciRuntime runtime)
    {
        if (_baseSpecs.TryGetValue(runtime.Name, out var cached)) return cached;
        var scratch = Directory.CreateDirectory(Path.Combine(Dir.FullName, "spec-" + runtime.Name));
        var psi = runtime.Command("spec");
        var spec = ChildProcess.Run(psi.FileName, psi.ArgumentList, new ProcessOptions { WorkingDirectory = scratch.FullName, Timeout = CommandTimeout });
        if (spec.Exit != 0) throw new InvalidOperationException($"{runtime.Name} spec failed: {spec.Err}");
        string text = File.ReadAllText(Path.Combine(scratch.FullName, "config.json"));
        scratch.Delete(recursive: true);
        _baseSpecs[runtime.Name] = text;
        return text;
    }

    /// <summary>A rootfs of the static busybox and a symlink per applet, as ../shared/oci/mkrootfs.sh lays it out.</summary>
    private static void MakeRootfs(string rootfs)
    {
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "tmp", "etc", "root" })
            Directory.CreateDirectory(Path.Combine(rootfs, d));
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0b1_111_111_111); // 1777
        string busybox = Path.Combine(rootfs, "bin", "busybox");
        File.Copy(Busybox, busybox);
        // The applets of the original, not of the fresh copy: exec'ing a file just written fails with ETXTBSY while
        // another thread's fork still holds the writing descriptor (seen with the signal suites starting processes at once).
        foreach (var applet in ChildProcess.Run(Busybox, ["--list"]).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (applet != "busybox") File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nuser:x:1000:\n");
    }

    /// <summary>Removes the bundle directory.</summary>
    public void Dispose()
    {
        try { Dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One busybox bundle for the whole class (its tests run one after another, each rewriting config.json).</summary>
public sealed class BusyboxBundleFixture : IDisposable
{
    private readonly Lazy<OciBundle> _bundle = new(OciBundle.Create);

    /// <summary>The bundle, made on first use.</summary>
    public OciBundle Bundle => _bundle.Value;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_bundle.IsValueCreated) _bundle.Value.Dispose();
    }
}
