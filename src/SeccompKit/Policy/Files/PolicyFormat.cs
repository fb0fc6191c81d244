namespace SeccompKit.Policy.Files;

/// <summary>The formats a policy file can be in.</summary>
public enum PolicyFormat
{
    /// <summary>Decide from the content: JSON with <c>archMap</c> or <c>includes</c>/<c>excludes</c> is a Docker profile, other JSON is OCI (the seccomp object or a whole config.json), anything else is the SeccompKit language.</summary>
    Auto,
    /// <summary>OCI runtime-spec <c>linux.seccomp</c> (or a config.json holding it), read as runc reads it.</summary>
    Oci,
    /// <summary>A Docker/moby profile (archMap, includes/excludes), resolved as Docker does.</summary>
    Docker,
    /// <summary>A Docker-format profile resolved as podman (containers/common) does.</summary>
    Podman,
    /// <summary>The SeccompKit policy language.</summary>
    Policy,
}
