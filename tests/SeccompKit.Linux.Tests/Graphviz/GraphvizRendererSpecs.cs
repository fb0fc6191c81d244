using System.Text;
using System.Xml.Linq;
using SeccompKit.Analysis.Graph;
using SeccompKit.Linux.Graphviz;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;

namespace SeccompKit.Linux.Tests.Graphviz;

/// <summary>
/// The DOT that <see cref="FilterGraph"/> writes is accepted by Graphviz's own parser and renders to well-formed SVG
/// holding every node and edge of the layout, for real filters of every kind; and the renderer fails with what to do
/// when Graphviz is missing, fails or hangs. Graphviz is installed by .ci/run (apt-get install graphviz).
/// </summary>
public sealed class GraphvizRendererSpecs
{
    private static readonly SyscallSymbols Symbols = new();

    public static TheoryData<string> Corpus => new(FilterCorpus.Names);

    private static XDocument Svg(byte[] bytes)
    {
        var doc = XDocument.Parse(Encoding.UTF8.GetString(bytes));
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        return doc;
    }

    private static int CountClass(XDocument svg, string cls) =>
        svg.Descendants().Count(e => e.Name.LocalName == "g" && (string?)e.Attribute("class") == cls);

    [Theory]
    [MemberData(nameof(Corpus))]
    public void A_real_filters_DOT_renders_to_SVG_with_every_node_and_edge(string name)
    {
        var program = FilterCorpus.Get(name);
        var graph = FilterGraph.Build([program], Symbols);
        // Shared leaves pull every branch to a few nodes: dot needs minutes for that on libseccomp's 1,429-instruction
        // long-jumps test filter, so the variant is rendered on the shorter filters only.
        var variants = program.Length < 1000
            ? new[] { new GraphOptions(), new GraphOptions { Leaves = LeafStyle.Shared, Direction = GraphDirection.TopDown } }
            : [new GraphOptions()];
        foreach (var options in variants)
        {
            var (nodes, edges) = graph.Layout(options);
            // Layout takes 12 s for the longest filter on an idle 2-core machine; a loaded CI host may take many times that.
            var svg = Svg(GraphvizRenderer.Render(graph.ToDot(options), "svg", TimeSpan.FromMinutes(10)));
            Assert.Equal(nodes.Length, CountClass(svg, "node"));
            Assert.Equal(edges.Length, CountClass(svg, "edge"));
        }
    }

    [Fact]
    public void A_stack_renders_one_cluster_per_filter()
    {
        var graph = FilterGraph.Build([FilterCorpus.Get("st/misc_alu.bpf"), FilterCorpus.Get("lsc/02-sim-basic.x86_64.bpf"), FilterCorpus.Get("podman-default")], Symbols);
        var svg = Svg(GraphvizRenderer.Render(graph.ToDot(), "svg"));
        Assert.Equal(3, CountClass(svg, "cluster"));
        Assert.Equal(graph.Layout().Nodes.Length, CountClass(svg, "node"));
    }

    [Fact]
    public void Dot_refusing_the_text_fails_with_its_message()
    {
        var e = Assert.Throws<GraphvizException>(() => GraphvizRenderer.Render("digraph { a -> }", "svg"));
        Assert.Contains("failed (exit status", e.Message);
        Assert.Contains("syntax error", e.Message);
    }

    [Fact]
    public void A_missing_graphviz_says_how_to_install_it()
    {
        var e = Assert.Throws<GraphvizException>(() => GraphvizRenderer.Render("digraph { a }", "svg", program: "/nonexistent/dot"));
        Assert.Contains("apt-get install graphviz", e.Message);
        Assert.Contains("--format dot", e.Message);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_layout_that_does_not_finish_in_time_is_stopped()
    {
        string dir = Path.Combine(Path.GetTempPath(), "seccompkit-graphviz-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dir);
        try
        {
            // A stand-in for a dot that never finishes: reads nothing, sleeps.
            string slow = Path.Combine(dir, "dot");
            File.WriteAllText(slow, "#!/bin/sh\nexec sleep 60\n");
            File.SetUnixFileMode(slow, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var e = Assert.Throws<GraphvizException>(() => GraphvizRenderer.Render("digraph { a }", "svg", TimeSpan.FromSeconds(1), slow));
            Assert.Contains("did not finish within 1 s", e.Message);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"the renderer waited {started.Elapsed} for a stopped dot");
        }
        finally { Directory.Delete(dir, true); }
    }
}
