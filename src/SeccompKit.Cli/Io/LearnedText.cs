using System.Globalization;
using SeccompKit.Learning;

namespace SeccompKit.Cli.Io;

/// <summary>How learn and complain print what was recorded of a syscall.</summary>
internal static class LearnedText
{
    /// <summary>The security-argument values seen, most frequent first: "3/0x80000 1/0 +4", or "(> 256 values)".</summary>
    public static string Values(LearnedSyscall s, int max = 6)
    {
        if (s.Arguments.IsDefaultOrEmpty) return "";
        if (s.TooManyValues) return $"(> {SyscallRecorder.MaxDistinctValues} values)";
        var parts = s.Values.OrderByDescending(v => v.Count).Take(max)
            .Select(v => string.Join("/", s.Arguments.Select((a, i) => FormatValue(a, v.Values[i]))));
        return string.Join(" ", parts) + (s.Values.Length > max ? $" +{s.Values.Length - max}" : "");
    }

    private static string FormatValue(RecordedArgument a, ulong v) =>
        a.Mask is SecurityArguments.CloneNamespaceFlags or SecurityArguments.NamespaceFlags ? (v == 0 ? "no-ns" : $"ns:0x{v:x}") : v < 16 ? v.ToString(CultureInfo.InvariantCulture) : $"0x{v:x}";
}
