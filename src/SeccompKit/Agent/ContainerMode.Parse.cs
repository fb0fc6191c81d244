using System.Text.RegularExpressions;

namespace SeccompKit.Agent;

public abstract partial record ContainerMode
{
    /// <summary>
    /// The grammar of a container's <c>listenerMetadata</c>, as messages show it:
    /// <c>learn | complain:NAME | supervise:NAME</c>, NAME = <c>[A-Za-z0-9][A-Za-z0-9_.-]*</c>.
    /// </summary>
    public const string Grammar = "learn | complain:NAME | supervise:NAME (NAME: a letter or digit, then letters, digits, '_', '.', '-')";

    /// <summary>
    /// The mode a container's <c>listenerMetadata</c> asks for: exactly <c>learn</c>, <c>complain:PROFILE</c> or
    /// <c>supervise:RULESET</c> (case-sensitive, no spaces). Absent metadata (the runtime leaves the field out when the
    /// config has no <c>listenerMetadata</c>, as it does for crun's <c>run.oci.seccomp.receiver</c> annotation unless the
    /// config also sets it) means <paramref name="defaultMode"/>, and is refused when there is none. Whether PROFILE or
    /// RULESET exist is the agent's configuration's business, not the grammar's.
    /// </summary>
    /// <exception cref="ContainerModeException">The metadata is not in the grammar, or absent with no default.</exception>
    public static ContainerMode Parse(string? metadata, ContainerMode? defaultMode)
    {
        if (metadata is null)
            return defaultMode ?? throw new ContainerModeException(
                $"the container's seccomp config has no listenerMetadata and the agent has no default mode; set linux.seccomp.listenerMetadata to {Grammar}, or give the agent a defaultMode in its --config");
        if (metadata == "learn") return new Learn();
        int colon = metadata.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            string kind = metadata[..colon], name = metadata[(colon + 1)..];
            if (kind is "complain" or "supervise")
            {
                if (!NamePattern().IsMatch(name))
                    throw new ContainerModeException($"listenerMetadata \"{AgentPayload.Shown(metadata)}\": \"{AgentPayload.Shown(name)}\" is not a {(kind == "complain" ? "profile" : "ruleset")} name; the grammar is {Grammar}");
                return kind == "complain" ? new Complain(name) : new Supervise(name);
            }
        }
        throw new ContainerModeException($"listenerMetadata \"{AgentPayload.Shown(metadata)}\" names no agent mode; the grammar is {Grammar}");
    }

    /// <summary>Is <paramref name="name"/> a valid profile or ruleset name?</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
