using System.Buffers.Binary;
using System.Text.Json;
using BenchmarkDotNet.Running;
using SeccompKit.InterpreterBench;
using SeccompKit.Bpf;

// `prepare OUTDIR`: write the inputs and SeccompKit's results for the C anchor to check, plus statistics.
// Anything else goes to BenchmarkDotNet.
if (args.Length == 2 && args[0] == "prepare")
{
    var b = BenchInputs.LoadDefault();
    Directory.CreateDirectory(args[1]);
    using (var inputs = File.Create(Path.Combine(args[1], "inputs.bin")))
    using (var ours = File.Create(Path.Combine(args[1], "ours.bin")))
    {
        Span<byte> word = stackalloc byte[4];
        foreach (var d in b.Inputs)
        {
            inputs.Write(d.ToBytes());
            BinaryPrimitives.WriteUInt32LittleEndian(word, Interpreter.Evaluate(b.Program, d));
            ours.Write(word);
        }
    }
    var runs = b.Inputs.Select(d => Interpreter.Run(b.Program, d)).ToList();
    if (runs.Zip(b.Inputs).Any(p => p.First.Value != Interpreter.Evaluate(b.Program, p.Second)))
    {
        Console.Error.WriteLine("Interpreter.Run and Interpreter.Evaluate disagree");
        return 1;
    }
    var compiled = CompiledFilter.Compile(b.Program);
    if (!compiled.IsCompiled || runs.Zip(b.Inputs).Any(p => p.First.Value != compiled.Evaluate(p.Second)))
    {
        Console.Error.WriteLine("CompiledFilter is not compiled or disagrees with Interpreter.Run");
        return 1;
    }
    var stats = new
    {
        inputs = b.Inputs.Length,
        instructions = b.Program.Length,
        abis = b.Abis.Select(a => new { name = a.Name, auditArch = $"0x{a.AuditArch:x8}", first = $"0x{a.First:x}", last = $"0x{a.Last:x}" }),
        executedMean = runs.Average(r => r.Executed),
        executedMin = runs.Min(r => r.Executed),
        executedMax = runs.Max(r => r.Executed),
        results = runs.GroupBy(r => r.Result.ToString()).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
    };
    File.WriteAllText(Path.Combine(args[1], "stats.json"), JsonSerializer.Serialize(stats, new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine($"prepared {b.Inputs.Length} inputs, {b.Program.Length} instructions, {stats.executedMean:F2} executed per evaluation");
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(InterpreterThroughput).Assembly).Run(args);
return 0;
