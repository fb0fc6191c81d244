using System.Collections.Immutable;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.TestKit;

/// <summary>
/// The real profiles of the differential tests and the compiler benchmark: Docker's and podman's default
/// seccomp profiles (data/profiles, moby format) resolved for amd64 with each engine's default capabilities
/// by SeccompKit's importer. Covered ABIs: runc's list for amd64, x86_64 + x86 + x32. Shared with
/// bench/compiler (linked source file).
/// </summary>
public static class ProfilePolicies
{
    /// <summary>runc's ABI list for amd64.</summary>
    public static readonly Architecture[] Amd64Abis = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    /// <summary>The profile names and files the tests and benchmark use, with the engine's default capabilities.</summary>
    public static readonly (string Name, string File, string[] Caps)[] Profiles =
    [
        ("docker-default", "docker-default.json", [.. DockerProfile.DockerDefaultCapabilities]),
        ("podman-default", "podman-default.json", [.. DockerProfile.PodmanDefaultCapabilities]),
    ];

    /// <summary>data/profiles of the checkout (found above the running binary).</summary>
    public static string ProfileDirectory() => Repo.Path("data", "profiles");

    /// <summary>
    /// Loads one of <see cref="Profiles"/> by name through SeccompKit's importer
    /// (<see cref="DockerProfile.Resolve"/>: the engine's archMap/includes/excludes for amd64 and its default
    /// capabilities on this kernel, then runc's reading), without runc's ENOSYS cutoffs (a BPF patch runc
    /// applies after libseccomp, not something either compiler is asked to generate here).
    /// </summary>
    public static SeccompPolicy Load(string name) => LoadWithDiagnostics(name).Policy;

    /// <summary>Like <see cref="Load"/>, with the importer's diagnostics.</summary>
    public static (SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics) LoadWithDiagnostics(string name)
    {
        var (policy, notes) = LoadAsRunc(name);
        return (policy.WithEnosysAbove(new Dictionary<Architecture, uint>()), notes);
    }

    /// <summary>The profile as runc reads it, runc's ENOSYS cutoffs included (what <see cref="OciExporter"/> writes back).</summary>
    public static (SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics) LoadAsRunc(string name)
    {
        var (_, file, caps) = Profiles.Single(p => p.Name == name);
        var options = new DockerResolveOptions
        {
            Architecture = Architecture.X86_64,
            Capabilities = caps,
            Engine = name.StartsWith("podman", StringComparison.Ordinal) ? DockerEngine.Podman : DockerEngine.Moby,
            KernelVersion = Environment.OSVersion.Version.ToString(),
        };
        var (policy, notes) = DockerProfile.Resolve(File.ReadAllText(Path.Combine(ProfileDirectory(), file)), options);
        if (!policy.EffectiveArchitectures.OrderBy(a => a.Name).SequenceEqual(Amd64Abis.OrderBy(a => a.Name)))
            throw new InvalidDataException($"{name}: expected runc's amd64 ABIs x86_64, x86, x32, got {string.Join(", ", policy.EffectiveArchitectures)}");
        return (policy, notes);
    }
}
