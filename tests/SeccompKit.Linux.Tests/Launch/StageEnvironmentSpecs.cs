using System.Text;
using CsCheck;
using SeccompKit.Linux.Launch;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// Stage two runs with the runtime's diagnostics off, and the program gets back exactly the caller's environment
/// (<see cref="StageEnvironment"/>). The kernel-side proof, through the real CLI, is in the CLI tests
/// (StageTwoEnvironmentSpecs); these check the two halves without a process.
/// </summary>
public sealed class StageEnvironmentSpecs
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);
    private static string[] S(IEnumerable<byte[]> entries) => entries.Select(e => Encoding.UTF8.GetString(e)).ToArray();

    public static TheoryData<string, string[], string[]> StageCases => new()
    {
        { "nothing of the caller's to put back", ["PATH=/bin", "HOME=/root"],
            ["PATH=/bin", "HOME=/root", "DOTNET_EnableDiagnostics=0", "DOTNET_PerfMapEnabled=0"] },
        { "the caller's own value is taken out, not doubled", ["A=1", "DOTNET_EnableDiagnostics=1", "B=2"],
            ["A=1", "B=2", "DOTNET_EnableDiagnostics=0", "DOTNET_PerfMapEnabled=0"] },
        { "names match exactly, '=' included (getenv(3)): longer names and other cases are someone else's",
            ["DOTNET_EnableDiagnostics_IPC=1", "dotnet_enablediagnostics=1", "DOTNET_EnableDiagnostics"],
            ["DOTNET_EnableDiagnostics_IPC=1", "dotnet_enablediagnostics=1", "DOTNET_EnableDiagnostics", "DOTNET_EnableDiagnostics=0", "DOTNET_PerfMapEnabled=0"] },
    };

    [Theory]
    [MemberData(nameof(StageCases))]
    public void Stage_two_gets_the_callers_environment_without_its_diagnostics_settings_then_the_settings(string desc, string[] caller, string[] stage)
    {
        _ = desc;
        var (actual, _) = StageEnvironment.ForStage(caller.Select(B).ToList());
        Assert.Equal(stage, S(actual));
    }

    [Fact]
    public void The_program_gets_the_callers_entries_back_at_their_positions()
    {
        string[] caller = ["DOTNET_PerfMapEnabled=1", "A=1", "DOTNET_EnableDiagnostics=", "B=2", "DOTNET_EnableDiagnostics=dup"];
        var (stage, restore) = StageEnvironment.ForStage(caller.Select(B).ToList());
        Assert.Equal("0:444F544E45545F506572664D6170456E61626C65643D31,2:444F544E45545F456E61626C65446961676E6F73746963733D,4:444F544E45545F456E61626C65446961676E6F73746963733D647570", restore);
        Assert.Equal(caller, S(StageEnvironment.ForProgram(stage, restore)!));
    }

    public static TheoryData<string, string> MalformedRestores => new()
    {
        { "no colon", "0" },
        { "a position past the end", "9:444F544E45545F506572664D6170456E61626C65643D31" },
        { "positions not ascending", "1:444F544E45545F506572664D6170456E61626C65643D31,0:444F544E45545F506572664D6170456E61626C65643D31" },
        { "a sign", "+0:444F544E45545F506572664D6170456E61626C65643D31" },
        { "not hex", "0:XYZ" },
        { "an entry that is not a setting (the argument cannot inject variables)", "0:413D31" },
    };

    [Theory]
    [MemberData(nameof(MalformedRestores))]
    public void A_malformed_restore_argument_gives_no_environment(string desc, string restore)
    {
        _ = desc;
        Assert.Null(StageEnvironment.ForProgram([B("A=1"), B("DOTNET_EnableDiagnostics=0")], restore));
    }

    /// <summary>Entries from a small pool (the settings' names, near misses, duplicates, no '=', bytes that are not UTF-8).</summary>
    private static readonly string[] Names = ["DOTNET_EnableDiagnostics", "DOTNET_PerfMapEnabled", "DOTNET_EnableDiagnostics_IPC", "COMPlus_EnableDiagnostics", "PATH", "X", ""];
    private static readonly string[] Values = ["=0", "=1", "=", "", "==x", "=a,b:c"];
    private static readonly Gen<byte[]> Entry = Gen.OneOf(
        Gen.Select(Gen.Int[0, Names.Length - 1], Gen.Int[0, Values.Length - 1], (n, v) => B(Names[n] + Values[v])),
        Gen.Byte.Array[0, 12].Select(bytes => bytes.Where(b => b != 0).ToArray()));

    [Fact]
    public void Every_environment_comes_back_byte_for_byte_and_stage_two_always_has_the_settings()
    {
        Entry.List[0, 12].Sample(caller =>
        {
            var (stage, restore) = StageEnvironment.ForStage(caller);
            var back = StageEnvironment.ForProgram(stage, restore);
            Assert.NotNull(back);
            Assert.Equal(caller.Select(Convert.ToHexString), back.Select(Convert.ToHexString));
            var settings = S(stage).Where(e => e.StartsWith("DOTNET_EnableDiagnostics=", StringComparison.Ordinal) || e.StartsWith("DOTNET_PerfMapEnabled=", StringComparison.Ordinal));
            Assert.Equal(["DOTNET_EnableDiagnostics=0", "DOTNET_PerfMapEnabled=0"], settings);
        });
    }
}
