using System.Text.RegularExpressions;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// A JIT (CoreCLR) stage two never shuts its runtime down - it execve's the program - so the files its runtime creates
/// for diagnostics at start-up were left behind by every <c>run</c> and <c>learn</c>: <c>clr-debug-pipe-PID-KEY-in/out</c>
/// and <c>dotnet-diagnostic-PID-KEY-socket</c> in $TMPDIR, and with DOTNET_PerfMapEnabled=1 <c>perf-PID.map</c> and
/// <c>jit-PID.dump</c> (1,290 of them after one CI run, issue 12). Stage two now starts with those diagnostics off while
/// the program gets exactly the caller's environment. Each case runs the JIT build (the apphost in the test output, or
/// <c>dotnet SeccompKit.Cli.dll</c>) with a private TMPDIR and perf map directory, so that the count of such files
/// before and after is exact whatever else runs on the machine.
/// </summary>
[Trait("Category", "Kernel")]
public sealed partial class StageTwoEnvironmentSpecs : IDisposable
{
    private static readonly string Docker = CompileSpecs.Repo("data/profiles/docker-default.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-stage2-env-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const int Invocations = 3;

    /// <summary>The runtime's diagnostic files, named with the pid of the process that made them.</summary>
    [GeneratedRegex(@"^(?:clr-debug-pipe-(?<pid>\d+)-\d+-(?:in|out)|dotnet-diagnostic-(?<pid>\d+)-\d+-socket|perf-(?<pid>\d+)\.map|perfinfo-(?<pid>\d+)\.map|jit-(?<pid>\d+)\.dump)$")]
    private static partial Regex DiagnosticFile();

    private static readonly string[] CallerSettings =
        ["DOTNET_EnableDiagnostics", "DOTNET_EnableDiagnostics_IPC", "DOTNET_EnableDiagnostics_Debugger", "DOTNET_EnableDiagnostics_Profiler",
         "COMPlus_EnableDiagnostics", "DOTNET_PerfMapEnabled", "COMPlus_PerfMapEnabled"];

    public static TheoryData<string, string, string, string> Cases => new()
    {
        // desc, command, launcher (apphost: the SeccompKit.Cli executable; dotnet: `dotnet SeccompKit.Cli.dll`), the caller's settings
        { "run with the runtime's defaults", "run", "apphost", "" },
        { "learn with the runtime's defaults", "learn", "apphost", "" },
        { "run, the caller asks for diagnostics and perf maps: the program still sees them", "run", "dotnet", "DOTNET_EnableDiagnostics=1 DOTNET_PerfMapEnabled=1" },
        { "learn, the same with the legacy prefix too", "learn", "dotnet", "DOTNET_EnableDiagnostics=1 COMPlus_EnableDiagnostics=1 DOTNET_PerfMapEnabled=1" },
        { "run, an empty value and a narrower knob the caller set", "run", "apphost", "DOTNET_EnableDiagnostics= DOTNET_EnableDiagnostics_IPC=1" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_jit_stage_two_leaves_no_diagnostic_files_and_the_program_gets_the_callers_environment(string desc, string command, string launcher, string settings)
    {
        _ = desc;
        string tmp = Directory.CreateDirectory(Path.Combine(_dir, "tmp")).FullName;
        ProcessResult Exec(string file, params string[] args)
        {
            var env = new Dictionary<string, string>
            {
                ["TMPDIR"] = tmp, // where the runtime puts its debugger pipes and diagnostic socket
                ["DOTNET_PerfMapJitDumpPath"] = tmp, // and perf maps (default /tmp)
            };
            foreach (var setting in settings.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                env[setting[..setting.IndexOf('=')]] = setting[(setting.IndexOf('=') + 1)..];
            // CallerSettings removed: a known start, whatever the test host has.
            return ChildProcess.Run(file, args, new ProcessOptions { WorkingDirectory = _dir, Unset = CallerSettings, Env = env });
        }
        // The program: its pid (stage two's: execve keeps it), what it sees in TMPDIR while seccompkit runs, its environment.
        const string Script = "echo $$ > \"$1/pid\"; ls -a \"$TMPDIR\" > \"$1/tmpdir\"; env -0 > \"$1/env\"";
        string expected = Directory.CreateDirectory(Path.Combine(_dir, "expected")).FullName;
        Assert.Equal(0, Exec("sh", "-c", Script, "sh", expected).Exit);

        string[] before = DiagnosticFiles(tmp);
        var cliPids = new HashSet<string>();
        for (int i = 0; i < Invocations; i++)
        {
            string run = Directory.CreateDirectory(Path.Combine(_dir, $"{command}-{i}")).FullName;
            string[] cli = [command, .. command == "run" ? new[] { "--profile", Docker, "-q" } : ["-o", Path.Combine(run, "learned.json")],
                "--", "sh", "-c", Script, "sh", run];
            var r = launcher == "apphost"
                ? Exec(Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli"), cli)
                : Exec("dotnet", [Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli.dll"), .. cli]);
            var (exit, err, pid) = (r.Exit, r.Err, r.Pid);
            string cliPid = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
            cliPids.Add(cliPid);
            Assert.True(exit == 0, $"seccompkit {command} exited {exit}: {err}");

            Assert.Equal(File.ReadAllBytes(Path.Combine(expected, "env")), File.ReadAllBytes(Path.Combine(run, "env")));
            string stagePid = File.ReadAllText(Path.Combine(run, "pid")).Trim();
            var seen = File.ReadAllLines(Path.Combine(run, "tmpdir")).Select(f => DiagnosticFile().Match(f)).Where(m => m.Success).ToList();
            // The control: while the program ran, seccompkit's own runtime had its files in this TMPDIR (so they would be seen).
            Assert.Contains(seen, m => m.Groups["pid"].Value == cliPid);
            var left = seen.Where(m => m.Groups["pid"].Value == stagePid).Select(m => m.Value).ToList();
            Assert.True(left.Count == 0, $"stage two (pid {stagePid}) left {string.Join(", ", left)} in TMPDIR");
        }
        // seccompkit's own debugger pipes and diagnostic sockets went at its exit; stage two never made any. Perf maps are
        // kept on purpose (perf reads them after the process ended): seccompkit's own may be there, none named after a program.
        static bool PerfMap(string f) => f.StartsWith("perf", StringComparison.Ordinal) || f.StartsWith("jit-", StringComparison.Ordinal);
        Assert.Equal(before, DiagnosticFiles(tmp).Where(f => !PerfMap(f)));
        Assert.All(DiagnosticFiles(tmp).Where(PerfMap), f => Assert.Contains(DiagnosticFile().Match(f).Groups["pid"].Value, cliPids));
        Assert.Equal(settings.Contains("PerfMapEnabled=1", StringComparison.Ordinal), DiagnosticFiles(tmp).Any(PerfMap)); // the perf map control
    }

    private static string[] DiagnosticFiles(string dir) =>
        Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Where(f => DiagnosticFile().IsMatch(f!)).Order(StringComparer.Ordinal).ToArray()!;
}
