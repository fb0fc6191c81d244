namespace SeccompKit.Syscalls;

/// <summary>
/// An architecture name that SeccompKit does not know. The message lists the closest known names,
/// because architecture names come from users and OCI profiles, where typos are common.
/// </summary>
public sealed class UnknownArchitectureException : SeccompException
{
    /// <summary>Creates the exception for <paramref name="name"/> with the given suggestions.</summary>
    public UnknownArchitectureException(string name, IReadOnlyList<string> suggestions)
        : base(BuildMessage(name, suggestions))
    {
        Name = name;
        Suggestions = suggestions;
    }

    /// <summary>The name that was looked up.</summary>
    public string Name { get; }

    /// <summary>Up to three known names or aliases closest to <see cref="Name"/>, best first.</summary>
    public IReadOnlyList<string> Suggestions { get; }

    private static string BuildMessage(string name, IReadOnlyList<string> suggestions)
    {
        string known = string.Join(", ", Architecture.All.Select(a => a.Name));
        string hint = suggestions.Count > 0 ? $" Did you mean {Syscalls.Suggestions.OrList(suggestions)}?" : "";
        return $"Unknown architecture '{name}'.{hint} Known architectures (libseccomp names): {known}; " +
               "aliases such as i686, amd64, arm64 and OCI spellings such as SCMP_ARCH_X86_64 are accepted too.";
    }
}

/// <summary>
/// A syscall name that does not exist on the requested architecture. The message suggests close
/// names and says where else the syscall exists, since many syscalls (open, socket, ipc...) exist on
/// some tables only, and a policy written for x86_64 often names syscalls aarch64 never had.
/// </summary>
public sealed class UnknownSyscallException : SeccompException
{
    /// <summary>Creates the exception with a ready-made message.</summary>
    public UnknownSyscallException(string name, Architecture architecture, IReadOnlyList<string> suggestions, string message)
        : base(message)
    {
        Name = name;
        Architecture = architecture;
        Suggestions = suggestions;
    }

    /// <summary>The name that was looked up.</summary>
    public string Name { get; }

    /// <summary>The architecture whose table was searched.</summary>
    public Architecture Architecture { get; }

    /// <summary>Up to three syscall names of this architecture closest to <see cref="Name"/>, best first.</summary>
    public IReadOnlyList<string> Suggestions { get; }
}
