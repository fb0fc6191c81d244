using System.Text.RegularExpressions;

namespace SeccompKit.Tests;

/// <summary>
/// Keeps the layers honest (STYLE.md) over the whole dependency graph, read from the built assemblies' metadata and IL
/// (<see cref="TypeGraph"/>): the pure core, the kernel layer and the CLI each in layers of folders, lowest first; a
/// type uses only types of its own unit, of a lower layer, or of a lower assembly. Every folder (and every type of a
/// project's root namespace) must be placed in exactly one layer, and a folder or type the rules name that no longer
/// exists fails, so the rules cannot rot. Constants (<c>const</c> fields) are compiled into their users and leave no
/// reference, so they are the one use this cannot see.
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

    /// <summary>
    /// A folder of a project (relative, "" for the project's root), all of its namespace's types or only the named ones
    /// (a project root holding types of different layers).
    /// </summary>
    private sealed record Unit(string Folder, params string[] Types)
    {
        public override string ToString() => Types.Length == 0 ? (Folder.Length == 0 ? "(root)" : Folder) : $"{(Folder.Length == 0 ? "(root)" : Folder)}: {string.Join(", ", Types)}";
    }

    /// <summary>Units at one height. Peers do not use each other unless <paramref name="Mutual"/>.</summary>
    private sealed record Layer(Unit[] Units, bool Mutual = false);

    /// <summary>A project (assembly) with its layers, lowest first. Projects are listed lowest first too.</summary>
    private sealed record Project(string Name, Layer[] Layers);

    private static Layer L(params string[] folders) => new([.. folders.Select(f => new Unit(f))]);

    private static readonly Project[] Projects =
    [
        // The pure core: the BPF machine knows nothing of syscalls, syscalls nothing of policies, policies nothing of
        // the compiler; the policy frontends sit above the model (the OCI exporter prints conditions as the policy
        // language does, the runtime data names OCI targets); learning synthesises, compiles and replays.
        new("SeccompKit",
        [
            L(""),                 // SeccompException, the root every layer's exception derives from
            L("Bpf"),
            L("Bpf/Optimization"),
            L("Syscalls"),         // with Syscalls/Generated, generated parts of the Syscalls types
            L("Policy"),
            L("Policy/Language"),
            L("Policy/Oci"),
            L("Policy/Runtimes"),
            L("Policy/Files"),     // loading any policy file: detects the format, then one of the frontends above
            L("Compiler/Lowering"),
            L("Compiler"),
            L("Analysis"),                                   // explain: symbolic exploration of a filter, the explained model, policy recovery
            L("Analysis/Diff", "Analysis/Lint", "Analysis/Graph"),  // peers: each may use Analysis and below, not each other
            L("Learning"),
            L("Agent"),            // the OCI seccomp agent's pure parts: payload, modes, configuration, profiles per mode
        ]),
        // The kernel layer: raw calls, then errno, handles and the checked kernel calls built on them; reading a
        // process (Inspect) and asking the kernel what it supports (KernelFeatures, whose StatusOf reads /proc);
        // the notification fd (Supervise) and the audit/process-connector sockets (Audit); launching a program under a
        // filter uses both; learning launches and supervises; Runtimes only asks which container runtimes are installed.
        new("SeccompKit.Linux",
        [
            L("Interop"),
            new([new Unit("", "Errno", "ErrnoException")]),
            L("SafeHandles"),
            L("Kernel"),
            L("Inspect"),
            L("Graphviz"),         // runs Graphviz's dot to render a graph
            new([new Unit("", "KernelFeatures", "SeccompFeatureSet", "NotifSizes")]),
            L("Audit", "Supervise"),
            L("Launch"),
            L("Learn", "Runtimes"),
            L("Agent"),            // the OCI seccomp agent: receives containers' listeners, learns, complains, supervises with handlers
        ]),
        // The CLI: input/output helpers below the commands; the commands and the app that registers them (and holds
        // their shared options) use each other, but a command never uses another command (CommandsUseNoOtherCommand).
        new("SeccompKit.Cli",
        [
            L("Io"),
            new([new Unit("Commands"), new Unit("", "CliApp", "RootHelpAction", "OutputFormat", "ExitCodes")], Mutual: true),
        ]),
    ];

    /// <summary>
    /// Uses that break a rule today, each with why. A listed use that no longer happens fails the test: delete it here.
    /// </summary>
    private static readonly (string From, string To, string Why)[] KnownExceptions =
    [
    ];

    private static readonly Lazy<Dictionary<string, TypeGraph>> Graphs = new(() =>
        Projects.ToDictionary(p => p.Name, p => TypeGraph.Read(AssemblyPath(p.Name))));

    private static string AssemblyPath(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        Assert.True(File.Exists(path), $"{path} is missing: SeccompKit.Tests.csproj copies the built {name}.dll next to the tests.");
        return path;
    }

    private static string ProjectDir(string project) => Path.Combine(Root, "src", project);

    private static string FolderOf(string project, string ns) =>
        ns == project ? "" : ns.StartsWith(project + ".", StringComparison.Ordinal) ? ns[(project.Length + 1)..].Replace('.', '/') : "?" + ns;

    /// <summary>Metadata names of generic types end in `N; source names do not.</summary>
    private static string Plain(string name) => name.Split('`')[0];

    /// <summary>(project index, layer index, unit) of a type, or null when no rule places it.</summary>
    private static (int Project, int Layer, Unit Unit)? Place(TypeName t)
    {
        for (int p = Projects.Length - 1; p >= 0; p--)
        {
            var project = Projects[p];
            if (t.Namespace != project.Name && !t.Namespace.StartsWith(project.Name + ".", StringComparison.Ordinal)) continue;
            string folder = FolderOf(project.Name, t.Namespace);
            for (int l = 0; l < project.Layers.Length; l++)
                foreach (var u in project.Layers[l].Units)
                    if (u.Folder == folder && (u.Types.Length == 0 || u.Types.Contains(Plain(t.Name))))
                        return (p, l, u);
            return null;
        }
        return null;
    }

    public static TheoryData<string> ProjectNames() => new(Projects.Select(p => p.Name));

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void Every_folder_and_type_the_rules_name_exists(string project)
    {
        var graph = Graphs.Value[project];
        var problems = new List<string>();
        foreach (var unit in Projects.Single(p => p.Name == project).Layers.SelectMany(l => l.Units))
        {
            var dir = Path.Combine(ProjectDir(project), unit.Folder);
            if (!Directory.Exists(dir) || !Directory.EnumerateFiles(dir, "*.cs").Any())
                problems.Add($"the rules name {Path.GetRelativePath(Root, dir)}, which no longer exists (or has no .cs file): update the layers in ArchitectureSpecs.");
            string ns = unit.Folder.Length == 0 ? project : $"{project}.{unit.Folder.Replace('/', '.')}";
            foreach (var type in unit.Types)
                if (!graph.Uses.Keys.Any(t => t.Namespace == ns && Plain(t.Name) == type))
                    problems.Add($"the rules name the type {ns}.{type}, which no longer exists: update the layers in ArchitectureSpecs.");
            if (unit.Types.Length == 0 && !graph.Uses.Keys.Any(t => t.Namespace == ns))
                problems.Add($"the rules name {ns}, which has no type left: update the layers in ArchitectureSpecs.");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void Every_type_is_placed_in_one_layer(string project)
    {
        var unplaced = Graphs.Value[project].Uses.Keys.Where(t => Place(t) is null).Select(t => t.ToString()).Order(StringComparer.Ordinal).ToList();
        Assert.True(unplaced.Count == 0,
            $"no layer of {project} holds these types; place their folder (or, in the project's root, the type) in ArchitectureSpecs:\n" + string.Join("\n", unplaced));
    }

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void No_type_uses_a_higher_layer_or_a_peer(string project)
    {
        var offenders = new List<string>();
        foreach (var (from, uses) in Graphs.Value[project].Uses)
        {
            if (Place(from) is not { } a) continue; // Every_type_is_placed_in_one_layer reports it
            foreach (var to in uses)
            {
                if (Place(to) is not { } b || IsKnownException(from, to)) continue;
                string? why =
                    b.Project > a.Project ? $"{Projects[b.Project].Name} is a higher assembly"
                    : b.Project < a.Project ? null
                    : b.Layer > a.Layer ? $"{b.Unit} is a higher layer than {a.Unit}"
                    : b.Layer == a.Layer && b.Unit != a.Unit && !Projects[a.Project].Layers[a.Layer].Mutual ? $"{b.Unit} is a peer of {a.Unit}"
                    : null;
                if (why is not null) offenders.Add($"{from} uses {to}: {why}");
            }
        }
        offenders.Sort(StringComparer.Ordinal);
        Assert.True(offenders.Count == 0, $"{project} reaches up:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void A_command_uses_no_other_command()
    {
        // A command is a type of Cli/Commands named *Command (one file each); the folder's other types are their shared options.
        static bool IsCommand(TypeName t) => t.Namespace == "SeccompKit.Cli.Commands" && t.Name.EndsWith("Command", StringComparison.Ordinal);
        var offenders = Graphs.Value["SeccompKit.Cli"].Uses
            .Where(p => IsCommand(p.Key))
            .SelectMany(p => p.Value.Where(t => IsCommand(t) && t != p.Key && !IsKnownException(p.Key, t)).Select(t => $"{p.Key.Name} uses {t.Name}"))
            .Order(StringComparer.Ordinal).ToList();
        Assert.True(offenders.Count == 0,
            "a command parses its options, makes one library call and renders the result; move shared work into the library or Cli/Io:\n" + string.Join("\n", offenders));
    }

    [Theory]
    [InlineData("SeccompKit", "SeccompKit.Policy.PolicyException", "SeccompKit.SeccompException")]                      // base type
    [InlineData("SeccompKit", "SeccompKit.Compiler.PolicyCompiler", "SeccompKit.Bpf.Optimization.BpfOptimizer")]       // a call in a method body
    [InlineData("SeccompKit.Linux", "SeccompKit.Linux.Kernel.SeccompKernel", "SeccompKit.Linux.Interop.Prctl")]        // a call to a nested interop class
    public void The_graph_sees_each_kind_of_use(string assembly, string from, string to) =>
        Assert.Contains(Graphs.Value[assembly].Uses.Single(p => p.Key.ToString() == from).Value, t => t.ToString() == to);

    [Fact]
    public void There_are_commands_to_check() =>
        Assert.True(Graphs.Value["SeccompKit.Cli"].Uses.Keys.Count(t => t.Namespace == "SeccompKit.Cli.Commands" && t.Name.EndsWith("Command", StringComparison.Ordinal)) >= 10);

    [Fact]
    public void Every_known_exception_still_happens()
    {
        var stale = KnownExceptions.Where(e => !Graphs.Value.Values.Any(g => g.Uses.Any(p => p.Key.ToString() == e.From && p.Value.Any(t => t.ToString() == e.To))))
            .Select(e => $"{e.From} -> {e.To} ({e.Why})").ToList();
        Assert.True(stale.Count == 0, "these known exceptions no longer happen; delete them from ArchitectureSpecs.KnownExceptions:\n" + string.Join("\n", stale));
    }

    private static bool IsKnownException(TypeName from, TypeName to) =>
        KnownExceptions.Any(e => e.From == from.ToString() && e.To == to.ToString());

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void A_files_namespace_is_its_folder(string project)
    {
        var dir = ProjectDir(project);
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(dir, file);
            if (rel.StartsWith("obj/", StringComparison.Ordinal) || rel.StartsWith("bin/", StringComparison.Ordinal)) continue;
            var folder = Path.GetDirectoryName(rel)!;
            // Generated/ holds generated parts (partial classes) of its parent folder's types: tools/GenerateSyscallTables.
            if (Path.GetFileName(folder) == "Generated") folder = Path.GetDirectoryName(folder)!;
            string expected = folder.Length == 0 ? project : $"{project}.{folder.Replace('/', '.')}";
            var declared = File.ReadLines(file).Select(l => FileNamespace().Match(l)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            if (declared is null && rel == "Program.cs") continue; // top-level statements: the entry point has no namespace
            if (declared != expected) offenders.Add($"{Path.GetRelativePath(Root, file)}: namespace {declared ?? "(none)"}, expected {expected}");
        }
        Assert.True(offenders.Count == 0, "a file's namespace is its folder path (so a namespace names the folder a rule is about):\n" + string.Join("\n", offenders));
    }

    [Theory]
    [InlineData("SeccompKit")]
    [InlineData("SeccompKit.Cli")]
    public void Only_SeccompKit_Linux_has_unsafe_code_or_native_imports(string project)
    {
        var offenders = Directory.EnumerateFiles(ProjectDir(project), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(t => UnsafeOrImport().IsMatch(t.line))
            .Select(t => $"{Path.GetRelativePath(Root, t.f)}:{t.i + 1}: {t.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "unsafe/P-Invoke outside SeccompKit.Linux:\n" + string.Join("\n", offenders));
        var csproj = File.ReadAllText(Directory.EnumerateFiles(ProjectDir(project), "*.csproj").Single());
        Assert.DoesNotContain("<AllowUnsafeBlocks>true", csproj);
        // The same, in what was built: the compiler marks an assembly built with unsafe code, and a native import is a method flag.
        var graph = Graphs.Value[project];
        Assert.False(graph.HasUnverifiableCode, $"{project}.dll was built with unsafe code allowed");
        Assert.True(graph.NativeImports.IsEmpty, $"{project}.dll imports native methods: {string.Join(", ", graph.NativeImports)}");
    }

    [Fact]
    public void The_kernel_layer_is_where_the_unsafe_code_is() =>
        // Guards the check above: the reader does see both marks where they are.
        Assert.True(Graphs.Value["SeccompKit.Linux"] is { HasUnverifiableCode: true, NativeImports.IsEmpty: false });

    [Fact]
    public void The_pure_core_references_no_other_project()
    {
        var csproj = File.ReadAllText(Path.Combine(ProjectDir("SeccompKit"), "SeccompKit.csproj"));
        Assert.DoesNotContain("ProjectReference", csproj);
        Assert.DoesNotContain("PackageReference", csproj);
        Assert.DoesNotContain(Graphs.Value["SeccompKit"].AssemblyReferences, r => r.StartsWith("SeccompKit", StringComparison.Ordinal));
        Assert.DoesNotContain("SeccompKit.Cli", Graphs.Value["SeccompKit.Linux"].AssemblyReferences);
    }

    // Unsafe.* and MemoryMarshal.* skip the runtime's bounds and type checks as surely as the unsafe keyword.
    [GeneratedRegex(@"^\s*(?!//).*\b(unsafe\s|DllImport|LibraryImport|Unsafe\.|MemoryMarshal\.)")]
    private static partial Regex UnsafeOrImport();

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;")]
    private static partial Regex FileNamespace();
}
