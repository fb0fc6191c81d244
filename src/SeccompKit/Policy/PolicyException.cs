namespace SeccompKit.Policy;

/// <summary>
/// A policy that cannot be built: an invalid rule, an unknown name, a bad file. <see cref="Location"/>
/// says where (a JSON path such as <c>$.syscalls[3].args[0].op</c>, or <c>file:line:column</c>) and
/// the message says what to do.
/// </summary>
public class PolicyException : SeccompException
{
    /// <summary>Creates an exception; <paramref name="location"/> is prefixed to the message when given.</summary>
    public PolicyException(string message, string? location = null)
        : base(location is null ? message : $"{location}: {message}")
    {
        Location = location;
        Reason = message;
    }

    /// <summary>Where the problem is (JSON path or file:line:column), if known.</summary>
    public string? Location { get; }

    /// <summary>The message without the location prefix.</summary>
    public string Reason { get; }
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
