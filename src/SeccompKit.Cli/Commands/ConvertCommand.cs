using System.CommandLine;
using SeccompKit.Cli.Io;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;

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
}

/// <summary><c>seccompkit convert FILE [--to oci|policy]</c>: between OCI/Docker JSON and the policy language.</summary>
public static class ConvertCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var file = new Argument<string>("FILE") { Description = "Policy to convert: OCI JSON, a Docker/podman profile, or a .policy file; - for standard input" };
        var to = new Option<ConvertTarget>("--to") { Description = "auto (JSON becomes the policy language and back), oci, policy", DefaultValueFactory = _ => ConvertTarget.Auto };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write (default standard output)" };
        var force = OutputFile.ForceOption();
        var forRuntime = OciOutput.ForOption(" (for --to oci)");
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
            "  seccompkit convert app.policy --to policy                     # pretty-print")
        { file, to, output, force, forRuntime };
        foreach (var o in policy.All) cmd.Add(o);
        cmd.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(file);
            var destination = OutputFile.Check(parse.GetValue(output), parse.GetValue(force));
            var (p, format) = policy.Load(parse, path, console);
            var target = parse.GetValue(to);
            if (target == ConvertTarget.Auto) target = format == PolicyFormat.Policy ? ConvertTarget.Oci : ConvertTarget.Policy;
            string text = target == ConvertTarget.Oci
                ? OciOutput.Export(p, OciOutput.Target(parse.GetValue(forRuntime), console, "convert"), console, "convert", parse.GetValue(policy.Quiet)).Json
                : PolicyLanguage.Print(p);
            if (!text.EndsWith('\n')) text += "\n";
            destination.Write(console, text);
            return ExitCodes.Success;
        });
        return cmd;
    }
}
