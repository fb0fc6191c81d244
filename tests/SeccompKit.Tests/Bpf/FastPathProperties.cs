using CsCheck;
using SeccompKit.Bpf;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// The fast path (<see cref="Interpreter.Evaluate"/>, which runs the pre-decoded program) must return exactly
/// what the traced path (<see cref="Interpreter.Run(BpfProgram, SeccompData)"/>) does, on every valid program
/// and every input. Programs come from <see cref="RoundTripProperties.ValidPrograms"/> (every seccomp opcode,
/// stray bits, memory use, jumps); inputs mix the values the generated comparisons test for (nr 0..3, the
/// x86_64 and i386 arch values) with arbitrary words, so both sides of the branches run.
/// </summary>
public class FastPathProperties
{
    private static readonly Gen<uint> Word = Gen.Frequency(
        (3, Gen.UInt[0, 3]),
        (2, Gen.Const(TestPrograms.X86_64).Select(Gen.Bool, (arch, i386) => i386 ? TestPrograms.I386 : arch)),
        (3, Gen.UInt));

    internal static readonly Gen<SeccompData> Inputs =
        Gen.Select(Word, Word, Gen.ULong, Gen.Select(Word, Word).Select(p => ((ulong)p.Item2 << 32) | p.Item1).Array[6])
            .Select(t => new SeccompData(unchecked((int)t.Item1), t.Item2, t.Item3, t.Item4));

    internal static string Show(Instruction[] p, SeccompData[] inputs) =>
        Disassembler.DisassembleRaw(p) + "\ninputs:\n" + string.Join("\n", inputs.Select(d => d.ToString()));

    [Fact]
    public void Evaluate_equals_Run_on_generated_programs_and_inputs()
    {
        long runs = 0, divisionByZero = 0;
        Gen.Select(RoundTripProperties.ValidPrograms, Inputs.Array[6]).Sample((p, inputs) =>
        {
            var program = BpfProgram.Create(p);
            foreach (var d in inputs)
            {
                var traced = Interpreter.Run(program, d);
                Assert.Equal(traced.Value, Interpreter.Evaluate(program, d));
                Interlocked.Increment(ref runs);
                if (traced.DivisionByZero) Interlocked.Increment(ref divisionByZero);
            }
        }, iter: 10_000, print: t => Show(t.Item1, t.Item2));
        Assert.True(runs >= 60_000, $"only {runs} comparisons ran");
        // The DIV X by zero exit must be among what the property covers.
        Assert.True(divisionByZero > 0, "no generated run divided by zero");
    }

    [Fact]
    public void FilterStack_Evaluate_equals_Run_on_generated_stacks()
    {
        Gen.Select(RoundTripProperties.ValidPrograms.Array[1, 4], Inputs.Array[4]).Sample((ps, inputs) =>
        {
            var stack = new FilterStack(ps.Select(p => BpfProgram.Create(p)));
            foreach (var d in inputs)
                Assert.Equal(stack.Run(d).Value, stack.Evaluate(d));
        }, iter: 2_000);
    }

    [Fact]
    public void Evaluate_is_consistent_when_threads_race_to_decode_a_program()
    {
        var inputs = Inputs.Array[8].Single(_ => true, seed: "0N0XIzNsQ0O2");
        RoundTripProperties.ValidPrograms.Sample(p =>
        {
            var program = BpfProgram.Create(p);
            var expected = inputs.Select(d => Interpreter.Run(program, d).Value).ToArray();
            // A fresh program each time, so the first evaluations race to build the decoded form.
            Parallel.For(0, 8, _ =>
            {
                for (int i = 0; i < inputs.Length; i++)
                    Assert.Equal(expected[i], Interpreter.Evaluate(program, inputs[i]));
            });
        }, iter: 500, threads: 1);
    }
}
