using BenchmarkDotNet.Attributes;
using SeccompKit.Bpf;

namespace SeccompKit.InterpreterBench;

/// <summary>
/// Interpreter throughput: one operation is a sweep of <see cref="Interpreter.Evaluate"/> over every input
/// of <see cref="BenchInputs"/>; bench/interpreter/report.py divides by the input count for ns per evaluation.
/// <see cref="CompiledSweep"/> does the same with <see cref="CompiledFilter"/> (compiled once in setup).
/// </summary>
public class InterpreterThroughput
{
    private BpfProgram _program = null!;
    private SeccompData[] _inputs = [];
    private CompiledFilter _compiled = null!;

    [GlobalSetup]
    public void Setup()
    {
        var b = BenchInputs.LoadDefault();
        _program = b.Program;
        _inputs = b.Inputs;
        _compiled = CompiledFilter.Compile(_program);
    }

    [Benchmark(Description = "Evaluate sweep")]
    public uint Sweep()
    {
        uint acc = 0;
        foreach (var d in _inputs)
            acc ^= Interpreter.Evaluate(_program, d);
        return acc;
    }

    [Benchmark(Description = "CompiledFilter sweep")]
    public uint CompiledSweep()
    {
        uint acc = 0;
        foreach (var d in _inputs)
            acc ^= _compiled.Evaluate(d);
        return acc;
    }
}
