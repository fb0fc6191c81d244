using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;

namespace SeccompKit.Cli.Io;

/// <summary>Actions typed on the command line, in the policy language's syntax (one syntax everywhere).</summary>
internal static class CliActions
{
    /// <summary>What every option that takes an action says in its help.</summary>
    public const string Syntax = "errno(EPERM), errno(EACCES), kill-process, kill-thread, trap, trap(N), log, allow";

    /// <summary>Reads <paramref name="text"/> as an action (<see cref="PolicyLanguage.ParseAction"/>); a bad one is a usage error naming <paramref name="option"/>.</summary>
    public static PolicyAction Parse(string text, string option)
    {
        try { return PolicyLanguage.ParseAction(text, option); }
        catch (PolicyParseException e)
        {
            throw new CliInputException($"{option} {text}: {e.Problem}; {e.Hint ?? $"write an action as in a policy: {Syntax}"}", ExitCodes.Usage);
        }
        catch (PolicyException e)
        {
            throw new CliInputException($"{option} {text}: {e.Reason}", ExitCodes.Usage);
        }
    }

    /// <summary>An errno for options that only take one: <c>EPERM</c>, <c>13</c>, or <c>errno(EPERM)</c>.</summary>
    public static PolicyAction ParseErrno(string text, string option)
    {
        string t = text.Trim();
        if (ErrnoNames.TryGetNumber(t.ToUpperInvariant(), out int n)) return PolicyAction.Errno(n);
        if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n) && n <= SeccompReturn.MAX_ERRNO)
            return PolicyAction.Errno(n);
        if (t.StartsWith("errno", StringComparison.OrdinalIgnoreCase) || t.StartsWith("ERRNO", StringComparison.Ordinal))
        {
            var a = Parse(t, option);
            if (a.Kind == SeccompAction.Errno) return a;
        }
        throw new CliInputException($"{option} {text}: not an errno: give a name (EPERM, EACCES, ENOSYS...), a number 0..4095, or errno(NAME)", ExitCodes.Usage);
    }
}
