using CsCheck;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Tests.Policy.Oci;

/// <summary>
/// Whatever text comes in, the OCI importer and the Docker resolver either succeed or throw a
/// <see cref="PolicyException"/> that says where (a JSON path or line/column) — never anything else.
/// </summary>
public class OciFuzzProperties
{
    private static readonly string[] Pieces =
    [
        "{", "}", "[", "]", ",", ":", "\"defaultAction\"", "\"SCMP_ACT_ERRNO\"", "\"SCMP_ACT_ALLOW\"", "\"SCMP_ACT_NOTIFY\"", "\"syscalls\"",
        "\"names\"", "\"read\"", "\"write\"", "\"action\"", "\"args\"", "\"index\"", "\"value\"", "\"valueTwo\"", "\"op\"", "\"SCMP_CMP_EQ\"",
        "\"SCMP_CMP_MASKED_EQ\"", "\"architectures\"", "\"SCMP_ARCH_X86\"", "\"flags\"", "\"errnoRet\"", "\"defaultErrnoRet\"", "\"listenerPath\"",
        "\"name\"", "\"includes\"", "\"caps\"", "\"minKernel\"", "\"4.8\"", "\"archMap\"", "null", "true", "0", "1", "6", "-1", "1.5", "1e3",
        "18446744073709551616", "\"\"", "\"x\"",
        // Valid JSON escapes .NET refuses to read as strings (lone surrogates) and ones it reads (a pair, an escaped backslash).
        "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud83d\\ude00\"", "\"\\\\ud800\"", "\"read\\ud800\"",
    ];

    private static readonly Gen<string> Tokens = Gen.Int[0, Pieces.Length - 1].Select(i => Pieces[i]).Array[0, 40].Select(a => string.Concat(a));

    /// <summary>Mutations of the real profiles: a character replaced, deleted or duplicated somewhere.</summary>
    private static readonly Gen<string> Mutated = Gen.Select(Gen.Int[0, 1], Gen.Int[0, 3], Gen.Double[0, 1], Gen.Char["{}[],:\"0123456789-.ae "])
        .Select((which, kind, at, c) =>
        {
            var s = which == 0 ? OciTestData.DockerDefault : OciTestData.PodmanDefault;
            int i = (int)(at * (s.Length - 1));
            return kind switch
            {
                0 => s.Remove(i, 1).Insert(i, c.ToString()),
                1 => s.Remove(i, 1),
                2 => s.Insert(i, c.ToString()),
                _ => s[..i],
            };
        });

    private static void OnlyLocatedPolicyExceptions(Action action)
    {
        try { action(); }
        catch (PolicyException e)
        {
            Assert.False(string.IsNullOrEmpty(e.Location?.ToString()), e.Message);
            Assert.False(string.IsNullOrWhiteSpace(e.Reason));
        }
    }

    [Fact]
    public void Random_token_soup_only_ever_fails_with_a_located_PolicyException()
    {
        Tokens.Sample(text =>
        {
            OnlyLocatedPolicyExceptions(() => OciImporter.Import(text));
            OnlyLocatedPolicyExceptions(() => DockerProfile.Resolve(text));
            OnlyLocatedPolicyExceptions(() => DockerProfile.Resolve(text, new() { Engine = DockerEngine.Podman }));
        }, iter: 5_000);
    }

    [Fact]
    public void Mutated_real_profiles_only_ever_fail_with_a_located_PolicyException()
    {
        Mutated.Sample(text =>
        {
            OnlyLocatedPolicyExceptions(() => DockerProfile.Resolve(text));
            OnlyLocatedPolicyExceptions(() => OciImporter.Import(text));
        }, iter: 300);
    }

    /// <summary>Structured random OCI objects with plausible and implausible values in every field.</summary>
    [Fact]
    public void Structured_random_oci_objects_import_or_fail_with_a_path()
    {
        var str = Gen.Int[0, Pieces.Length - 1].Select(i => Pieces[i]);
        var arg = Gen.Select(Gen.Int[0, 7], Gen.OneOf(Gen.Const("1"), Gen.Const("0"), Gen.Const("-3"), Gen.Const("18446744073709551615")), str)
            .Select((i, v, op) => $$"""{"index":{{i}},"value":{{v}},"valueTwo":1,"op":{{op}}}""");
        var entry = Gen.Select(str.Array[0, 3], str, arg.Array[0, 3])
            .Select((n, a, args) => $$"""{"names":[{{string.Join(",", n)}}],"action":{{a}},"args":[{{string.Join(",", args)}}]}""");
        var doc = Gen.Select(str, entry.Array[0, 5], str.Array[0, 2])
            .Select((d, es, arches) => $$"""{"defaultAction":{{d}},"architectures":[{{string.Join(",", arches)}}],"syscalls":[{{string.Join(",", es)}}]}""");
        doc.Sample(text => OnlyLocatedPolicyExceptions(() => OciImporter.Import(text)), iter: 5_000);
    }

    [Theory]
    [InlineData("\"\\ud800\"", "\"\\ufffd\"")]                        // a lone high surrogate
    [InlineData("\"\\udc00\"", "\"\\ufffd\"")]                        // a lone low surrogate
    [InlineData("\"\\ud800\\u0041\"", "\"\\ufffd\\u0041\"")]              // a high one followed by a non-surrogate escape
    [InlineData("\"\\ud800\\ud800\"", "\"\\ufffd\\ufffd\"")]              // two high ones
    [InlineData("\"\\ud83d\\ude00\"", "\"\\ud83d\\ude00\"")]              // a valid pair stays
    [InlineData("\"\\\\ud800\"", "\"\\\\ud800\"")]                      // an escaped backslash, then text: not an escape
    [InlineData("\"a\\\"\\ud800\"", "\"a\\\"\\ufffd\"")]                  // after an escaped quote, still in the string
    [InlineData("{\"\\udfff\": 1}", "{\"\\ufffd\": 1}")]                  // in a key
    public void Lone_surrogate_escapes_are_read_as_the_replacement_character_as_Go_reads_them(string json, string expected) =>
        Assert.Equal(expected, JsonWalker.ReplaceLoneSurrogateEscapes(json));

    [Fact]
    public void A_profile_with_a_lone_surrogate_in_a_syscall_name_names_an_unknown_syscall_at_its_json_path_as_runc_would()
    {
        // runc reads the name as U+FFFD and skips it as a syscall libseccomp does not know; so does the importer, with a note there.
        var (policy, diagnostics) = OciImporter.Import(
            """{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", "\ud800"], "action": "SCMP_ACT_ERRNO"}]}""");
        Assert.Equal("read", Assert.Single(policy.Rules).Syscall);
        var note = Assert.Single(diagnostics, d => d.ToString().Contains("$.syscalls[0].names[1]"));
        Assert.Contains("\ufffd", note.ToString());
    }
}
