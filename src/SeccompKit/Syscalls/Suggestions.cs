namespace SeccompKit.Syscalls;

/// <summary>"Did you mean" support: ranks candidates by Damerau-Levenshtein (optimal string alignment) distance.</summary>
internal static class Suggestions
{
    /// <summary>
    /// The closest <paramref name="max"/> candidates to <paramref name="input"/>, case-insensitively,
    /// keeping only those within a third of the input's length (at least 2 edits) so that a typo
    /// gets suggestions and a wholly different word does not. Ties break by ordinal name order.
    /// </summary>
    public static IReadOnlyList<string> Closest(string input, IEnumerable<string> candidates, int max = 3)
    {
        string needle = input.ToLowerInvariant();
        int limit = Math.Max(2, needle.Length / 3);
        return candidates
            .Distinct(StringComparer.Ordinal)
            .Select(c => (Name: c, Distance: Distance(needle, c.ToLowerInvariant())))
            .Where(x => x.Distance <= limit)
            .OrderBy(x => x.Distance)
            .ThenBy(x => x.Name, StringComparer.Ordinal)
            .Take(max)
            .Select(x => x.Name)
            .ToList();
    }

    /// <summary>Edit distance counting insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int best = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    best = Math.Min(best, d[i - 2, j - 2] + 1);
                d[i, j] = best;
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>Formats names as <c>'a', 'b' or 'c'</c>.</summary>
    public static string OrList(IReadOnlyList<string> names) => names.Count switch
    {
        0 => "",
        1 => $"'{names[0]}'",
        _ => string.Join(", ", names.Take(names.Count - 1).Select(n => $"'{n}'")) + $" or '{names[^1]}'",
    };
}
