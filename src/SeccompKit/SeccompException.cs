namespace SeccompKit;

/// <summary>
/// Root of every exception SeccompKit throws on purpose. Each layer has its own subclass; every
/// message says what went wrong and what to do about it.
/// </summary>
public class SeccompException : Exception
{
    /// <summary>Creates an exception with an actionable message.</summary>
    public SeccompException(string message) : base(message) { }

    /// <summary>Creates an exception with an actionable message and the underlying cause.</summary>
    public SeccompException(string message, Exception inner) : base(message, inner) { }
}
