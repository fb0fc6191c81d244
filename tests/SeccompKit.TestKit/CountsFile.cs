namespace SeccompKit.TestKit;

/// <summary>
/// The case counts of the differential and conformance suites, which ./test.sh prints after the run: each line is
/// appended to the file named by <c>SECCOMPKIT_COUNTS_FILE</c>, if set (test output of passing tests is not shown).
/// </summary>
public static class CountsFile
{
    private static readonly Lock Gate = new();

    /// <summary>Appends <paramref name="line"/> to the counts file, when the run names one.</summary>
    public static void Append(string line)
    {
        var file = Environment.GetEnvironmentVariable("SECCOMPKIT_COUNTS_FILE");
        if (string.IsNullOrEmpty(file)) return;
        lock (Gate)
            File.AppendAllText(file, line + "\n");
    }
}
