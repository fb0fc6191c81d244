using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using SeccompKit.Policy.Oci;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SeccompKit.TestKit;

/// <summary>
/// Offline schema checks of the Kubernetes objects SeccompKit writes, without a cluster: YAML read back by YamlDotNet (an
/// independent parser, YAML 1.2 core schema for plain scalars) and evaluated by JsonSchema.Net against the
/// security-profiles-operator CRD's <c>openAPIV3Schema</c> (data/k8s/seccompprofile-crd.yaml), made as strict as the API
/// server: an unknown field, which the server's structural pruning would silently drop, is an error here, and
/// <c>format: int64</c> is checked as a range (JSON Schema treats formats as annotations).
/// </summary>
public static class KubernetesSchemas
{
    private static readonly Lazy<JsonSchema> SpoSpecSchema = new(LoadSpoSchema);

    /// <summary>The CRD file copied into the repository.</summary>
    public static string SeccompProfileCrd => Repo.Path("data", "k8s", "seccompprofile-crd.yaml");

    /// <summary>Every YAML document of <paramref name="yaml"/> as JSON (plain scalars typed by the YAML 1.2 core schema).</summary>
    public static List<JsonNode?> YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => Convert(d.RootNode))];
    }

    /// <summary>
    /// Every way <paramref name="yaml"/> fails to be one SeccompProfile object the API server accepts as written:
    /// apiVersion and kind, metadata.name a DNS-1123 subdomain (and only name/namespace in metadata), spec valid against
    /// the CRD. Empty when valid. Each error names its place as a JSON pointer.
    /// </summary>
    public static List<string> SeccompProfileErrors(string yaml)
    {
        var errors = new List<string>();
        List<JsonNode?> docs;
        try { docs = YamlToJson(yaml); }
        catch (YamlException e) { return [$"not YAML: {e.Message}"]; }
        if (docs.Count != 1 || docs[0] is not JsonObject o) return [$"expected one YAML mapping, found {docs.Count} documents"];
        if ((string?)o["apiVersion"] != SpoProfile.ApiVersion) errors.Add($"/apiVersion: {o["apiVersion"]?.ToJsonString()}");
        if ((string?)o["kind"] != SpoProfile.Kind) errors.Add($"/kind: {o["kind"]?.ToJsonString()}");
        foreach (var key in o.Select(p => p.Key))
            if (key is not ("apiVersion" or "kind" or "metadata" or "spec")) errors.Add($"/{key}: not a field of SeccompProfile");
        if (o["metadata"] is not JsonObject meta) errors.Add("/metadata: missing");
        else
        {
            if (meta["name"] is not JsonValue n || n.GetValueKind() != JsonValueKind.String) errors.Add("/metadata/name: missing or not a string");
            else if (SpoProfile.NameProblem((string)n!) is { } why) errors.Add($"/metadata/name: {why}");
            foreach (var key in meta.Select(p => p.Key))
                if (key is not ("name" or "namespace")) errors.Add($"/metadata/{key}: unexpected");
        }
        if (o["spec"] is null) { errors.Add("/spec: missing"); return errors; }
        using var doc = JsonDocument.Parse(o["spec"]!.ToJsonString());
        var result = SpoSpecSchema.Value.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (!result.IsValid)
            foreach (var d in (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }))
                foreach (var (k, v) in d.Errors!)
                    errors.Add($"/spec{d.InstanceLocation}: {k}: {v}");
        if (!result.IsValid && errors.Count == 0) errors.Add("/spec: invalid (no detail)");
        return errors;
    }

    private static JsonSchema LoadSpoSchema()
    {
        var crd = YamlToJson(File.ReadAllText(SeccompProfileCrd)).Single()!;
        var version = crd["spec"]!["versions"]!.AsArray().Single(v => (string?)v!["name"] == "v1beta1")!;
        var spec = version["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!.DeepClone();
        Strict(spec);
        return JsonSchema.FromText(spec.ToJsonString());
    }

    /// <summary>What the API server does beyond plain JSON Schema: prune unknown fields (an error here) and hold int64.</summary>
    private static void Strict(JsonNode node)
    {
        if (node is JsonObject o)
        {
            if (o["properties"] is not null && o["additionalProperties"] is null) o["additionalProperties"] = false;
            if ((string?)o["format"] == "int64")
            {
                o["maximum"] = long.MaxValue;
                o["minimum"] ??= long.MinValue;
            }
            foreach (var child in o.Select(p => p.Value).ToList())
                if (child is not null) Strict(child);
        }
        else if (node is JsonArray a)
            foreach (var child in a)
                if (child is not null) Strict(child);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, Convert(p.Value)))),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(Convert)]),
        YamlScalarNode x => Scalar(x),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };

    // YAML 1.2 core schema for plain scalars; quoted scalars are strings.
    private static JsonNode? Scalar(YamlScalarNode x)
    {
        string v = x.Value ?? "";
        if (x.Style is not (ScalarStyle.Plain or ScalarStyle.Any)) return JsonValue.Create(v);
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (v is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (System.Text.RegularExpressions.Regex.IsMatch(v, "^[-+]?[0-9]+$"))
            return decimal.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n) : JsonValue.Create(v);
        if (System.Text.RegularExpressions.Regex.IsMatch(v, "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$"))
            return JsonValue.Create(double.Parse(v, CultureInfo.InvariantCulture));
        return JsonValue.Create(v);
    }
}
