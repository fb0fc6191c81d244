using SeccompKit.Linux.Launch;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// seccompkit-stage, the launcher's stage two alone (src/SeccompKit.Stage), which build-aot.sh publishes beside
/// seccompkit so that run and learn do not start a second copy of the whole CLI (issue 16): found beside the program,
/// used only when nobody else could have replaced it, and a working stage two.
/// </summary>
public sealed class DedicatedStageSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-stage-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Program => Path.Combine(_dir, "seccompkit");
    private string Stage => Path.Combine(_dir, StageCommand.DedicatedName);

    private static void Sh(string command) => Assert.Equal(0, ChildProcess.Run("sh", ["-c", command]).Exit);

    /// <summary>The stage project's own build (an apphost; build-aot.sh publishes the NativeAOT one).</summary>
    private static string Built => Repo.Path("src", "SeccompKit.Stage", "bin", Repo.Configuration, "net10.0", "SeccompKit.Stage");

    [Fact]
    public void Without_a_dedicated_stage_beside_the_program_the_program_itself_is_stage_two()
    {
        File.WriteAllText(Program, "");
        Assert.Null(StageCommand.Beside(Program));
    }

    [Fact]
    public void A_dedicated_stage_nobody_else_can_replace_is_used()
    {
        File.WriteAllText(Stage, "");
        Sh($"chmod 0755 '{Stage}'");
        var command = StageCommand.Beside(Program);
        Assert.NotNull(command);
        Assert.Equal(Stage, command.Executable);
        Assert.Empty(command.PrefixArguments);
    }

    [Theory]
    [InlineData("0757", "can be written by anyone (mode 0757)")]
    [InlineData("0775", "can be written by its group (mode 0775)")]
    [InlineData("0644", "is not executable")]
    public void A_dedicated_stage_others_could_replace_or_that_cannot_run_is_refused_not_passed_over(string mode, string problem)
    {
        File.WriteAllText(Stage, "");
        Sh($"chmod {mode} '{Stage}'");
        var e = Assert.Throws<LaunchException>(() => StageCommand.Beside(Program));
        Assert.Equal(LaunchFailure.StageFailed, e.Failure);
        Assert.Contains($"{Stage}, the stage that installs the filter and starts the program, {problem}", e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod go-w", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_users_dedicated_stage_or_a_directory_of_that_name_is_refused()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        File.WriteAllText(Stage, "");
        Sh($"chmod 0755 '{Stage}' && chown 65534:65534 '{Stage}'");
        Assert.Contains("belongs to another user (uid 65534)", Assert.Throws<LaunchException>(() => StageCommand.Beside(Program)).Message, StringComparison.Ordinal);
        File.Delete(Stage);
        Directory.CreateDirectory(Stage);
        Assert.Contains("is not a regular file", Assert.Throws<LaunchException>(() => StageCommand.Beside(Program)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_stage_project_installs_the_filter_and_becomes_the_program()
    {
        Assert.True(File.Exists(Built), $"{Built} is missing: build src/SeccompKit.Stage (dotnet build SeccompKit.slnx -c {Repo.Configuration})");
        var options = new RunOptions { Stage = new StageCommand(Built, []) };
        var policy = new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("mkdir", PolicyAction.Errno(1)), new SyscallRule("mkdirat", PolicyAction.Errno(1))]);
        string made = Path.Combine(_dir, "made");
        var result = PolicyRunner.Run(policy, "/bin/sh", ["-c", $"mkdir '{made}' 2>/dev/null; exit 7"], options);
        Assert.Equal(7, result.Status.ExitCode);
        Assert.False(Directory.Exists(made)); // refused by the filter the stage installed
        // Started by hand, it says what it is instead of doing anything.
        var byHand = ChildProcess.Run(Built, []);
        Assert.Equal(64, byHand.Exit);
        Assert.Contains("it is not run by hand", byHand.Err, StringComparison.Ordinal);
    }
}
