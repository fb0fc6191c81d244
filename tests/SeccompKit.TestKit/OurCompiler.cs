using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;

namespace SeccompKit.TestKit;

/// <summary>
/// The one place the differential tests and the benchmark call SeccompKit's policy compiler
/// (<see cref="PolicyCompiler"/>). Shared with bench/compiler (linked source file).
/// </summary>
public static class OurCompiler
{
    /// <summary>Whether the compiler is in this build.</summary>
    public static bool Available => true;

    /// <summary>Compiles <paramref name="policy"/>, optimised or not.</summary>
    public static BpfProgram Compile(SeccompPolicy policy, bool optimize) =>
        PolicyCompiler.Compile(policy, new CompileOptions { Optimize = optimize }).Program;
}
