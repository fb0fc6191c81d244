using System.Globalization;

namespace SeccompKit.Linux.Inspect;

/// <summary>The lines of <c>/proc/PID/status</c> that reading another process's filters needs (proc(5)).</summary>
/// <param name="Name">The command name (<c>Name:</c>).</param>
/// <param name="State">The state letter (<c>State:</c>): R, S, D, T (stopped), t (tracing stop), Z (zombie), ...</param>
/// <param name="Tgid">The thread group (process) id (<c>Tgid:</c>).</param>
/// <param name="TracerPid">The tracer's PID, 0 when not traced (<c>TracerPid:</c>).</param>
/// <param name="EffectiveUid">The effective user id (second field of <c>Uid:</c>).</param>
/// <param name="CapEff">The effective capability set (<c>CapEff:</c>).</param>
/// <param name="Seccomp">The seccomp mode (<c>Seccomp:</c>).</param>
/// <param name="SeccompFilters">The number of filters attached (<c>Seccomp_filters:</c>, 5.9+; 0 when absent).</param>
internal sealed record ProcStatus(string Name, char State, int Tgid, int TracerPid, uint EffectiveUid, ulong CapEff, int Seccomp, int SeccompFilters)
{
    /// <summary>Signals the process ignores with SIG_IGN (<c>SigIgn:</c>; bit N-1 = signal N).</summary>
    internal ulong SigIgn { get; init; }

    /// <summary>Signals the process has handlers for (<c>SigCgt:</c>).</summary>
    internal ulong SigCgt { get; init; }

    /// <summary>
    /// True when delivering <paramref name="signal"/> does nothing: it is ignored with SIG_IGN, or has no handler and
    /// its default action is to ignore it (SIGCHLD, SIGCONT, SIGURG, SIGWINCH: signal(7)).
    /// </summary>
    internal bool Ignores(int signal)
    {
        if (signal is < 1 or > 64) return false;
        ulong bit = 1UL << (signal - 1);
        if ((SigIgn & bit) != 0) return true;
        return (SigCgt & bit) == 0 && signal is SIGCHLD or SIGCONT or SIGURG or SIGWINCH;
    }

    private const int SIGCHLD = 17, SIGCONT = 18, SIGURG = 23, SIGWINCH = 28;

    /// <summary>CAP_SYS_PTRACE: attach to any process.</summary>
    internal const int CAP_SYS_PTRACE = 19;

    /// <summary>CAP_SYS_ADMIN: needed by PTRACE_SECCOMP_GET_FILTER.</summary>
    internal const int CAP_SYS_ADMIN = 21;

    /// <summary>True if the effective set holds capability <paramref name="cap"/>.</summary>
    internal bool HasCapability(int cap) => (CapEff & (1UL << cap)) != 0;

    /// <summary>Reads <c>/proc/PID/status</c>; null when there is no such process (or thread).</summary>
    /// <exception cref="SeccompException">The file exists but cannot be read or lacks the <c>Seccomp:</c> line.</exception>
    internal static ProcStatus? Read(int pid)
    {
        string path = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status";
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        // A process that exits while the file is read makes the read fail with ESRCH.
        catch (IOException) when (!Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}")) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeccompException($"cannot read {path}: {e.Message}; is /proc mounted, and is process {pid} visible from here (same PID namespace)?", e);
        }
        string name = "";
        char state = '?';
        int tgid = pid, tracer = 0, seccomp = -1, filters = 0;
        uint euid = uint.MaxValue;
        ulong capEff = 0, sigIgn = 0, sigCgt = 0;
        foreach (var line in lines)
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string value = line[(colon + 1)..].Trim();
            switch (line[..colon])
            {
                case "Name": name = value; break;
                case "State": state = value.Length > 0 ? value[0] : '?'; break;
                case "Tgid": tgid = Int(value); break;
                case "TracerPid": tracer = Int(value); break;
                case "Uid": euid = uint.Parse(value.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture); break;
                case "CapEff": capEff = ulong.Parse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture); break;
                case "SigIgn": sigIgn = ulong.Parse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture); break;
                case "SigCgt": sigCgt = ulong.Parse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture); break;
                case "Seccomp": seccomp = Int(value); break;
                case "Seccomp_filters": filters = Int(value); break;
            }
        }
        if (seccomp < 0) throw new SeccompException($"{path} has no 'Seccomp:' line; this kernel lacks CONFIG_SECCOMP");
        return new ProcStatus(name, state, tgid, tracer, euid, capEff, seccomp, filters) { SigIgn = sigIgn, SigCgt = sigCgt };

        static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
    }
}
