using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>
/// A real container run by runc (Debian's runc 1.1.5) in the foreground: a busybox-static rootfs and a bundle made
/// here from <c>runc spec</c> with the edits ../shared/docs/OCI-RUNTIMES.md lists (terminal off, writable root,
/// our args and our <c>linux.seccomp</c>). The container's stdin and stdout are this object's pipes, and runc exits
/// with the container's status. Dispose always runs <c>runc kill</c> and <c>runc delete -f</c>.
/// </summary>
public sealed class RuncContainer : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const string Busybox = "/bin/busybox";

    private readonly Process _runc;
    private readonly DirectoryInfo _dir;
    private readonly Task<string> _stderr;

    private RuncContainer(string id, DirectoryInfo dir, Process runc)
    {
        Id = id;
        _dir = dir;
        _runc = runc;
        _stderr = runc.StandardError.ReadToEndAsync();
    }

    /// <summary>The container id.</summary>
    public string Id { get; }

    /// <summary>
    /// Starts <paramref name="args"/> in a container confined by <paramref name="seccomp"/> (an OCI
    /// <c>linux.seccomp</c> object) and waits until it writes <paramref name="readyLine"/>.
    /// </summary>
    public static RuncContainer Start(string seccomp, string[] args, string readyLine)
    {
        RequireTools();
        var dir = Directory.CreateTempSubdirectory("seccompkit-runc-");
        string id = "seccompkit-dump-" + Guid.NewGuid().ToString("n")[..12];
        try
        {
            MakeRootfs(Path.Combine(dir.FullName, "rootfs"));
            MakeBundle(dir.FullName, seccomp, args);
        }
        catch
        {
            dir.Delete(recursive: true);
            throw;
        }
        var psi = new ProcessStartInfo("runc", ["run", "--bundle", dir.FullName, id])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var container = new RuncContainer(id, dir, Process.Start(psi) ?? throw new InvalidOperationException("could not start runc"));
        try
        {
            var line = container.ReadLine();
            if (line != readyLine)
                throw new InvalidOperationException($"the container said '{line}' instead of '{readyLine}' (runc exit {(container._runc.HasExited ? container._runc.ExitCode : -1)}): {container.StderrSoFar()}");
            return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    /// <summary><c>runc state ID</c>: the container's status and its init process as the host sees it.</summary>
    public (string Status, int Pid) State()
    {
        var (code, stdout, stderr) = Run("runc", "state", Id);
        if (code != 0) throw new InvalidOperationException($"runc state {Id} failed ({code}): {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        return (doc.RootElement.GetProperty("status").GetString()!, doc.RootElement.GetProperty("pid").GetInt32());
    }

    /// <summary>Writes one line to the container's stdin.</summary>
    public void Send(string line)
    {
        _runc.StandardInput.WriteLine(line);
        _runc.StandardInput.Flush();
    }

    /// <summary>Reads one line of the container's stdout.</summary>
    public string? ReadLine()
    {
        var read = _runc.StandardOutput.ReadLineAsync();
        if (!read.Wait(Timeout)) throw new TimeoutException($"container {Id} wrote nothing within {Timeout.TotalSeconds} s: {StderrSoFar()}");
        return read.Result;
    }

    /// <summary>Waits for the container (and so <c>runc run</c>) to exit; returns runc's exit status, the container's.</summary>
    public int WaitForExit()
    {
        if (!_runc.WaitForExit(Timeout)) throw new TimeoutException($"container {Id} did not exit within {Timeout.TotalSeconds} s");
        return _runc.ExitCode;
    }

    private string StderrSoFar() => _stderr.IsCompleted ? _stderr.Result : "(runc still running)";

    /// <summary>Kills and deletes the container whatever state it is in, then removes the bundle.</summary>
    public void Dispose()
    {
        if (!_runc.HasExited)
        {
            Run("runc", "kill", Id, "KILL");
            if (!_runc.WaitForExit(TimeSpan.FromSeconds(20))) _runc.Kill(entireProcessTree: true);
        }
        Run("runc", "delete", "-f", Id);
        _runc.Dispose();
        try { _dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void RequireTools()
    {
        if (!File.Exists(Busybox))
            throw new InvalidOperationException($"{Busybox} is missing; the runc tests need a static busybox for the rootfs: apt-get install runc busybox-static");
        try { Run("runc", "--version"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"runc could not be run ({e.Message}); the container tests need it: apt-get install runc busybox-static", e);
        }
    }

    /// <summary>A rootfs of a static busybox and the applets the tests run, as ../shared/oci/mkrootfs.sh lays it out.</summary>
    private static void MakeRootfs(string rootfs)
    {
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "tmp", "etc", "root" })
            Directory.CreateDirectory(Path.Combine(rootfs, d));
        File.Copy(Busybox, Path.Combine(rootfs, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "sleep", "mkdir", "cat" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\n");
    }

    /// <summary><c>runc spec</c>'s config.json with the edits the tests need.</summary>
    private static void MakeBundle(string bundle, string seccomp, string[] args)
    {
        var (code, _, stderr) = Run("runc", "spec", "--bundle", bundle);
        if (code != 0) throw new InvalidOperationException($"runc spec failed ({code}): {stderr}");
        string path = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var process = config["process"]!.AsObject();
        process["terminal"] = false;
        process["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]);
        config["root"] = new JsonObject { ["path"] = Path.Combine(bundle, "rootfs"), ["readonly"] = false };
        config["linux"]!.AsObject()["seccomp"] = JsonNode.Parse(seccomp);
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var r = ChildProcess.Run(file, args, new ProcessOptions { Timeout = Timeout });
        return (r.Exit, r.Out, r.Err);
    }
}
