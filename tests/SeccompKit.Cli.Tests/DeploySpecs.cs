using k8s;
using k8s.Models;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// The deployment files under deploy/, checked without a host to install them on: the systemd unit by
/// <c>systemd-analyze verify</c> (which works offline, with PID 1 not systemd), the DaemonSet against the Kubernetes API
/// models of apps/v1 (KubernetesClient's strict YAML reading: an unknown or misspelt field anywhere, or a value of the
/// wrong type, is refused), the fields the API reference marks required for the objects the manifest uses (the models
/// do not carry them), the checks the API server makes on top (the selector matches the template's labels, every volume
/// mount names a volume), and both agent command lines against the paths they mount.
/// </summary>
public sealed class DeploySpecs
{
    private static string Unit => Repo.Path("deploy", "systemd", "seccompkit-agent.service");
    private static string DaemonSet => Repo.Path("deploy", "kubernetes", "seccompkit-agent-daemonset.yaml");

    /// <summary>
    /// <c>systemd-analyze verify</c> on a copy of <paramref name="unitText"/> whose ExecStart binary is the seccompkit built
    /// beside the tests (verify refuses a command that is not executable on this host, and the unit names the installed
    /// path). Every line it prints is a finding: it only warns, with exit 0, about unknown keys and bad values.
    /// </summary>
    private static ProcessResult Verify(string unitText, string name = "seccompkit-agent.service")
    {
        using var dir = new TempDir();
        string copy = dir.File(name);
        File.WriteAllText(copy, unitText.Replace("ExecStart=/usr/local/bin/seccompkit ", $"ExecStart={CliProcess.Path} ", StringComparison.Ordinal));
        return ChildProcess.Run("systemd-analyze", ["verify", "--man=no", copy]);
    }

    [Fact]
    public void The_systemd_unit_passes_systemd_analyze_verify_without_a_finding()
    {
        string text = File.ReadAllText(Unit);
        Assert.Contains("ExecStart=/usr/local/bin/seccompkit agent ", text, StringComparison.Ordinal);
        var r = Verify(text);
        Assert.True(r.Exit == 0 && r.Out.Trim().Length == 0 && r.Err.Trim().Length == 0, $"exit {r.Exit}\n{r.Out}\n{r.Err}");
    }

    [Theory]
    [InlineData("an unknown key", "Restart=on-failure", "Restart=on-failure\nRestartOnSundays=yes")]
    [InlineData("a bad value", "Type=exec", "Type=sometimes")]
    [InlineData("a missing binary", "ExecStart=/usr/local/bin/seccompkit ", "ExecStart=/nonexistent/seccompkit ")]
    public void The_unit_check_catches_what_systemd_would_ignore_or_refuse(string desc, string from, string to)
    {
        string text = File.ReadAllText(Unit);
        Assert.Contains(from, text, StringComparison.Ordinal);
        var r = Verify(text.Replace(from, to, StringComparison.Ordinal));
        Assert.False(r.Exit == 0 && r.Out.Trim().Length == 0 && r.Err.Trim().Length == 0, $"{desc}: no finding");
    }

