namespace SeccompKit.Policy.Language;

/// <summary>
/// The SeccompKit policy language: a readable text form of <see cref="SeccompPolicy"/> (grammar and
/// examples in docs/POLICY-LANGUAGE.md).
/// <code>
/// default errno(EPERM)
/// set @files = { read, write, close, openat(flags &amp; O_ACCMODE == O_RDONLY) }
/// allow { @files, socket(family in { AF_INET, AF_INET6 }) }
/// kill-process { ptrace }
/// </code>
/// </summary>
public static class PolicyLanguage
{
    /// <summary>The most rules one syscall item may lower to (its condition is rewritten as an OR of ANDs).</summary>
    public const int MaxAlternatives = PolicyParser.MaxAlternatives;

    /// <summary>Reads a policy from text.</summary>
    /// <param name="text">The policy text.</param>
    /// <param name="fileName">The name used in error locations and to resolve relative includes.</param>
    /// <param name="resolver">Where <c>include</c>d files come from; without one, <c>include</c> is an error.</param>
    /// <exception cref="PolicyParseException">The text is not a valid policy; the message has file:line:column, the source line with a caret, and a hint.</exception>
    public static SeccompPolicy Parse(string text, string fileName = "<policy>", IPolicyIncludeResolver? resolver = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        return new PolicyParser(resolver).Parse(text, fileName);
    }

    /// <summary>Reads a policy file; includes are resolved relative to the including file.</summary>
    /// <exception cref="PolicyParseException">The file is not a valid policy.</exception>
    /// <exception cref="PolicyException">The file cannot be read.</exception>
    public static SeccompPolicy ParseFile(string path)
    {
        var resolver = new FileSystemIncludeResolver();
        string full = Path.GetFullPath(path);
        string text;
        try { text = File.ReadAllText(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyException($"cannot read the policy file: {e.Message}", path);
        }
        return new PolicyParser(resolver).Parse(text, full);
    }

    /// <summary>
    /// Writes <paramref name="policy"/> as canonical text: header statements, then one block per action
    /// with syscalls sorted by name, argument names from the x86_64 signatures and symbolic constants
    /// where they are exact. <c>Parse(Print(p))</c> means the same as <c>p</c>, and printing is idempotent.
    /// </summary>
    /// <exception cref="PolicyException">A field cannot be written in the language (e.g. a listener path with a lone UTF-16 surrogate).</exception>
    public static string Print(SeccompPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return PolicyPrinter.Print(policy);
    }
}
