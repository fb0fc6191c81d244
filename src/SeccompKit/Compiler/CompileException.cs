namespace SeccompKit.Compiler;

/// <summary>A policy that cannot become a filter, e.g. because the program would exceed the kernel's length limit.</summary>
public sealed class CompileException : SeccompException
{
    /// <summary>Creates the exception with an actionable message.</summary>
    public CompileException(string message) : base(message) { }
}
