using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Fuzz;

/// <summary>What a seed is, which decides the readers it feeds and the format-aware mutations it gets.</summary>
public enum SeedKind
{
    /// <summary>An OCI, Docker or podman seccomp profile (JSON).</summary>
    PolicyJson,
    /// <summary>A policy in the policy language.</summary>
    PolicyText,
    /// <summary>A raw BPF program (8-byte <c>struct sock_filter</c> records).</summary>
    BpfRaw,
    /// <summary>A BPF listing as <c>disasm</c> writes it (readable or raw form).</summary>
    BpfText,
    /// <summary>The containerProcessState a runtime sends the agent with the listener.</summary>
    AgentPayload,
    /// <summary>An agent <c>--config</c> file.</summary>
    AgentConfig,
}

/// <summary>One seed: its name (the file, or what it was derived from), kind and bytes.</summary>
public sealed record Seed(string Name, SeedKind Kind, byte[] Bytes);

/// <summary>
/// The seed corpus: the repository's real inputs (profiles in data/ and samples/, policies in docs/, the audit filters,
/// the captured agent payloads and configurations in bench/fuzz/corpus/) and inputs derived from them (each profile
/// compiled to raw BPF and to both listing forms, and printed in the policy language).
/// </summary>
public sealed class Corpus
{
    private readonly Dictionary<SeedKind, List<Seed>> _byKind = [];

    /// <summary>Every seed.</summary>
    public List<Seed> Seeds { get; } = [];

    /// <summary>The seeds of <paramref name="kind"/>.</summary>
    public IReadOnlyList<Seed> Of(SeedKind kind) => _byKind.TryGetValue(kind, out var l) ? l : [];

    /// <summary>A random seed of <paramref name="kind"/> (any seed if there is none).</summary>
    public Seed OfKind(SeedKind kind, Random rng) => _byKind.TryGetValue(kind, out var l) && l.Count > 0 ? l[rng.Next(l.Count)] : Any(rng);

    /// <summary>A random seed.</summary>
    public Seed Any(Random rng) => Seeds[rng.Next(Seeds.Count)];

    /// <summary>Adds a seed.</summary>
    public void Add(Seed seed)
    {
        Seeds.Add(seed);
        if (!_byKind.TryGetValue(seed.Kind, out var l)) _byKind[seed.Kind] = l = [];
        l.Add(seed);
    }

    /// <summary>The repository root (the directory holding SeccompKit.slnx above <paramref name="from"/>).</summary>
    public static string FindRepo(string from)
    {
        for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeccompKit.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"SeccompKit.slnx was not found above {from}; run the fuzzer from a SeccompKit checkout or pass --repo");
    }

    /// <summary>Loads the seeds of the checkout at <paramref name="repo"/>, in a fixed order (the campaign is deterministic given its seed).</summary>
    public static Corpus Load(string repo)
    {
        var c = new Corpus();
        void AddFiles(string dir, string pattern, SeedKind? kind)
        {
            var full = Path.Combine(repo, dir);
            if (!Directory.Exists(full)) return;
            foreach (var f in Directory.GetFiles(full, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var bytes = File.ReadAllBytes(f);
                var k = kind ?? Classify(f, bytes);
                if (k is { } known) c.Add(new Seed(Path.GetRelativePath(repo, f), known, bytes));
            }
        }
        AddFiles("data/profiles", "*.json", SeedKind.PolicyJson);
        AddFiles("samples", "*.json", SeedKind.PolicyJson);
        AddFiles("docs", "*.policy", SeedKind.PolicyText);
        AddFiles("bench/audit-compare/filters", "*.asm", SeedKind.BpfText);
        AddFiles("bench/audit-compare/filters", "*.json", SeedKind.PolicyJson);
        AddFiles("bench/data", "*.bpf", SeedKind.BpfRaw);
        AddFiles("bench/fuzz/corpus", "*", null);
        // Policy-language examples from the language reference: each fenced block that parses is a seed.
        var reference = Path.Combine(repo, "docs", "POLICY-LANGUAGE.md");
        if (File.Exists(reference))
        {
            int n = 0;
            foreach (var block in FencedBlocks(File.ReadAllText(reference)))
            {
                try { PolicyLanguage.Parse(block); }
                catch (SeccompException) { continue; }
                c.Add(new Seed($"docs/POLICY-LANGUAGE.md block {++n}", SeedKind.PolicyText, Encoding.UTF8.GetBytes(block)));
            }
        }
        if (c.Of(SeedKind.PolicyJson).Count == 0)
            throw new InvalidOperationException($"no profiles found under {repo}/data/profiles; is --repo a SeccompKit checkout?");
        Derive(c);
        return c;
    }

    private static SeedKind? Classify(string path, byte[] bytes) => Path.GetExtension(path) switch
    {
        ".policy" => SeedKind.PolicyText,
        ".bpf" => SeedKind.BpfRaw,
        ".asm" or ".txt" => SeedKind.BpfText,
        ".raw" => SeedKind.AgentPayload,
        ".json" when Path.GetFileName(path).StartsWith("agent-config", StringComparison.Ordinal) => SeedKind.AgentConfig,
        ".json" when Path.GetFileName(path).StartsWith("payload", StringComparison.Ordinal) => SeedKind.AgentPayload,
        ".json" => SeedKind.PolicyJson,
        _ => null,
    };

    private static IEnumerable<string> FencedBlocks(string markdown)
    {
        var lines = markdown.Split('\n');
        StringBuilder? block = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (block is null) block = new StringBuilder();
                else { yield return block.ToString(); block = null; }
            }
            else block?.Append(line).Append('\n');
        }
    }

    /// <summary>Compiles each profile and policy seed: raw BPF, both listing forms, and the policy-language text.</summary>
    private static void Derive(Corpus c)
    {
        var symbols = new SyscallSymbols();
        foreach (var seed in c.Seeds.Where(s => s.Kind is SeedKind.PolicyJson or SeedKind.PolicyText).ToList())
        {
            try
            {
                var text = Encoding.UTF8.GetString(seed.Bytes);
                var policy = seed.Kind == SeedKind.PolicyText
                    ? PolicyLanguage.Parse(text, seed.Name, new InMemoryIncludeResolver(new Dictionary<string, string>()))
                    : PolicyFile.Parse(text, seed.Name, new PolicyFileOptions { Kernel = PolicyFile.Detect(text) is PolicyFormat.Docker or PolicyFormat.Podman ? "6.8" : null }).Policy;
                var ins = PolicyCompiler.Compile(policy).Program.Instructions.AsSpan();
                c.Add(new Seed(seed.Name + " compiled", SeedKind.BpfRaw, BpfProgram.ToRaw(ins)));
                c.Add(new Seed(seed.Name + " disasm", SeedKind.BpfText, Encoding.UTF8.GetBytes(Disassembler.Disassemble(ins, symbols))));
                c.Add(new Seed(seed.Name + " disasm --raw", SeedKind.BpfText, Encoding.UTF8.GetBytes(Disassembler.DisassembleRaw(ins))));
                if (seed.Kind == SeedKind.PolicyJson)
                    c.Add(new Seed(seed.Name + " as policy", SeedKind.PolicyText, Encoding.UTF8.GetBytes(PolicyLanguage.Print(policy))));
            }
            catch (SeccompException) { } // a seed the host cannot compile (e.g. another arch only) stays a plain seed
        }
    }
}
