using System.Text.RegularExpressions;

namespace SeccompKit.Tests;

/// <summary>
/// Keeps the layers honest (STYLE.md): Bpf → Syscalls → Policy → Compiler inside the pure core, no layer
/// reaching up, no unsafe code or P/Invoke outside SeccompKit.Linux.
/// </summary>
public sealed partial class ArchitectureSpecs
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SeccompKit.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (SeccompKit.slnx) above " + AppContext.BaseDirectory);
    }

    private static readonly string[] Layers = ["Bpf", "Syscalls", "Policy", "Compiler", "Learning"];

    public static TheoryData<string> LayerNames() => new(Layers);

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void A_core_layer_uses_no_layer_above_it(string layer)
    {
        int index = Array.IndexOf(Layers, layer);
        var above = Layers.Skip(index + 1).Select(l => "SeccompKit." + l).Append("SeccompKit.Linux").Append("SeccompKit.Cli").ToArray();
        var dir = Path.Combine(Root, "src", "SeccompKit", layer);
        if (!Directory.Exists(dir)) { Assert.DoesNotContain(layer, new[] { "Bpf", "Syscalls" }); return; }
        var offenders = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(t => above.Any(ns => Regex.IsMatch(t.line, $@"\b{Regex.Escape(ns)}\b")))
            .Select(t => $"{Path.GetRelativePath(Root, t.f)}:{t.i + 1}: {t.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, $"{layer} reaches up:\n" + string.Join("\n", offenders));
    }

    [Theory]
    [InlineData("src/SeccompKit")]
    [InlineData("src/SeccompKit.Cli")]
    public void Only_SeccompKit_Linux_has_unsafe_code_or_native_imports(string project)
    {
        var offenders = Directory.EnumerateFiles(Path.Combine(Root, project), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(t => UnsafeOrImport().IsMatch(t.line))
            .Select(t => $"{Path.GetRelativePath(Root, t.f)}:{t.i + 1}: {t.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "unsafe/P-Invoke outside SeccompKit.Linux:\n" + string.Join("\n", offenders));
        var csproj = File.ReadAllText(Directory.EnumerateFiles(Path.Combine(Root, project), "*.csproj").Single());
        Assert.DoesNotContain("<AllowUnsafeBlocks>true", csproj);
    }

    [Fact]
    public void The_pure_core_references_no_other_project()
    {
        var csproj = File.ReadAllText(Path.Combine(Root, "src", "SeccompKit", "SeccompKit.csproj"));
        Assert.DoesNotContain("ProjectReference", csproj);
        Assert.DoesNotContain("PackageReference", csproj);
    }

    // Unsafe.* and MemoryMarshal.* skip the runtime's bounds and type checks as surely as the unsafe keyword.
    [GeneratedRegex(@"^\s*(?!//).*\b(unsafe\s|DllImport|LibraryImport|Unsafe\.|MemoryMarshal\.)")]
    private static partial Regex UnsafeOrImport();
}
