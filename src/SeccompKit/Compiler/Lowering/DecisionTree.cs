namespace SeccompKit.Compiler.Lowering;

/// <summary>
/// Chooses the shape of the syscall-number search: an optimal alphabetic binary tree over the ranges,
/// minimising the expected number of comparisons when each range is weighted by the known syscalls
/// it holds (plus one, so rare ranges still stay shallow), and leaves with argument checks weigh more. Knuth's monotone-root rule makes it O(n²).
/// </summary>
internal static class DecisionTree
{
    /// <summary>
    /// Extra weight of a leaf with argument checks: its path goes on through the checks, so lifting it
    /// keeps the worst path short (Docker's personality went from 18 to 14 instructions) at almost no
    /// cost to the mean.
    /// </summary>
    private const long CheckedWeight = 16;

    /// <summary>Returns split[i, j]: for ranges i..j (i &lt; j), the first range of the right subtree.</summary>
    public static int[,] Splits(IReadOnlyList<NumberRange> ranges)
    {
        int n = ranges.Count;
        var w = new long[n + 1];
        for (int i = 0; i < n; i++) w[i + 1] = w[i] + (ranges[i].KnownSyscalls * 8L + 1) * (ranges[i].Outcome is Outcome.Checks ? CheckedWeight : 1);
        // Only cells with i <= j are used; the flat cost array is indexed i * n + j.
        var cost = new long[n * n];
        var split = new int[n, n];
        for (int len = 2; len <= n; len++)
            for (int i = 0; i + len - 1 < n; i++)
            {
                int j = i + len - 1;
                int lo = len == 2 ? i + 1 : Math.Max(i + 1, split[i, j - 1]);
                int hi = len == 2 ? j : Math.Min(j, split[i + 1, j]);
                long best = long.MaxValue; int bestK = lo;
                for (int k = lo; k <= hi; k++)
                {
                    long c = cost[i * n + k - 1] + cost[k * n + j];
                    if (c < best) { best = c; bestK = k; }
                }
                cost[i * n + j] = best + (w[j + 1] - w[i]);
                split[i, j] = bestK;
            }
        return split;
    }
}
