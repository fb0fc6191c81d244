using System.CommandLine;
using SeccompKit.Linux.Runtimes;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Io;

/// <summary>The <c>--for</c> option of the commands that write OCI profiles, and how they write one.</summary>
internal static class OciOutput
{
    /// <summary>The help text shared by every <c>--for</c>.</summary>
    public static string ForDescription(string extra = "") =>
        "The OCI runtime the profile is written for: runc or crun (the installed version, from RUNTIME --version), or RUNTIME@VERSION " +
        $"(runc@1.1.5, crun@1.8.1). Only what that version accepts is written; a meaning it drops is a warning, one it cannot run an error. Known: {OciTarget.KnownSummary}. " +
        $"Default: the installed runc, else {OciTarget.Default}" + extra;

    /// <summary>A new <c>--for</c> option.</summary>
    public static Option<string?> ForOption(string extra = "") => new("--for") { Description = ForDescription(extra), HelpName = "RUNTIME[@VERSION]" };

    /// <summary>
    /// The target <paramref name="forValue"/> names, or the default one (the installed runc if modelled, else
    /// <see cref="OciTarget.Default"/>; the reason is printed when it is not the installed runc).
    /// </summary>
    /// <exception cref="CliInputException">Unknown runtime or version (usage error, listing the known ones).</exception>
    public static OciTarget Target(string? forValue, ICliConsole console, string command)
    {
        if (forValue is null)
        {
            var (target, note) = InstalledRuntimes.Default();
            if (note is not null) console.Error.WriteLine($"seccompkit: {command}: note: {note}");
            return target;
        }
        try { return InstalledRuntimes.Parse(forValue); }
        catch (UnknownOciTargetException e) { throw new CliInputException($"--for {forValue}: {e.Message}", ExitCodes.Usage); }
    }

    /// <summary>
    /// Writes <paramref name="policy"/> as OCI JSON for <paramref name="target"/>, printing its warnings (and its notes unless
    /// <paramref name="quiet"/>) to standard error.
    /// </summary>
    /// <exception cref="OciExportException">The target cannot run the policy; the message lists every problem.</exception>
    public static OciExport Export(SeccompPolicy policy, OciTarget target, ICliConsole console, string command, bool quiet)
    {
        var export = OciExporter.Export(policy, target);
        Report(export, console, command, quiet);
        return export;
    }

    /// <summary>Prints an export's warnings (and notes unless <paramref name="quiet"/>).</summary>
    public static void Report(OciExport export, ICliConsole console, string command, bool quiet)
    {
        foreach (var d in export.Diagnostics)
            if (!quiet || d.Severity == DiagnosticSeverity.Warning)
                console.Error.WriteLine($"seccompkit: {command}: {(d.Severity == DiagnosticSeverity.Warning ? "warning" : "note")}: for {export.Target}: {d.Location}: {d.Message}");
    }
}
