using System.CommandLine;
using System.Text.Json;
using SeccompKit.Cli.Io;
using SeccompKit.Linux;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit features</c>: what the running kernel's seccomp supports, asked of the kernel itself.</summary>
public static class FeaturesCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var format = CliApp.OutputFormatOption();
        var cmd = new Command("features",
            "Ask the running kernel what its seccomp supports: each action (SECCOMP_GET_ACTION_AVAIL), each filter flag\n" +
            "(SET_MODE_FILTER with a NULL program: EFAULT means known, EINVAL unknown; nothing is installed), the\n" +
            "user-notification struct sizes (SECCOMP_GET_NOTIF_SIZES) and which actions are logged (actions_logged).\n\n" +
            "Examples:\n" +
            "  seccompkit features\n" +
            "  seccompkit features --format json | jq '.flags'")
        { format };
        cmd.SetAction(parse =>
        {
            var f = KernelFeatures.Detect();
            if (parse.GetValue(format) == OutputFormat.Json)
            {
                var doc = new FeaturesJson(f.KernelRelease, f.Actions.ToDictionary(a => a.Name, a => a.Available), f.Flags.ToDictionary(x => FlagName(x.Flag), x => x.Supported),
                    f.NotifSizes is { } s ? new NotifSizesJson(s.Notif, s.Response, s.Data) : null, [.. f.ActionsLogged]);
                console.Out.WriteLine(JsonSerializer.Serialize(doc, CliJsonContext.Default.FeaturesJson));
                return ExitCodes.Success;
            }
            var o = console.Out;
            o.WriteLine($"kernel {f.KernelRelease}");
            o.WriteLine("actions:");
            foreach (var a in f.Actions) o.WriteLine($"  {a.Name,-14} {(a.Available ? "yes" : "no")}");
            o.WriteLine("filter flags:");
            foreach (var (flag, ok) in f.Flags) o.WriteLine($"  {FlagName(flag),-20} {(ok ? "yes" : "no")}");
            o.WriteLine(f.NotifSizes is { } n
                ? $"notification sizes: seccomp_notif {n.Notif}, seccomp_notif_resp {n.Response}, seccomp_data {n.Data}"
                : "notification sizes: none (user notification needs Linux 5.0)");
            o.WriteLine($"actions logged: {string.Join(' ', f.ActionsLogged)}");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static string FlagName(Linux.Kernel.SeccompFilterFlags flag) => flag switch
    {
        Linux.Kernel.SeccompFilterFlags.Tsync => "TSYNC",
        Linux.Kernel.SeccompFilterFlags.Log => "LOG",
        Linux.Kernel.SeccompFilterFlags.SpecAllow => "SPEC_ALLOW",
        Linux.Kernel.SeccompFilterFlags.NewListener => "NEW_LISTENER",
        Linux.Kernel.SeccompFilterFlags.TsyncEsrch => "TSYNC_ESRCH",
        Linux.Kernel.SeccompFilterFlags.WaitKillableRecv => "WAIT_KILLABLE_RECV",
        _ => flag.ToString(),
    };
}
