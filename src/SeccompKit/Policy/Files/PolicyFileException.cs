namespace SeccompKit.Policy.Files;

/// <summary>
/// A policy file that cannot be read or does not hold a policy in a way no reader reports: missing, unreadable, a
/// config.json without <c>linux.seccomp</c>, options that do not apply to its format. <see cref="PolicyException.Location"/>
/// is the file.
/// </summary>
public sealed class PolicyFileException : PolicyException
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public PolicyFileException(string file, string message) : base(message, PolicyLocation.InFile(file)) { }
}
