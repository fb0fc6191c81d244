using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Runtimes;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Agent;

/// <summary>Where and how the learn and complain sessions write a container's result files.</summary>
internal static class ContainerResults
{
    /// <summary>
    /// The runtime the container's profile is written for: <paramref name="chosen"/>, else the installed version of the
    /// runtime that sent the listener (<see cref="AgentContainer.Runtime"/>), else the default target with a note saying so.
    /// </summary>
    public static (OciTarget Target, string? Note) Target(AgentContainer container, OciTarget? chosen)
    {
        if (chosen is not null) return (chosen, null);
        if (container.Runtime is { } runtime)
        {
            try { return (InstalledRuntimes.Parse(runtime), null); }
            catch (UnknownOciTargetException e)
            {
                var (fallback, _) = InstalledRuntimes.Default();
                return (fallback, $"the container's runtime {runtime} has no model here ({e.Message}); the profile is written for {fallback}");
            }
        }
        var (target, note) = InstalledRuntimes.Default();
        return (target, $"the process that sent the listener is neither runc nor crun, so the profile is written for {target}{(note is null ? "" : "; " + note)}");
    }

    /// <summary>
    /// <c>OUTPUT/ID.SUFFIX</c>. The agent accepts only ids that are safe file names (<c>[A-Za-z0-9][A-Za-z0-9_.-]{0,127}</c>);
    /// this checks again, since a wrong id here would write outside the output directory.
    /// </summary>
    public static string PathFor(AgentContainer container, string suffix)
    {
        string id = container.Id;
        if (id.Length == 0 || id.Length > 128 || !char.IsAsciiLetterOrDigit(id[0]) || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')))
            throw new InvalidOperationException($"the container id \"{id}\" is not a safe file name; the agent should have refused it");
        return Path.Combine(container.OutputDirectory, id + suffix);
    }

    /// <summary>Writes <paramref name="value"/> as indented JSON to <paramref name="path"/>, atomically, replacing an older result.</summary>
    public static void Write<T>(string path, T value, JsonTypeInfo<T> info)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, info);
        AtomicFile.Write(path, [.. bytes, (byte)'\n'], overwrite: true);
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/>, atomically, replacing an older result.</summary>
    public static void Write(string path, string text) =>
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(text.EndsWith('\n') ? text : text + "\n"), overwrite: true);
}
