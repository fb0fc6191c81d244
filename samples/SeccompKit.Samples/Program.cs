using SeccompKit.Agent;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Inspect;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Samples;

/// <summary>
/// Each SeccompKit workflow in one library call: load a policy file, compile it, learn a program's profile, run a
/// program under it (and explain a seccomp kill), complain mode, dump a live process's filters, the OCI seccomp agent. Usage:
/// <c>SeccompKit.Samples [PROFILE.json]</c> (default: data/profiles/docker-default.json of the repository).
/// </summary>
public static class Program
{
    /// <summary>Runs every sample in turn; exits 0 when each did what it shows.</summary>
    public static int Main(string[] args)
    {
        // First thing: the launcher starts programs by re-executing this very program in a hidden "stage two" mode,
        // which installs the filter and execve's the program. Without this line that copy would run Main again.
        if (StageTwo.RunIfRequested(args)) return 0;

        string profilePath = args.Length > 0 ? args[0] : FindProfile();
        string work = Directory.CreateTempSubdirectory("seccompkit-samples-").FullName;
        try
        {
            var docker = LoadAndCompile(profilePath);
            var learned = Learn();
            Run(learned, work);
            Complain(learned, work);
            Dump(docker);
            Agent(work);
            Console.WriteLine("samples: done");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Load any policy file (format detected) and compile it to a BPF filter.</summary>
    private static SeccompPolicy LoadAndCompile(string path)
    {
        var loaded = PolicyFile.Load(path);
        Console.WriteLine($"load: {Path.GetFileName(path)} is a {PolicyFile.FormatName(loaded.Format)} profile: {loaded.Policy.SyscallNames.Count()} syscalls, {loaded.WarningCount} warning(s)");
        var compiled = PolicyCompiler.Compile(loaded.Policy);
        Console.WriteLine($"compile: {compiled.Program.Instructions.Length} instructions");
        return loaded.Policy;
    }

    /// <summary>Learn what /bin/ls needs: the profile, proved by replaying every recorded call through it.</summary>
    private static SeccompPolicy Learn()
    {
        var result = Learner.Learn(new LearnRequest
        {
            Program = "/bin/ls",
            Arguments = ["-d", "/"],
            // A call the profile does not allow kills the program, so a gap shows at once (the Run sample needs it).
            DefaultAction = PolicyAction.KillProcess,
        });
        if (result.Outcome != LearnOutcome.Recorded || !result.Verified)
            throw new InvalidOperationException($"learning /bin/ls failed: {result.Outcome}, verified {result.Verified}");
        Console.WriteLine($"learn: /bin/ls made {result.Calls.Syscalls.Length} distinct syscalls; profile of {result.Profile!.SyscallNames.Count()} syscalls, " +
            $"replayed {result.Learned!.Replay.Replayed} distinct calls through it: all allowed");
        Console.WriteLine($"learn: as OCI for {result.Target}: {result.ExportOci().Seccomp.Syscalls?.Count ?? 0} syscalls entries");
        return result.Profile;
    }

    /// <summary>Run a program under the learned profile; one that makes a call outside it is killed, and the audit record says which.</summary>
    private static void Run(SeccompPolicy profile, string work)
    {
        // One call: checks the policy can be installed, compiles it, launches, waits, and explains a seccomp kill.
        var ok = PolicyRunner.Run(profile, "/bin/ls", ["-d", "/"]);
        Console.WriteLine($"run: /bin/ls under its learned profile: {ok.Status.Describe()}");

        var killed = PolicyRunner.Run(profile, "/bin/mkdir", [Path.Combine(work, "made")]);
        Console.WriteLine($"run: /bin/mkdir under the profile of ls: {killed.Status.Describe()}{(killed.Status.KilledBySigsys ? " (SIGSYS: killed by seccomp)" : "")}");
        if (killed.Kills.FirstOrDefault(k => k.IsProgram)?.Explanation is { } why)
            Console.WriteLine($"run: the kernel's audit record: {why}");
        else Console.WriteLine($"run: no audit record names the syscall ({killed.AuditUnavailableReason ?? "none arrived"})");
    }

    /// <summary>Complain mode: what would the profile refuse? Nothing is refused; the result carries the patch as data.</summary>
    private static void Complain(SeccompPolicy profile, string work)
    {
        var result = Complainer.Complain(new ComplainRequest { Program = "/bin/mkdir", Arguments = [Path.Combine(work, "complained")], Policy = profile });
        var report = result.Report ?? throw new InvalidOperationException($"complain: the program did not run ({result.Outcome})");
        Console.WriteLine($"complain: /bin/mkdir {result.Status.Describe()}; the profile would have refused {report.Total} call(s): " +
            string.Join(", ", report.Complaints.Select(c => $"{c.Syscall.Display} ({string.Join("/", c.Actions)})")));
        Console.WriteLine($"complain: made {(Directory.Exists(Path.Combine(work, "complained")) ? "the directory" : "nothing")}");
        foreach (var entry in report.PatchEntries) Console.WriteLine($"complain: patch: {OciJson.WriteEntry(entry)}");
    }

    /// <summary>Dump the filters of a live process (root only: PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN).</summary>
    private static void Dump(SeccompPolicy docker)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Console.WriteLine("dump: skipped: reading another process's filters needs root (CAP_SYS_ADMIN and CAP_SYS_PTRACE)");
            return;
        }
        var filter = PolicyCompiler.Compile(docker).Program;
        using var sleeper = SandboxLauncher.Start(new LaunchRequest("/bin/sleep", ["30"], filter));
        try
        {
            var dump = FilterDump.ReadInstructions(sleeper.Pid);
            bool same = dump.Filters.Count == 1 && dump.Filters[0].AsSpan().SequenceEqual(filter.Instructions.AsSpan());
            Console.WriteLine($"dump: pid {dump.Pid} has {dump.Filters.Count} filter(s); the newest is {(same ? "the compiled Docker profile" : "not the filter installed")} ({dump.Filters[0].Length} instructions)");
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }

    /// <summary>data/profiles/docker-default.json of the repository this sample was built in.</summary>
    private static string FindProfile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", "profiles", "docker-default.json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("data/profiles/docker-default.json not found above the sample; pass a profile path as the first argument");
    }

    /// <summary>
    /// The OCI seccomp agent: listen for runtimes' listeners and serve each container in the mode its metadata names
    /// (learn, complain:PROFILE, supervise:RULESET); and the linux.seccomp section that sends a container to it.
    /// </summary>
    private static void Agent(string work)
    {
        string output = Directory.CreateDirectory(Path.Combine(work, "agent-out")).FullName;
        var config = new AgentConfig();
        var events = new List<string>();
        using (var agent = SeccompAgent.Start(new AgentOptions
        {
            SocketPath = Path.Combine(work, "agent.sock"),
            OutputDirectory = output,
            Config = config,
            Sessions = AgentModeSessions.Default(config).Create,
            Log = e => { lock (events) events.Add(e.Message); },
        }))
        {
            var section = AgentProfile.For(new ContainerMode.Learn(), OciTarget.Default, agent.SocketPath);
            Console.WriteLine($"agent: listening; the learn profile for {section.Target} notifies everything but {string.Join(", ", section.NotNotified.Keys)}, " +
                $"listenerPath {section.Policy.ListenerPath}");
            // A runtime started with that section in config.json now sends the container to the agent; on exit the
            // agent writes OUTPUT/<id>.json, the profile the container needs.
        }
        lock (events) Console.WriteLine($"agent: stopped ({events.Count} events, last: {events[^1]})");
    }
}
