namespace GenerateSyscallTables;

/// <summary>
/// <c>dotnet run --project tools/GenerateSyscallTables [-- --check] [--root DIR]</c>: writes (or, with
/// <c>--check</c>, verifies) the generated syscall tables under src/SeccompKit/Syscalls/Generated.
/// </summary>
internal static class Program
{
    private const int ExitOk = 0;
    private const int ExitOutOfDate = 1;
    private const int ExitUsage = 2;
    private const int ExitBadInput = 3;

    private static int Main(string[] args)
    {
        bool check = false;
        string? root = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--check":
                    check = true;
                    break;
                case "--root" when i + 1 < args.Length:
                    root = args[++i];
                    break;
                case "-h" or "--help":
                    Console.WriteLine("usage: GenerateSyscallTables [--check] [--root <repo root>]");
                    return ExitOk;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: GenerateSyscallTables [--check] [--root <repo root>]");
                    return ExitUsage;
            }
        }

        try
        {
            root ??= TableGenerator.FindRoot(Directory.GetCurrentDirectory());
            if (check)
            {
                var differences = TableGenerator.Check(root);
                foreach (var d in differences)
                    Console.Error.WriteLine($"{d.RelativePath}: out of date ({d.Reason}).");
                if (differences.Count > 0)
                {
                    Console.Error.WriteLine($"Fix: run `{TableGenerator.RegenerateCommand}` from the repository root and commit the result.");
                    return ExitOutOfDate;
                }
                Console.WriteLine("Generated syscall tables are up to date.");
                return ExitOk;
            }
            foreach (var file in TableGenerator.Write(root))
                Console.WriteLine($"wrote {file.RelativePath}");
            return ExitOk;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine(e.Message);
            return ExitBadInput;
        }
    }
}
