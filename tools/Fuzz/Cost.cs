using System.Diagnostics;
using SeccompKit.Analysis;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Syscalls;

namespace SeccompKit.Fuzz;

/// <summary>
/// <c>SeccompKit.Fuzz cost FILE...</c>: explain's work units (<see cref="AnalysisBudget"/>), paths, time and allocation
/// for each filter, to check that real filters stay far below <see cref="AnalysisBudget.MaxWork"/> and that the bound
/// means a bounded time.
/// </summary>
public static class Cost
{
    /// <summary>Prints one line per file; 0, or 2 when a file cannot be read.</summary>
    public static int Run(IReadOnlyList<string> files, TextWriter log)
    {
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var ins = bytes.AsSpan().IndexOf((byte)0) >= 0 || !FilterInput.LooksLikeBpfText(System.Text.Encoding.UTF8.GetString(bytes))
                ? BpfProgram.ParseRaw(bytes) : Assembler.Assemble(System.Text.Encoding.UTF8.GetString(bytes), new SyscallSymbols());
            if (!BpfProgram.TryCreate(ins, out var program, out var invalid)) { log.WriteLine($"{file}: not a valid filter: {invalid}"); continue; }
            var budget = new AnalysisBudget(long.MaxValue);
            long alloc = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            string outcome;
            try
            {
                var explanation = FilterExplainer.Explain(new FilterStack([program!]), budget);
                outcome = $"{explanation.PathCount} paths";
                var recovery = new AnalysisBudget(long.MaxValue);
                var rsw = Stopwatch.StartNew();
                _ = PolicyRecovery.Recover(explanation, recovery);
                outcome += $", recovery {recovery.Used:N0} units {rsw.Elapsed.TotalMilliseconds:0} ms";
            }
            catch (AnalysisLimitException e) { outcome = "limit: " + e.Message[..Math.Min(60, e.Message.Length)]; }
            log.WriteLine($"{file}: {program!.Length} instructions, {outcome}, {budget.Used:N0} units, {sw.Elapsed.TotalMilliseconds:0} ms, {(GC.GetAllocatedBytesForCurrentThread() - alloc) >> 20} MiB");
        }
        return 0;
    }
}
