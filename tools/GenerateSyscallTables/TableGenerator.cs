using System.Globalization;
using System.Text;

namespace GenerateSyscallTables;

/// <summary>One generated source file: its path relative to the repository root and its full text.</summary>
internal sealed record GeneratedFile(string RelativePath, string Content);

/// <summary>One file whose on-disk text differs from what the generator produces.</summary>
internal sealed record FileDifference(string RelativePath, string Reason);

/// <summary>
/// Turns <c>data/syscalls.csv</c> (libseccomp's table) and <c>data/syscall-signatures.tsv</c>
/// (x86_64 tracefs) into compact C# tables. Pure: text in, text out, so the test project can
/// compile this file and check the checked-in output without running a process.
/// </summary>
internal static class TableGenerator
{
    public const string CsvPath = "data/syscalls.csv";
    public const string TsvPath = "data/syscall-signatures.tsv";
    public const string SyscallTablesPath = "src/SeccompKit/Syscalls/Generated/SyscallTables.g.cs";
    public const string SignaturesPath = "src/SeccompKit/Syscalls/Generated/Signatures.g.cs";
    public const string RegenerateCommand = "dotnet run --project tools/GenerateSyscallTables";
    public const string SolutionFile = "SeccompKit.slnx";

    /// <summary>Walks up from <paramref name="start"/> to the directory holding <see cref="SolutionFile"/>.</summary>
    public static string FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
                return dir.FullName;
        throw new DirectoryNotFoundException(
            $"No {SolutionFile} found in '{start}' or any parent; run from inside the repository or pass --root <dir>.");
    }

    /// <summary>Reads the inputs under <paramref name="root"/> and produces every generated file.</summary>
    public static IReadOnlyList<GeneratedFile> GenerateFromRoot(string root) => Generate(
        File.ReadAllText(Path.Combine(root, CsvPath)),
        File.ReadAllText(Path.Combine(root, TsvPath)));

    /// <summary>Produces every generated file from the two inputs' text. Deterministic: same input, same bytes.</summary>
    public static IReadOnlyList<GeneratedFile> Generate(string csvText, string tsvText) =>
    [
        new GeneratedFile(SyscallTablesPath, GenerateSyscallTables(csvText)),
        new GeneratedFile(SignaturesPath, GenerateSignatures(tsvText, ParseCsv(csvText))),
    ];

    /// <summary>Regenerates in memory and lists the files on disk that differ (empty when all are current).</summary>
    public static IReadOnlyList<FileDifference> Check(string root)
    {
        var differences = new List<FileDifference>();
        foreach (var file in GenerateFromRoot(root))
        {
            string path = Path.Combine(root, file.RelativePath);
            if (!File.Exists(path))
            {
                differences.Add(new FileDifference(file.RelativePath, "missing"));
                continue;
            }
            string onDisk = File.ReadAllText(path);
            if (onDisk != file.Content)
                differences.Add(new FileDifference(file.RelativePath, DescribeDifference(onDisk, file.Content)));
        }
        return differences;
    }

    /// <summary>Writes every generated file under <paramref name="root"/> with LF line endings and no BOM.</summary>
    public static IReadOnlyList<GeneratedFile> Write(string root)
    {
        var files = GenerateFromRoot(root);
        foreach (var file in files)
        {
            string path = Path.Combine(root, file.RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, file.Content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        return files;
    }

    private static string DescribeDifference(string onDisk, string expected)
    {
        string[] a = onDisk.Split('\n'), b = expected.Split('\n');
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            if (a[i] != b[i])
                return $"first difference at line {i + 1}";
        return $"line count differs ({a.Length} on disk, {b.Length} expected)";
    }

    // ---------------------------------------------------------------- syscalls.csv

    /// <summary>The parsed CSV: the version line, the arch columns, and one number (or -1 for PNR) per row and column.</summary>
    internal sealed record SyscallCsv(string VersionLine, IReadOnlyList<string> Columns, IReadOnlyList<string> Names, int[,] Numbers);

    /// <summary>Parses libseccomp's CSV, rejecting anything malformed with the line number.</summary>
    internal static SyscallCsv ParseCsv(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        string? versionLine = null;
        List<string>? columns = null;
        var names = new List<string>();
        var rows = new List<int[]>();
        for (int ln = 0; ln < lines.Length; ln++)
        {
            string line = lines[ln];
            if (line.Length == 0)
                continue;
            string[] cells = line.Split(',');
            if (line.StartsWith('#'))
            {
                if (columns is not null)
                    throw new FormatException($"{CsvPath}:{ln + 1}: a second header row.");
                versionLine = cells[0];
                if ((cells.Length - 1) % 2 != 0)
                    throw new FormatException($"{CsvPath}:{ln + 1}: expected pairs of <arch>,<arch>_kver columns.");
                columns = [];
                for (int c = 1; c < cells.Length; c += 2)
                {
                    if (cells[c + 1] != cells[c] + "_kver")
                        throw new FormatException($"{CsvPath}:{ln + 1}: column '{cells[c + 1]}' should be '{cells[c]}_kver'.");
                    columns.Add(cells[c]);
                }
                continue;
            }
            if (columns is null)
                throw new FormatException($"{CsvPath}:{ln + 1}: data before the '#syscall' header row.");
            if (cells.Length != 1 + 2 * columns.Count)
                throw new FormatException($"{CsvPath}:{ln + 1}: {cells.Length} cells, expected {1 + 2 * columns.Count}.");
            var numbers = new int[columns.Count];
            for (int c = 0; c < columns.Count; c++)
            {
                string cell = cells[1 + 2 * c];
                if (cell == "PNR")
                    numbers[c] = -1;
                else if (!int.TryParse(cell, NumberStyles.None, CultureInfo.InvariantCulture, out numbers[c]))
                    throw new FormatException($"{CsvPath}:{ln + 1}: '{cell}' for {cells[0]} on {columns[c]} is neither a number nor PNR.");
            }
            if (names.Contains(cells[0]))
                throw new FormatException($"{CsvPath}:{ln + 1}: duplicate syscall '{cells[0]}'.");
            names.Add(cells[0]);
            rows.Add(numbers);
        }
        if (versionLine is null || columns is null)
            throw new FormatException($"{CsvPath}: no '#syscall (version)' header row.");
        var matrix = new int[columns.Count, names.Count];
        for (int c = 0; c < columns.Count; c++)
        {
            var seen = new Dictionary<int, string>();
            for (int r = 0; r < names.Count; r++)
            {
                int n = rows[r][c];
                matrix[c, r] = n;
                if (n >= 0 && !seen.TryAdd(n, names[r]))
                    throw new FormatException($"{CsvPath}: {columns[c]} gives number {n} to both {seen[n]} and {names[r]}.");
            }
        }
        return new SyscallCsv(versionLine, columns, names, matrix);
    }

    private static string Header(string source, string versionLine) =>
        $"""
        // <auto-generated>
        //   Generated by tools/GenerateSyscallTables from {source}: do not edit;
        //   regenerate with: {RegenerateCommand}
        //   Source version line: {versionLine}
        // </auto-generated>
        #nullable enable

        """.Replace("\r\n", "\n") + "\n";

    private static string GenerateSyscallTables(string csvText)
    {
        var csv = ParseCsv(csvText);
        var sb = new StringBuilder();
        sb.Append(Header(CsvPath, csv.VersionLine));
        sb.Append("namespace SeccompKit.Syscalls;\n\n");
        sb.Append("/// <summary>libseccomp's syscall table, one column per syscall table (not per endianness variant).</summary>\n");
        sb.Append("internal static class SyscallData\n{\n");
        sb.Append("    /// <summary>The CSV's header cell, naming the kernel version the table follows.</summary>\n");
        sb.Append($"    internal const string VersionLine = {Quote(csv.VersionLine)};\n\n");
        sb.Append("    /// <summary>Column names (libseccomp arch names) in CSV order.</summary>\n");
        sb.Append("    internal static readonly string[] Columns =\n    [\n");
        AppendStrings(sb, csv.Columns, 6);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>Syscall names in CSV row order; <see cref=\"Numbers\"/> is indexed by position here.</summary>\n");
        sb.Append("    internal static readonly string[] Names =\n    [\n");
        AppendStrings(sb, csv.Names, 6);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>\n");
        sb.Append("    /// Column-major numbers as the CSV stores them (no x32 bit, no MIPS base): entry\n");
        sb.Append("    /// <c>column * Names.Length + row</c>; -1 where the CSV says PNR (not present).\n");
        sb.Append("    /// </summary>\n");
        sb.Append("    internal static ReadOnlySpan<int> Numbers =>\n    [\n");
        for (int c = 0; c < csv.Columns.Count; c++)
        {
            sb.Append("        // ").Append(csv.Columns[c]).Append('\n');
            var column = new List<int>(csv.Names.Count);
            for (int r = 0; r < csv.Names.Count; r++)
                column.Add(csv.Numbers[c, r]);
            AppendNumbers(sb, column, 16);
        }
        sb.Append("    ];\n}\n");
        return sb.ToString();
    }

    // ---------------------------------------------------------------- syscall-signatures.tsv

    private sealed record TsvArgument(string CType, string Name, bool TsvSigned);

    /// <summary>
    /// tracefs names each event after the kernel function (<c>sys_enter_newfstat</c>), which for these
    /// x86_64 entries differs from the syscall's name in syscalls.csv (arch/x86/entry/syscalls/syscall_64.tbl
    /// maps fstat to sys_newfstat, umount2 to sys_umount, and so on). Any other name missing from the
    /// x86_64 column is an error.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> TraceEventToSyscall = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["newfstat"] = "fstat",
        ["newlstat"] = "lstat",
        ["newstat"] = "stat",
        ["newuname"] = "uname",
        ["sendfile64"] = "sendfile",
        ["umount"] = "umount2",
    };

    private static string GenerateSignatures(string tsvText, SyscallCsv csv)
    {
        int x86_64 = csv.Columns.ToList().IndexOf("x86_64");
        if (x86_64 < 0)
            throw new FormatException($"{CsvPath}: no x86_64 column to check the x86_64 signatures against.");
        var onX86_64 = Enumerable.Range(0, csv.Names.Count).Where(r => csv.Numbers[x86_64, r] >= 0).Select(r => csv.Names[r]).ToHashSet(StringComparer.Ordinal);
        var lines = tsvText.Replace("\r\n", "\n").Split('\n');
        string? sourceLine = null;
        var syscalls = new List<(string Name, List<TsvArgument> Args)>();
        for (int ln = 0; ln < lines.Length; ln++)
        {
            string line = lines[ln];
            if (line.Length == 0)
                continue;
            if (line.StartsWith('#'))
            {
                sourceLine ??= line;
                continue;
            }
            string[] cells = line.Split('\t');
            if (cells.Length != 5)
                throw new FormatException($"{TsvPath}:{ln + 1}: {cells.Length} cells, expected 5 (syscall, index, C type, name, signed).");
            string name = cells[0];
            bool isNew = syscalls.Count == 0 || syscalls[^1].Name != name;
            if (isNew && syscalls.Exists(s => s.Name == name))
                throw new FormatException($"{TsvPath}:{ln + 1}: rows of '{name}' are not contiguous.");
            if (isNew)
                syscalls.Add((name, []));
            var args = syscalls[^1].Args;
            if (cells[1] == "-")
            {
                if (!isNew)
                    throw new FormatException($"{TsvPath}:{ln + 1}: '{name}' has both arguments and a no-argument row.");
                continue;
            }
            if (!int.TryParse(cells[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index != args.Count || index > 5)
                throw new FormatException($"{TsvPath}:{ln + 1}: argument index '{cells[1]}' of '{name}', expected {args.Count} (0..5, in order).");
            bool tsvSigned = cells[4] switch
            {
                "1" => true,
                "0" => false,
                _ => throw new FormatException($"{TsvPath}:{ln + 1}: signed column '{cells[4]}', expected 0 or 1."),
            };
            var cls = CTypeRules.Classify(cells[2]);
            if (tsvSigned && !cls.IsSigned)
                throw new FormatException($"{TsvPath}:{ln + 1}: tracefs says '{cells[2]}' is signed but CTypeRules says unsigned; fix the rule.");
            args.Add(new TsvArgument(cells[2], cells[3], tsvSigned));
        }
        if (sourceLine is null)
            throw new FormatException($"{TsvPath}: no '#' source line.");
        string SyscallName(string traceName) => TraceEventToSyscall.GetValueOrDefault(traceName, traceName);
        foreach (var s in syscalls)
            if (!onX86_64.Contains(SyscallName(s.Name)))
                throw new FormatException(
                    $"{TsvPath}: tracefs event '{s.Name}' is not an x86_64 syscall in {CsvPath}; map it in " +
                    "TableGenerator.TraceEventToSyscall (see arch/x86/entry/syscalls/syscall_64.tbl) and regenerate.");
        if (syscalls.Select(s => SyscallName(s.Name)).Distinct().Count() != syscalls.Count)
            throw new FormatException($"{TsvPath}: two tracefs events map to the same syscall.");

        var types = syscalls.SelectMany(s => s.Args).Select(a => a.CType).Distinct().Order(StringComparer.Ordinal).ToList();
        var typeIndex = types.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i, StringComparer.Ordinal);

        var sb = new StringBuilder();
        sb.Append(Header(TsvPath, sourceLine));
        sb.Append("namespace SeccompKit.Syscalls;\n\n");
        sb.Append("/// <summary>x86_64 syscall argument lists from tracefs, flattened into parallel arrays.</summary>\n");
        sb.Append("internal static class SignatureData\n{\n");
        sb.Append("    /// <summary>The TSV's first comment line, naming the kernel the signatures were read from.</summary>\n");
        sb.Append($"    internal const string SourceLine = {Quote(sourceLine)};\n\n");
        sb.Append("    /// <summary>Syscall names (as in syscalls.csv) in TSV order.</summary>\n");
        sb.Append("    internal static readonly string[] Syscalls =\n    [\n");
        AppendStrings(sb, syscalls.Select(s => SyscallName(s.Name)).ToList(), 6);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>tracefs event names (sys_enter_ suffix), parallel to <see cref=\"Syscalls\"/>.</summary>\n");
        sb.Append("    internal static readonly string[] TraceEvents =\n    [\n");
        AppendStrings(sb, syscalls.Select(s => s.Name).ToList(), 6);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>Arguments of <c>Syscalls[i]</c> are entries <c>ArgStart[i]</c> up to <c>ArgStart[i + 1]</c> of the Arg* arrays.</summary>\n");
        sb.Append("    internal static ReadOnlySpan<short> ArgStart =>\n    [\n");
        var starts = new List<int> { 0 };
        foreach (var s in syscalls)
            starts.Add(starts[^1] + s.Args.Count);
        AppendNumbers(sb, starts, 16);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>Argument names as the kernel's SYSCALL_DEFINE declares them.</summary>\n");
        sb.Append("    internal static readonly string[] ArgNames =\n    [\n");
        AppendStrings(sb, syscalls.SelectMany(s => s.Args).Select(a => a.Name).ToList(), 6);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>Index into <see cref=\"CTypes\"/> for each argument.</summary>\n");
        sb.Append("    internal static ReadOnlySpan<byte> ArgTypes =>\n    [\n");
        AppendNumbers(sb, syscalls.SelectMany(s => s.Args).Select(a => typeIndex[a.CType]).ToList(), 16);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>Distinct C types, verbatim from tracefs, ordinal order.</summary>\n");
        sb.Append("    internal static readonly string[] CTypes =\n    [\n");
        AppendStrings(sb, types, 4);
        sb.Append("    ];\n\n");
        sb.Append("    /// <summary>Per C type: bit 0 set = 64-bit, bit 1 set = signed (see tools/GenerateSyscallTables/CTypeRules.cs).</summary>\n");
        sb.Append("    internal static ReadOnlySpan<byte> CTypeFlags =>\n    [\n");
        AppendNumbers(sb, types.Select(t => CTypeRules.Classify(t) is var c ? (c.Is64Bit ? 1 : 0) | (c.IsSigned ? 2 : 0) : 0).ToList(), 16);
        sb.Append("    ];\n}\n");
        return sb.ToString();
    }

    // ---------------------------------------------------------------- formatting

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char ch in s)
        {
            if (ch is '"' or '\\')
                sb.Append('\\').Append(ch);
            else if (ch < ' ' || ch > '~')
                sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
            else
                sb.Append(ch);
        }
        return sb.Append('"').ToString();
    }

    private static void AppendStrings(StringBuilder sb, IReadOnlyList<string> items, int perLine)
    {
        for (int i = 0; i < items.Count; i += perLine)
        {
            sb.Append("        ");
            sb.AppendJoin(", ", items.Skip(i).Take(perLine).Select(Quote));
            sb.Append(",\n");
        }
    }

    private static void AppendNumbers(StringBuilder sb, IReadOnlyList<int> items, int perLine)
    {
        for (int i = 0; i < items.Count; i += perLine)
        {
            sb.Append("        ");
            sb.AppendJoin(", ", items.Skip(i).Take(perLine).Select(n => n.ToString(CultureInfo.InvariantCulture)));
            sb.Append(",\n");
        }
    }
}
