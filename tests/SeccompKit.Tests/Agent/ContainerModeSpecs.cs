using SeccompKit.Agent;

namespace SeccompKit.Tests.Agent;

/// <summary>The documented grammar of <c>listenerMetadata</c>: <c>learn | complain:NAME | supervise:NAME</c>.</summary>
public sealed class ContainerModeSpecs
{
    public static TheoryData<string, string> Accepted() => new()
    {
        { "learn", "learn" },
        { "complain:web", "complain:web" },
        { "complain:Web_2.1-x", "complain:Web_2.1-x" },
        { "supervise:devices", "supervise:devices" },
        { "supervise:0", "supervise:0" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Metadata_in_the_grammar_names_its_mode(string metadata, string shown) =>
        Assert.Equal(shown, ContainerMode.Parse(metadata, null).ToString());

    [Fact]
    public void The_modes_are_the_right_records()
    {
        Assert.IsType<ContainerMode.Learn>(ContainerMode.Parse("learn", null));
        Assert.Equal(new ContainerMode.Complain("web"), ContainerMode.Parse("complain:web", null));
        Assert.Equal(new ContainerMode.Supervise("devices"), ContainerMode.Parse("supervise:devices", null));
    }

    public static TheoryData<string> Refused() =>
        ["", "Learn", "learn ", " learn", "learn:x", "complain", "complain:", "supervise:", "complain:.x", "complain:-x", "complain:a/b",
         "supervise:a b", "supervise:dev\n", "watch:x", ":x", "hello-metadata", "complain:ü"];

    [Theory]
    [MemberData(nameof(Refused))]
    public void Anything_else_is_refused_with_the_grammar(string metadata)
    {
        var e = Assert.Throws<ContainerModeException>(() => ContainerMode.Parse(metadata, new ContainerMode.Learn()));
        Assert.Contains("learn | complain:NAME | supervise:NAME", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Absent_metadata_means_the_default_mode()
    {
        var fallback = new ContainerMode.Supervise("devices");
        Assert.Same(fallback, ContainerMode.Parse(null, fallback));
    }

    [Fact]
    public void Absent_metadata_without_a_default_is_refused_with_both_fixes()
    {
        var e = Assert.Throws<ContainerModeException>(() => ContainerMode.Parse(null, null));
        Assert.Contains("listenerMetadata", e.Message, StringComparison.Ordinal);
        Assert.Contains("defaultMode", e.Message, StringComparison.Ordinal);
    }
}