    [Fact]
    public void The_unit_runs_the_agent_on_the_directories_systemd_makes_for_it()
    {
        var lines = File.ReadAllLines(Unit);
        string exec = lines.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];
        var args = exec.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string Value(string option) => args[Array.IndexOf(args, option) + 1];
        string runtimeDir = lines.Single(l => l.StartsWith("RuntimeDirectory=", StringComparison.Ordinal))["RuntimeDirectory=".Length..];
        string stateDir = lines.Single(l => l.StartsWith("StateDirectory=", StringComparison.Ordinal))["StateDirectory=".Length..];
        Assert.Equal(["/usr/local/bin/seccompkit", "agent"], args[..2]);
        Assert.Equal($"/run/{runtimeDir}", Path.GetDirectoryName(Value("--socket")));
        Assert.Equal($"/var/lib/{stateDir}", Value("--output"));
    }

    /// <summary>
    /// The required fields (Kubernetes API reference, apps/v1 and core/v1) of the objects a DaemonSet of this shape holds
    /// that are missing: DaemonSetSpec selector and template, PodSpec containers, Container name, Volume name,
    /// VolumeMount name and mountPath, HostPathVolumeSource path, Toleration none, ResourceRequirements none.
    /// </summary>
    private static List<string> MissingRequired(V1DaemonSet ds)
    {
        var missing = new List<string>();
        void Need(object? value, string path) { if (value is null or string { Length: 0 }) missing.Add(path); }
        Need(ds.Metadata?.Name, "metadata.name");
        Need(ds.Spec, "spec");
        if (ds.Spec is null) return missing;
        Need(ds.Spec.Selector, "spec.selector");
        Need(ds.Spec.Template, "spec.template");
        var pod = ds.Spec.Template?.Spec;
        Need(pod, "spec.template.spec");
        if (pod is null) return missing;
        if (pod.Containers is not { Count: > 0 }) missing.Add("spec.template.spec.containers");
        foreach (var (c, i) in (pod.Containers ?? []).Select((c, i) => (c, i)))
        {
            Need(c.Name, $"spec.template.spec.containers[{i}].name");
            foreach (var (m, j) in (c.VolumeMounts ?? []).Select((m, j) => (m, j)))
            {
                Need(m.Name, $"spec.template.spec.containers[{i}].volumeMounts[{j}].name");
                Need(m.MountPath, $"spec.template.spec.containers[{i}].volumeMounts[{j}].mountPath");
            }
        }
        foreach (var (v, i) in (pod.Volumes ?? []).Select((v, i) => (v, i)))
        {
            Need(v.Name, $"spec.template.spec.volumes[{i}].name");
            if (v.HostPath is not null) Need(v.HostPath.Path, $"spec.template.spec.volumes[{i}].hostPath.path");
        }
        return missing;
    }

    /// <summary>
    /// Runs <c>seccompkit</c> with <paramref name="argv"/> (after the binary) as the unit or the DaemonSet does, each
    /// --socket and --output path moved below a temporary directory where the directories are made as systemd
    /// (RuntimeDirectory, StateDirectory) or the kubelet (hostPath DirectoryOrCreate) make them; the agent must listen
    /// there and exit 0 on SIGTERM, as systemctl stop and pod deletion end it.
    /// </summary>
    private static void AssertTheCommandLineServes(IReadOnlyList<string> argv)
    {
        using var dir = new TempDir();
        var args = argv.ToArray();
        string socket = "";
        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] is not ("--socket" or "--output")) continue;
            string moved = dir.File(args[i + 1].TrimStart('/'));
            Directory.CreateDirectory(args[i] == "--socket" ? Path.GetDirectoryName(moved)! : moved);
            if (args[i] == "--socket") socket = moved;
            args[i + 1] = moved;
        }
        Assert.NotEqual("", socket);
        using var agent = ChildProcess.Start(CliProcess.Path, args, new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(socket) && DateTime.UtcNow < deadline && !agent.Process.HasExited) Thread.Sleep(20);
        Assert.True(File.Exists(socket), $"no socket at {socket}");
        Assert.Equal(0, ChildProcess.Run("/bin/kill", ["-TERM", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]).Exit);
        var r = agent.Wait();
        Assert.True(r.Exit == 0, $"exit {r.Exit}\n{r.Err}");
        Assert.False(File.Exists(socket), "the agent left its socket");
    }

    [Fact]
    public void The_units_command_line_starts_an_agent_that_listens_and_stops_on_SIGTERM()
    {
        string exec = File.ReadAllLines(Unit).Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];
        AssertTheCommandLineServes(exec.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);
    }

    [Fact]
    public void The_DaemonSets_command_line_starts_an_agent_that_listens_and_stops_on_SIGTERM() =>
        AssertTheCommandLineServes([.. LoadDaemonSet().Spec.Template.Spec.Containers.Single().Command.Skip(1)]);

    private static V1DaemonSet LoadDaemonSet() => KubernetesYaml.Deserialize<V1DaemonSet>(File.ReadAllText(DaemonSet), strict: true);

    [Fact]
    public void The_DaemonSet_is_a_valid_apps_v1_DaemonSet()
    {
        var ds = LoadDaemonSet();
        Assert.Equal("apps/v1", ds.ApiVersion);
        Assert.Equal("DaemonSet", ds.Kind);
        Assert.Empty(MissingRequired(ds));
        // What the API server checks beyond the schema: the selector selects the pods the template makes.
        Assert.All(ds.Spec.Selector.MatchLabels, l => Assert.Equal(l.Value, ds.Spec.Template.Metadata.Labels[l.Key]));
        var pod = ds.Spec.Template.Spec;
        Assert.All(pod.Containers.SelectMany(c => c.VolumeMounts ?? []), m => Assert.Contains(pod.Volumes, v => v.Name == m.Name));
        Assert.Equal(pod.Volumes.Count, pod.Volumes.Select(v => v.Name).Distinct().Count());
    }

    [Fact]
    public void The_DaemonSet_runs_the_agent_privileged_in_the_host_pid_namespace_with_its_socket_and_output_on_the_host()
    {
        var pod = LoadDaemonSet().Spec.Template.Spec;
        Assert.True(pod.HostPID);
        var agent = pod.Containers.Single();
        Assert.True(agent.SecurityContext.Privileged);
        var args = agent.Command;
        Assert.Equal(["/usr/local/bin/seccompkit", "agent"], args.Take(2));
        string Value(string option) => args[args.IndexOf(option) + 1];
        // Each path the agent uses is on a hostPath mounted at the same path, so the runtimes and kubelet see it too.
        string HostPathOf(string path)
        {
            var mount = agent.VolumeMounts.Single(m => path == m.MountPath || path.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
            var volume = pod.Volumes.Single(v => v.Name == mount.Name);
            Assert.NotNull(volume.HostPath);
            Assert.Equal(mount.MountPath, volume.HostPath.Path);
            return volume.HostPath.Path;
        }
        Assert.Equal("/var/run/seccompkit", HostPathOf(Path.GetDirectoryName(Value("--socket"))!));
        Assert.StartsWith("/var/lib/kubelet/seccomp/", HostPathOf(Value("--output")) + "/", StringComparison.Ordinal);
    }

    [Fact]
    public void The_DaemonSet_check_refuses_an_unknown_field_and_a_missing_required_one()
    {
        string text = File.ReadAllText(DaemonSet);
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.Deserialize<V1DaemonSet>(text.Replace("hostPID: true", "hostPid: true", StringComparison.Ordinal), strict: true));
        var noSelector = KubernetesYaml.Deserialize<V1DaemonSet>(text.Replace("  selector:\n    matchLabels:\n      app.kubernetes.io/name: seccompkit-agent\n", "", StringComparison.Ordinal), strict: true);
        Assert.Contains("spec.selector", MissingRequired(noSelector));
    }
}
