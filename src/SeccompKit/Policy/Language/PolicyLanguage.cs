using SeccompKit.Bpf;

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
        try { text = InputFile.ReadAllText(full); }
        catch (InputFileException e)
        {
            throw new PolicyException($"cannot read the policy file: {e.Reason}", PolicyLocation.InFile(path));
        }
        return new PolicyParser(resolver).Parse(text, full);
    }

    /// <summary>
    /// Reads an action as it is typed on a command line or in a policy: <c>allow</c>, <c>log</c>, <c>kill-process</c>
    /// (or <c>kill</c>), <c>kill-thread</c>, <c>trap</c>, <c>trap(5)</c>, <c>trace(N)</c>, <c>errno(EPERM)</c>,
    /// <c>errno(13)</c>, <c>notify</c>. Older spellings are accepted too: <c>errno</c> alone (EPERM, as Docker),
    /// <c>errno:EACCES</c>, <c>kill_process</c>/<c>kill_thread</c>, the kernel's names as seccompkit prints them
    /// (<c>ERRNO(EPERM)</c>, <c>KILL_PROCESS</c>) and OCI's (<c>SCMP_ACT_ERRNO</c> = EPERM, <c>SCMP_ACT_KILL</c> = kill-thread).
    /// </summary>
    /// <param name="text">The action text.</param>
    /// <param name="origin">Where it came from, for the error location (e.g. "--default-action").</param>
    /// <exception cref="PolicyParseException">Not an action; <see cref="PolicyException.Problem"/> and <see cref="PolicyException.Hint"/> say why and what to write.</exception>
    public static PolicyAction ParseAction(string text, string origin = "<action>")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(origin);
        string t = text.Trim();
        if (LegacyAction(t, origin) is { } legacy) return legacy;
        return new PolicyParser(null).ParseActionText(t, origin);
    }

    private static PolicyAction? LegacyAction(string t, string origin)
    {
        switch (t)
        {
            case "errno": return PolicyAction.Errno(1);
            case "kill_process": return PolicyAction.KillProcess;
            case "kill_thread": return PolicyAction.KillThread;
        }
        if (t.StartsWith("errno:", StringComparison.Ordinal))
            return new PolicyParser(null).ParseActionText($"errno({t[6..]})", origin);
        if (t.StartsWith("SCMP_ACT_", StringComparison.Ordinal))
        {
            // OCI's names (runtime-spec config-linux.md); SCMP_ACT_ERRNO and SCMP_ACT_TRACE take errnoRet, EPERM by default.
            return t switch
            {
                "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => PolicyAction.KillThread,
                "SCMP_ACT_KILL_PROCESS" => PolicyAction.KillProcess,
                "SCMP_ACT_TRAP" => PolicyAction.Trap(),
                "SCMP_ACT_ERRNO" => PolicyAction.Errno(1),
                "SCMP_ACT_TRACE" => PolicyAction.Trace(1),
                "SCMP_ACT_LOG" => PolicyAction.Log,
                "SCMP_ACT_ALLOW" => PolicyAction.Allow,
                "SCMP_ACT_NOTIFY" => PolicyAction.UserNotif,
                _ => null,
            };
        }
        // The kernel's names as seccompkit prints actions (ERRNO(EPERM), KILL_PROCESS, TRAP(5)).
        if (t.Length > 0 && char.IsAsciiLetterUpper(t[0]) && ActionNames.TryParseValue(t, out uint value) && PolicyAction.TryFromReturnValue(value, out var action))
            return action;
        return null;
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
