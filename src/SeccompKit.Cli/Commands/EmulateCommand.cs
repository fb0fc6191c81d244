using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit emulate FILE... --syscall NAME</c>: what would the kernel do?</summary>
public static class EmulateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var files = new Argument<string[]>("FILE") { Description = "Filters, in installation order (oldest first, newest last) unless --newest-first", Arity = ArgumentArity.OneOrMore };
        var arch = new Option<string>("--arch") { Description = "Calling ABI: x86_64, x86 (int 0x80), x32, aarch64, ... (default x86_64)", DefaultValueFactory = _ => "x86_64" };
        var syscall = new Option<string?>("--syscall", "-s") { Description = "System call name or number (as in seccomp_data.nr, e.g. openat or 257)" };
        var argsOpt = new Option<string?>("--args", "-a") { Description = "Up to six comma-separated 64-bit arguments, decimal, 0x hex or negative (e.g. 0,0x41,-1)" };
        var ip = new Option<string?>("--ip") { Description = "Instruction pointer (default 0)" };
        var all = new Option<bool>("--all") { Description = "Print the action of every syscall of the arch (with --args/--ip applied to each) and whether the kernel's action cache (5.11+) allows it without running the filters" };
        var newestFirst = new Option<bool>("--newest-first") { Description = "FILEs are listed newest (last installed) first, as PTRACE_SECCOMP_GET_FILTER numbers them" };
        var trace = new Option<bool>("--no-path") { Description = "Do not print the path of pcs executed" };
        var inputFormat = CliApp.InputFormatOption();
        var format = CliApp.OutputFormatOption();
        var cmd = new Command("emulate",
            "Run one filter or a stack of filters on a system call exactly as the kernel would, and print\n" +
            "the action, the raw value, the pcs executed and their count. A stack combines like the kernel:\n" +
            "every filter runs, the lowest action (as signed 32-bit) wins, the newest filter wins ties.\n\n" +
            "JSON fields: value (raw 32-bit result), action (kernel name without SECCOMP_RET_), data (low 16\n" +
            "bits), executed (instructions run over all filters), path (pcs of the deciding filter), filter\n" +
            "(index of the deciding FILE, -1 if all allowed), exempt (true for calls the kernel never filters:\n" +
            "x86_64 uretprobe and uprobe), filters[] (each FILE's own run), input.\n\n" +
            "Examples:\n" +
            "  seccompkit emulate filter.bpf --syscall openat --args 0,0x41\n" +
            "  seccompkit emulate filter.bpf --arch x86 --syscall socketcall --args 1\n" +
            "  seccompkit emulate base.bpf extra.bpf -s 39 --format json\n" +
            "  seccompkit emulate filter.bpf --all --arch x86_64")
        { files, arch, syscall, argsOpt, ip, all, newestFirst, trace, inputFormat, format };
        cmd.SetAction(parse =>
        {
            var paths = parse.GetRequiredValue(files);
            var architecture = ResolveArch(parse.GetValue(arch)!);
            var programs = paths.Select(p => ProgramInput.ReadValid(p, parse.GetValue(inputFormat), console, CliApp.Symbols)).ToList();
            // FilterStack wants newest first; the command line lists installation order unless told otherwise.
            var order = Enumerable.Range(0, paths.Length).ToList();
            if (!parse.GetValue(newestFirst)) order.Reverse();
            var stack = new FilterStack(order.Select(i => programs[i]));
            var args = ParseArgs(parse.GetValue(argsOpt));
            ulong ipValue = parse.GetValue(ip) is { } ipText ? ParseU64(ipText, "--ip") : 0;
            bool json = parse.GetValue(format) == OutputFormat.Json;
            bool showPath = !parse.GetValue(trace);

            if (parse.GetValue(all))
            {
                if (parse.GetValue(syscall) is not null)
                    throw new CliInputException("--all and --syscall exclusive: --all already runs every syscall", ExitCodes.Usage);
                RunAll(console, architecture, stack, args, ipValue, json);
                return ExitCodes.Success;
            }
            string sysText = parse.GetValue(syscall)
                ?? throw new CliInputException("say which system call: --syscall NAME|NUMBER (or --all for every one)", ExitCodes.Usage);
            int nr = ResolveSyscall(architecture, sysText);
            var data = new SeccompData(nr, architecture.AuditArch, ipValue, args);
            var result = stack.Run(data, trace: true);
            // order[i] is the FILE index of stack filter i.
            int decidingFile = result.WinningFilter < 0 ? -1 : order[result.WinningFilter];
            int pathFilter = result.WinningFilter < 0 ? 0 : result.WinningFilter;
            string? name = architecture.Syscalls.TryGetName(nr, out var n) ? n : null;
            if (json) WriteJson(console, architecture, data, name, paths, order, result, decidingFile, pathFilter);
            else WriteText(console, architecture, data, name, paths, order, result, decidingFile, pathFilter, showPath);
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Architecture ResolveArch(string name)
    {
        try { return Architecture.Get(name); }
        catch (SeccompException e) { throw new CliInputException($"--arch: {e.Message}", ExitCodes.Usage); }
    }

    private static int ResolveSyscall(Architecture arch, string text)
    {
        string t = text.Trim();
        if (t.Length > 0 && (char.IsDigit(t[0]) || t[0] == '-'))
        {
            long v = ParseI64(t, "--syscall");
            if (v < int.MinValue || v > uint.MaxValue)
                throw new CliInputException($"--syscall {t}: seccomp_data.nr is 32 bits; give a value that fits", ExitCodes.Usage);
            return unchecked((int)v);
        }
        try { return arch.Syscalls.GetNumber(t); }
        catch (SeccompException e) { throw new CliInputException($"--syscall: {e.Message}", ExitCodes.Usage); }
    }

    private static ulong[] ParseArgs(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new ulong[6];
        var parts = text.Split(',');
        if (parts.Length > 6)
            throw new CliInputException($"--args: {parts.Length} values given; a system call has at most 6 arguments", ExitCodes.Usage);
        var result = new ulong[6];
        for (int i = 0; i < parts.Length; i++) result[i] = ParseU64(parts[i], $"--args (argument {i})");
        return result;
    }

    private static ulong ParseU64(string text, string what)
    {
        string t = text.Trim();
        if (t.StartsWith('-')) return unchecked((ulong)ParseI64(t, what));
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok) throw new CliInputException($"{what}: '{text}' is not a 64-bit number (decimal, 0x hex, or negative)", ExitCodes.Usage);
        return v;
    }

    private static long ParseI64(string text, string what)
    {
        string t = text.Trim();
        bool neg = t.StartsWith('-');
        if (neg) t = t[1..];
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok || (neg && v > (ulong)long.MaxValue + 1) || (!neg && v > uint.MaxValue && what == "--syscall"))
            throw new CliInputException($"{what}: '{text}' is not a valid number", ExitCodes.Usage);
        return neg ? unchecked(-(long)v) : unchecked((long)v);
    }

    private static void WriteText(ICliConsole c, Architecture arch, SeccompData d, string? name, string[] paths, List<int> order,
        StackResult r, int decidingFile, int pathFilter, bool showPath)
    {
        var o = c.Out;
        o.WriteLine($"input:    {arch.Name} {(name ?? "?")} (nr {d.Nr}) args [{string.Join(", ", d.Args.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture)))}] ip 0x{d.InstructionPointer:x}");
        o.WriteLine($"action:   {r.Result}  (value 0x{r.Value:x8}, {r.Result.ActionName})");
        if (r.ExemptFromFiltering)
            o.WriteLine("note:     the kernel never runs filters for this call (x86_64 uretprobe/uprobe pass-through); the paths below are what the filters would do");
        if (paths.Length > 1)
            o.WriteLine($"decided:  {(decidingFile < 0 ? "every filter allowed" : $"{paths[decidingFile]} (FILE {decidingFile + 1})")}");
        o.WriteLine($"executed: {r.Executed} instructions");
        if (!showPath) return;
        if (paths.Length == 1)
            o.WriteLine($"path:     {string.Join(" ", r.PerFilter[0].Path)}");
        else
            for (int i = 0; i < r.PerFilter.Length; i++)
                o.WriteLine($"path:     {paths[order[i]]}: {string.Join(" ", r.PerFilter[i].Path)} -> {new SeccompResult(r.PerFilter[i].Value)}");
    }

    private static void WriteJson(ICliConsole c, Architecture arch, SeccompData d, string? name, string[] paths, List<int> order,
        StackResult r, int decidingFile, int pathFilter)
    {
        var doc = new EmulateJson(r.Value, r.Result.ActionName, r.Result.Data, r.Result.ToString(), r.Executed, r.PerFilter[pathFilter].Path, decidingFile,
            r.ExemptFromFiltering,
            [.. r.PerFilter.Select((f, i) => new EmulateFilterJson(paths[order[i]], f.Value, f.Result.ActionName, f.Result.Data, f.Executed, f.Path))],
            new EmulateInputJson(arch.Name, arch.AuditArch, d.Nr, name, d.InstructionPointer, [.. d.Args]));
        c.Out.WriteLine(JsonSerializer.Serialize(doc, CliJsonContext.Default.EmulateJson));
    }

    private static void RunAll(ICliConsole c, Architecture arch, FilterStack stack, ulong[] args, ulong ip, bool json)
    {
        // The action cache (5.11+) is filled per arch from nr and arch alone; calls the kernel exempts from
        // filtering are always let through. x32 numbers carry bit 30 and so lie past every bitmap.
        int bitmapSize = arch.Syscalls.BitmapSize;
        var exempt = Enumerable.Range(0, bitmapSize).Where(nr => FilterStack.IsExemptFromFiltering(new SeccompData(nr, arch.AuditArch))).ToList();
        // x32 and MIPS n32 calls are never cached by any kernel.
        var cache = arch.IsCachedByAnyKernel ? ActionCache.Compute(stack, arch.AuditArch, bitmapSize, exempt) : new System.Collections.BitArray(bitmapSize);
        var rows = arch.Syscalls.All.Select(s => (s.Name, s.Number,
            Value: stack.Evaluate(new SeccompData(s.Number, arch.AuditArch, ip, args)),
            Cached: s.Number >= 0 && s.Number < bitmapSize && cache[s.Number])).ToList();
        if (json)
        {
            c.Out.WriteLine(JsonSerializer.Serialize(new EmulateAllJson(arch.Name, arch.AuditArch, [.. rows.Select(row =>
            {
                var r = new SeccompResult(row.Value);
                return new EmulateAllSyscallJson(row.Number, row.Name, row.Value, r.ActionName, r.Data, r.ToString(), row.Cached);
            })]), CliJsonContext.Default.EmulateAllJson));
            return;
        }
        int nameWidth = Math.Max(7, rows.Max(r => r.Name.Length));
        c.Out.WriteLine($"{"NR",10}  {"SYSCALL".PadRight(nameWidth)}  {"CACHED",-6}  ACTION");
        foreach (var (name, nr, value, cached) in rows)
            c.Out.WriteLine($"{nr,10}  {name.PadRight(nameWidth)}  {(cached ? "yes" : "no"),-6}  {new SeccompResult(value)}");
        var summary = rows.GroupBy(r => new SeccompResult(r.Value).ActionName).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count()}");
        c.Error.WriteLine($"seccompkit: {rows.Count} syscalls of {arch.Name}: {string.Join(", ", summary)}; {rows.Count(r => r.Cached)} allowed by the action cache without running the filters");
    }
}
