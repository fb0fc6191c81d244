namespace SeccompKit.Policy.Language;

/// <summary>
/// Finds and reads the files a policy <c>include</c>s, so the parser itself never touches the file
/// system. Names are opaque to the parser: it only compares them (to find include cycles) and shows
/// them in error locations.
/// </summary>
public interface IPolicyIncludeResolver
{
    /// <summary>The canonical name of <paramref name="path"/> as written in an include in <paramref name="includingFile"/> (relative paths are relative to that file's directory).</summary>
    string Resolve(string includingFile, string path);

    /// <summary>The text of the file with canonical name <paramref name="name"/>, or null when it does not exist.</summary>
    string? Read(string name);
}

/// <summary>Includes from a dictionary of <c>/</c>-separated paths to texts; for tests and embedded policies.</summary>
public sealed class InMemoryIncludeResolver : IPolicyIncludeResolver
{
    private readonly IReadOnlyDictionary<string, string> _files;

    /// <summary>Creates a resolver over <paramref name="files"/> (keys are normalized paths such as <c>policies/common.policy</c>).</summary>
    public InMemoryIncludeResolver(IReadOnlyDictionary<string, string> files) => _files = files;

    /// <inheritdoc/>
    public string Resolve(string includingFile, string path)
    {
        if (path.StartsWith('/')) return Normalize(path);
        int slash = includingFile.LastIndexOf('/');
        return Normalize(slash < 0 ? path : includingFile[..(slash + 1)] + path);
    }

    /// <inheritdoc/>
    public string? Read(string name) => _files.TryGetValue(name, out var t) ? t : null;

    /// <summary>Removes <c>.</c> and <c>x/..</c> segments and doubled slashes.</summary>
    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var p in path.Split('/'))
        {
            if (p is "" or ".") continue;
            if (p == ".." && parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
            else parts.Add(p);
        }
        return (path.StartsWith('/') ? "/" : "") + string.Join('/', parts);
    }
}

/// <summary>Includes from the file system; relative includes are relative to the including file's directory.</summary>
public sealed class FileSystemIncludeResolver : IPolicyIncludeResolver
{
    /// <inheritdoc/>
    public string Resolve(string includingFile, string path) =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(includingFile)) ?? ".", path));

    /// <inheritdoc/>
    /// <exception cref="InputFileException">It is a directory, too large, endless, or cannot be read (<see cref="InputFile"/>).</exception>
    public string? Read(string name) => File.Exists(name) || Directory.Exists(name) ? InputFile.ReadAllText(name) : null;
}
