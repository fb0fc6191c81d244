namespace SeccompKit.Agent;

/// <summary>
/// What the agent does with one container, chosen by the container's <c>listenerMetadata</c> (or crun's
/// <c>run.oci.seccomp.receiver</c> annotation): <see cref="Learn"/>, <see cref="Complain"/> or <see cref="Supervise"/>.
/// </summary>
public abstract partial record ContainerMode
{
    private protected ContainerMode() { }

    /// <summary>Record every notified call of the container's whole life and write the profile it needs on exit.</summary>
    public sealed record Learn : ContainerMode
    {
        /// <summary>"learn".</summary>
        public override string ToString() => "learn";
    }

    /// <summary>The container runs with what <paramref name="Profile"/> refuses notified; each would-be refusal is reported, with the patch.</summary>
    /// <param name="Profile">A profile name from the agent's configuration.</param>
    public sealed record Complain(string Profile) : ContainerMode
    {
        /// <summary>"complain:PROFILE".</summary>
        public override string ToString() => "complain:" + Profile;
    }

    /// <summary>The notified calls are decided by the handlers of <paramref name="Ruleset"/> (built in, configured, or registered by a library user).</summary>
    /// <param name="Ruleset">A ruleset name.</param>
    public sealed record Supervise(string Ruleset) : ContainerMode
    {
        /// <summary>"supervise:RULESET".</summary>
        public override string ToString() => "supervise:" + Ruleset;
    }
}
