namespace SeccompKit.Syscalls;

/// <summary>"Did you mean" support: ranks candidates by Damerau-Levenshtein (optimal string alignment) distance.</summary>
internal static class Suggestions
{
    /// <summary>
    /// Inputs longer than this get no suggestions: no syscall, action, constant or field name is longer than 32
    /// characters, and a third of 64 already allows 21 edits. Without the cut-off a hostile input (a name of a million
    /// characters) would cost a million-column matrix per candidate.
    /// </summary>
    public const int MaxInputLength = 64;

    /// <summary>
    /// The closest <paramref name="max"/> candidates to <paramref name="input"/>, case-insensitively,
    /// keeping only those within a third of the input's length (at least 2 edits) so that a typo
    /// gets suggestions and a wholly different word does not. Ties break by ordinal name order.
    /// Bounded work: inputs over <see cref="MaxInputLength"/> get none; a candidate whose length differs by more
    /// than the allowed distance is skipped unread (the distance is at least the difference), and each distance
    /// stops as soon as a whole row exceeds the allowed distance.
    /// </summary>
    public static IReadOnlyList<string> Closest(string input, IEnumerable<string> candidates, int max = 3)
    {
        if (input.Length > MaxInputLength) return [];
        string needle = input.ToLowerInvariant();
        int limit = Math.Max(2, needle.Length / 3);
        var found = new List<(string Name, int Distance)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in candidates)
        {
            if (Math.Abs(c.Length - needle.Length) > limit || !seen.Add(c)) continue;
            int d = Distance(needle, c.ToLowerInvariant(), limit);
            if (d <= limit) found.Add((c, d));
        }
        return found
            .OrderBy(x => x.Distance)
            .ThenBy(x => x.Name, StringComparer.Ordinal)
            .Take(max)
            .Select(x => x.Name)
            .ToList();
    }

    /// <summary>Edit distance counting insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b) => Distance(a, b, int.MaxValue - 1);

    /// <summary>
    /// <see cref="Distance(string, string)"/>, or <paramref name="bound"/> + 1 as soon as it is known to exceed
    /// <paramref name="bound"/> (every cell of a row is over it: later rows only grow). Three rows, not a matrix.
    /// </summary>
    public static int Distance(string a, string b, int bound)
    {
        var before = new int[b.Length + 1]; // row i - 2, for transpositions
        var prev = new int[b.Length + 1];
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
            prev[j] = j;
        int prevMin = 0;
        for (int i = 1; i <= a.Length; i++)
        {
            row[0] = i;
            int rowMin = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int best = Math.Min(Math.Min(prev[j] + 1, row[j - 1] + 1), prev[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    best = Math.Min(best, before[j - 2] + 1);
                row[j] = best;
                rowMin = Math.Min(rowMin, best);
            }
            // A transposition reaches back two rows, so stop only when this row and the previous one are both over.
            if (rowMin > bound && prevMin > bound) return bound + 1;
            (before, prev, row) = (prev, row, before);
            prevMin = rowMin;
        }
        return Math.Min(prev[b.Length], bound + 1);
    }

    /// <summary>Formats names as <c>'a', 'b' or 'c'</c>.</summary>
    public static string OrList(IReadOnlyList<string> names) => names.Count switch
    {
        0 => "",
        1 => $"'{names[0]}'",
        _ => string.Join(", ", names.Take(names.Count - 1).Select(n => $"'{n}'")) + $" or '{names[^1]}'",
    };
}
