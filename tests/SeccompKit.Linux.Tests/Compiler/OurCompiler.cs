using SeccompKit.Bpf;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>
/// The one place the differential tests and the benchmark call SeccompKit's policy compiler
/// (SeccompKit.Compiler.PolicyCompiler). Shared with bench/compiler (linked source file).
/// </summary>
public static class OurCompiler
{
    /// <summary>Whether the compiler is in this build (false until SeccompKit.Compiler lands on main).</summary>
    public static bool Available => false;

    /// <summary>Compiles <paramref name="policy"/>, optimised or not.</summary>
    public static BpfProgram Compile(SeccompPolicy policy, bool optimize) =>
        throw new InvalidOperationException($"SeccompKit.Compiler.PolicyCompiler is not in this build yet (cannot compile {policy.Rules.Length} rules, optimize={optimize}).");
}
