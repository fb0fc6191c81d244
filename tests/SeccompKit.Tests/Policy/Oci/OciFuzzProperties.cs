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
}
