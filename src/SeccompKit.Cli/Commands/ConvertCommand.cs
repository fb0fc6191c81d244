using System.CommandLine;
using SeccompKit.Cli.Io;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Commands;

/// <summary>What <c>convert</c> writes.</summary>
public enum ConvertTarget
{
    /// <summary>The policy language for JSON input, OCI JSON for policy-language input.</summary>
    Auto,
    /// <summary>OCI runtime-spec <c>linux.seccomp</c> JSON.</summary>
    Oci,
    /// <summary>The SeccompKit policy language (canonical, pretty-printed).</summary>
    Policy,
    /// <summary>A security-profiles-operator <c>SeccompProfile</c> object (YAML) whose spec is the OCI profile for <c>--for</c>.</summary>
    Spo,
    /// <summary>A kubelet Localhost profile: the OCI profile for <c>--for</c>, enforcing without an agent.</summary>
    Kubelet,
}

/// <summary><c>seccompkit convert FILE [--to oci|policy|spo|kubelet]</c>: between OCI/Docker JSON and the policy language, and to Kubernetes.</summary>
public static class ConvertCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var file = new Argument<string>("FILE") { Description = "Policy to convert: OCI JSON, a Docker/podman profile, or a .policy file; - for standard input" };
        var to = new Option<ConvertTarget>("--to") { Description = "auto (JSON becomes the policy language and back), oci, policy, spo (a security-profiles-operator SeccompProfile, YAML), kubelet (a Localhost profile for /var/lib/kubelet/seccomp)", DefaultValueFactory = _ => ConvertTarget.Auto };
        var name = new Option<string?>("--name") { Description = "metadata.name of the SeccompProfile (for --to spo; default: made from FILE's name)", HelpName = "NAME" };
        var ns = new Option<string?>("--namespace") { Description = "metadata.namespace of the SeccompProfile (for --to spo; default: none, kubectl's -n decides)", HelpName = "NAMESPACE" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write (default standard output)" };
        var force = OutputFile.ForceOption();
        var forRuntime = OciOutput.ForOption(" (for --to oci, spo and kubelet: the nodes' runtime)");
        var policy = new PolicyOptions();
        var cmd = new Command("convert",
            "Convert a policy between OCI JSON (what runc, crun and podman read), Docker profiles and the SeccompKit\n" +
            "policy language. The meaning is kept exactly: OCI and Docker input are read as runc and Docker read them\n" +
            "(skipped rules are reported on standard error), and a policy that OCI cannot express is refused with the\n" +
            "reason rather than changed. OCI is written for one runtime version (--for): only what it accepts, with a\n" +
            "warning for a meaning it drops (e.g. flags for runc 1.1) and every problem listed with its file:line. Printing the language is canonical, so converting twice gives the same text.\n\n" +
            "Examples:\n" +
            "  seccompkit convert docker-default.json > docker.policy        # resolved for x86_64 with default caps\n" +
            "  seccompkit convert docker.policy --to oci -o seccomp.json\n" +
            "  seccompkit convert app.policy --to oci --for crun@1.8.1        # only what crun 1.8.1 accepts\n" +
            "  seccompkit convert podman.json --from podman --cap CAP_SYS_ADMIN --to policy\n" +
            "  seccompkit convert app.policy --to policy                     # pretty-print\n" +
            "  seccompkit convert learned.json --to spo --name web -o web.yaml # kubectl apply -f web.yaml (security-profiles-operator)\n" +
            "  seccompkit convert learned.json --to kubelet -o /var/lib/kubelet/seccomp/web.json")
        { file, to, output, force, forRuntime, name, ns };
        foreach (var o in policy.All) cmd.Add(o);
        cmd.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(file);
            var destination = OutputFile.Check(parse.GetValue(output), parse.GetValue(force));
            var (p, format) = policy.Load(parse, path, console);
            var target = parse.GetValue(to);
            if (target == ConvertTarget.Auto) target = format == PolicyFormat.Policy ? ConvertTarget.Oci : ConvertTarget.Policy;
            bool quiet = parse.GetValue(policy.Quiet);
            if (target != ConvertTarget.Spo && (parse.GetValue(name) is not null || parse.GetValue(ns) is not null))
                throw new CliInputException("--name and --namespace name a SeccompProfile object; use them with --to spo", ExitCodes.Usage);
            string text = target switch
            {
                ConvertTarget.Oci => OciOutput.Export(p, OciOutput.Target(parse.GetValue(forRuntime), console, "convert"), console, "convert", quiet).Json,
                ConvertTarget.Kubelet => Reported(KubeletProfile.Export(p, OciOutput.Target(parse.GetValue(forRuntime), console, "convert")), quiet).Json,
                ConvertTarget.Spo => Spo(p, path, parse.GetValue(name), parse.GetValue(ns), OciOutput.Target(parse.GetValue(forRuntime), console, "convert"), quiet),
                _ => PolicyLanguage.Print(p),
            };
            if (!text.EndsWith('\n')) text += "\n";
            destination.Write(console, text);
            return ExitCodes.Success;
        });
        return cmd;

        OciExport Reported(OciExport export, bool quiet)
        {
            OciOutput.Report(export, console, "convert", quiet);
            return export;
        }

        string Spo(SeccompPolicy p, string path, string? name, string? ns, OciTarget target, bool quiet)
        {
            if (name is null)
            {
                if (path == "-") throw new CliInputException("--to spo needs --name NAME when the policy comes from standard input (metadata.name of the SeccompProfile)", ExitCodes.Usage);
                name = SpoProfile.NameFor(System.IO.Path.GetFileNameWithoutExtension(path));
                console.Error.WriteLine($"seccompkit: convert: note: metadata.name {name} (from {path}; --name NAME to choose)");
            }
            else if (SpoProfile.NameProblem(name) is { } why)
                throw new CliInputException($"--name {name}: {why}; e.g. --name {SpoProfile.NameFor(name)}", ExitCodes.Usage);
            var spo = SpoProfile.Export(p, name, target, ns);
            foreach (var d in spo.Diagnostics)
                if (!quiet || d.Severity == DiagnosticSeverity.Warning)
                    console.Error.WriteLine($"seccompkit: convert: {(d.Severity == DiagnosticSeverity.Warning ? "warning" : "note")}: for {target}: {d.Location}: {d.Message}");
            return spo.Yaml;
        }
    }
}
