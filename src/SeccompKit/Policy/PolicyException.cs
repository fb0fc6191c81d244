namespace SeccompKit.Policy;

/// <summary>
/// A policy that cannot be built: an invalid rule, an unknown name, a bad file. <see cref="Location"/>
/// says where, as data (the rule, argument or statement, and the JSON path or <c>file:line:column</c> once known),
/// <see cref="Problem"/> what is wrong and <see cref="Hint"/> what to do.
/// </summary>
public class PolicyException : SeccompException
{
    /// <summary>Creates an exception whose message says both what is wrong and what to do; the location, when given, prefixes the message.</summary>
    public PolicyException(string message, PolicyLocation? location = null)
        : this(message, message, null, location, null) { }

    /// <summary>Creates an exception from a problem statement and a separate hint (what to do); the message is <c>location: problem; hint</c>.</summary>
    public PolicyException(string problem, string? hint, PolicyLocation? location)
        : this(Join(problem, hint), problem, hint, location, null) { }

    /// <summary>For subclasses: <paramref name="reason"/> is the whole message after the location.</summary>
    protected PolicyException(string reason, string problem, string? hint, PolicyLocation? location, Exception? inner)
        : base(location is null ? reason : $"{location}: {reason}", inner!)
    {
        Location = location;
        Reason = reason;
        Problem = problem;
        Hint = hint;
    }

    /// <summary>Where the problem is, if known; its <see cref="PolicyLocation.ToString"/> is the message's prefix.</summary>
    public PolicyLocation? Location { get; }

    /// <summary>The message without the location prefix.</summary>
    public string Reason { get; }

    /// <summary>The one-line problem statement, without location or hint.</summary>
    public string Problem { get; }

    /// <summary>What to do about it, when given apart from the problem.</summary>
    public string? Hint { get; }

    /// <summary>
    /// The same problem and hint at a more precise location (a frontend placing a rule the model refused in its input);
    /// this exception becomes the inner one.
    /// </summary>
    public PolicyException At(PolicyLocation location) => new(Join(Problem, Hint), Problem, Hint, location, this);

    private static string Join(string problem, string? hint) => hint is null ? problem : $"{problem}; {hint}";
}

/// <summary>How serious a <see cref="PolicyDiagnostic"/> is.</summary>
public enum DiagnosticSeverity
{
    /// <summary>Worth knowing; nothing changes meaning.</summary>
    Info,
    /// <summary>Part of the input was skipped or does not do what it seems to do.</summary>
    Warning,
}

/// <summary>
/// A note produced while reading or resolving a policy, for example an OCI rule naming a syscall no
/// architecture of the filter has, which runc skips.
/// </summary>
/// <param name="Severity">How serious it is.</param>
/// <param name="Location">Where (JSON path or file:line:column).</param>
/// <param name="Message">What happened and what to do.</param>
public sealed record PolicyDiagnostic(DiagnosticSeverity Severity, string Location, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{(Severity == DiagnosticSeverity.Warning ? "warning" : "note")}: {Location}: {Message}";
}
