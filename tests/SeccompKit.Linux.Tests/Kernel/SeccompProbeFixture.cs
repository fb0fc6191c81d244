using SeccompKit.Bpf;

[assembly: AssemblyFixture(typeof(SeccompKit.Linux.Tests.Kernel.SeccompProbeFixture))]

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// Builds native/seccomp-probe once per test run (when missing or older than its source) and starts
/// helper processes. There is no skipping: without gcc, root-free seccomp or x86_64 the kernel tests
/// fail with a message that says what to do.
/// </summary>
public sealed class SeccompProbeFixture
{
    /// <summary>The command CI (or a developer) runs to build the helper by hand.</summary>
    public const string BuildCommand = "gcc -O2 -Wall -Werror -o native/build/seccomp-probe native/seccomp-probe.c";

    /// <summary>Finds the repository and builds the helper if needed.</summary>
    public SeccompProbeFixture()
    {
        if (!System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.Equals(System.Runtime.InteropServices.Architecture.X64) || !OperatingSystem.IsLinux())
            throw new InvalidOperationException("the kernel differential tests need x86_64 Linux (the probe issues syscall and int $0x80 directly)");
        RepositoryRoot = Repo.Root;
        HelperPath = NativeHelper.Build("seccomp-probe", [], []);
    }

    /// <summary>The directory holding native/seccomp-probe.c.</summary>
    public string RepositoryRoot { get; }

    /// <summary>The built helper.</summary>
    public string HelperPath { get; }

    /// <summary>Starts one helper process.</summary>
    public SeccompProbe Start() => SeccompProbe.Start(HelperPath);

    /// <summary>
    /// Validates in <paramref name="workers"/> helpers at once (each program costs a fork when the
    /// kernel accepts it, so two cores halve the time). Returns 0 or the errno per program, in order.
    /// </summary>
    public int[] ValidateInParallel(IReadOnlyList<Instruction[]> programs, int workers)
    {
        workers = Math.Max(1, Math.Min(workers, programs.Count));
        var results = new int[programs.Count];
        int chunk = (programs.Count + workers - 1) / workers;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            int from = w * chunk, count = Math.Min(chunk, programs.Count - from);
            if (count <= 0) return;
            using var probe = Start();
            var part = probe.Validate(programs.Skip(from).Take(count).ToArray());
            part.CopyTo(results, from);
        });
        return results;
    }
}
