using System.Globalization;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Inspect;

/// <summary>
/// What a thread was doing when <see cref="FilterDump"/> looked at it — read from <c>/proc/PID/task/TID</c>
/// (<c>status</c>, <c>syscall</c>, <c>wchan</c>, the descriptor of the call) without touching it — and what stopping it
/// would do.
/// </summary>
/// <param name="Tid">The thread id.</param>
/// <param name="Name">Its command name (<c>Name:</c>).</param>
/// <param name="State">Its state letter: R running, S sleeping, D uninterruptible, T stopped, t traced, Z zombie.</param>
/// <param name="Syscall">
/// The system call it sleeps in, by name (a number when the table has none), with its arguments' meaning where it
/// matters (e.g. <c>clock_nanosleep (relative)</c>); null when it runs or is not in a system call.
/// </param>
/// <param name="Forecast">What stopping it would do.</param>
/// <param name="Reason">Why, in a sentence (names the call and the kernel's restart code).</param>
public sealed record ThreadActivity(int Tid, string Name, char State, string? Syscall, InterruptionForecast Forecast, string Reason)
{
    /// <summary>How many seccomp filters the thread has (<c>Seccomp_filters:</c>); threads of one process can differ.</summary>
    public int SeccompFilters { get; init; }

    /// <summary>Its seccomp mode (<c>Seccomp:</c>: 0 disabled, 1 strict, 2 filter).</summary>
    public int SeccompMode { get; init; }

    /// <summary>The process tracing it, 0 when none (<c>TracerPid:</c>).</summary>
    public int TracerPid { get; init; }

    /// <summary>When it was read (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), for <see cref="DumpedThread.CheckToStop"/>.</summary>
    internal long ReadAt { get; init; }

    /// <summary>A short description: "sleeping in read", "running", "stopped".</summary>
    public string Doing => State switch
    {
        'Z' or 'X' => "exited",
        'T' => "stopped",
        't' => "stopped by its tracer",
        _ when Syscall is not null => $"{(State == 'D' ? "in uninterruptible sleep" : State == 'R' ? "in" : "sleeping")} in {Syscall}",
        'R' => "running",
        _ => "not in a system call",
    };

    /// <summary>"thread 1234 (name)".</summary>
    public override string ToString() => $"thread {Tid} ({Name})";
}

/// <summary>Reads <see cref="ThreadActivity"/> from <c>/proc</c>.</summary>
internal static class ThreadActivityReader
{
    /// <summary>The thread ids of process <paramref name="pid"/> (empty when it is gone).</summary>
    internal static IReadOnlyList<int> Threads(int pid)
    {
        try
        {
            return [.. Directory.EnumerateDirectories($"/proc/{Invariant(pid)}/task")
                .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int tid) ? tid : 0)
                .Where(tid => tid > 0)
                .Order()];
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException) { return []; }
    }

    /// <summary>
    /// The ABI of the process's executable (ELF class and machine of <c>/proc/PID/exe</c>), which gives the names of
    /// the numbers in <c>/proc/PID/task/TID/syscall</c>; x86_64 when it cannot be read.
    /// </summary>
    internal static Architecture AbiOf(int pid)
    {
        Span<byte> header = stackalloc byte[20];
        try
        {
            using var exe = File.OpenRead($"/proc/{Invariant(pid)}/exe");
            if (exe.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) return Architecture.X86_64;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Architecture.X86_64; }
        if (header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F') return Architecture.X86_64;
        int elfClass = header[4], machine = header[18] | header[19] << 8;
        return (elfClass, machine) switch
        {
            (1, 3) => Architecture.X86,        // ELFCLASS32, EM_386
            (1, 62) => Architecture.X32,       // ELFCLASS32, EM_X86_64
            _ => Architecture.X86_64,
        };
    }

    /// <summary>Reads thread <paramref name="tid"/> of process <paramref name="pid"/>; null when it is gone.</summary>
    internal static ThreadActivity? Read(int pid, int tid, Architecture abi)
    {
        string task = $"/proc/{Invariant(pid)}/task/{Invariant(tid)}";
        long readAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var status = ProcStatus.Read(tid);
        if (status is null || status.Tgid != pid) return null;
        string? syscallLine;
        try { syscallLine = File.ReadAllText($"{task}/syscall").Trim(); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (UnauthorizedAccessException)
        {
            // proc(5): reading /proc/PID/syscall needs the ptrace access that PTRACE_SEIZE needs, so attaching would
            // be refused too: say so before anything is done.
            throw TracerSession.SeizeFailed(tid, Errno.EPERM, $"reading {task}/syscall");
        }
        catch (IOException) when (!Directory.Exists(task)) { return null; }
        string waitChannel = ReadText($"{task}/wchan") ?? "";

        // proc(5): "running", "-1 SP PC" (blocked outside a system call), or "NR ARG1..ARG6 SP PC" in hex.
        var fields = syscallLine.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool running = fields.Length > 0 && fields[0] == "running";
        string? name = null;
        Span<ulong> args = stackalloc ulong[6];
        var file = FileKind.None;
        bool int80 = false;
        if (!running && fields.Length >= 7 && long.TryParse(fields[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long nr) && nr >= 0)
        {
            for (int i = 0; i < 6; i++) args[i] = Hex(fields[1 + i]);
            // A 64-bit program can still make i386 calls with int 0x80; /proc then shows the i386 number (and the
            // i386 argument registers). The two bytes before the return address tell: cd 80 is int 0x80.
            int80 = abi != Architecture.X86 && fields.Length >= 9 && IsInt80(pid, tid, Hex(fields[8]));
            name = NameOf(int80 ? Architecture.X86 : abi, (int)nr);
            if (Interruption.NeedsFileKind(name))
                file = Interruption.KindOfLink(ReadLink($"{task}/fd/{Invariant((long)args[0])}"));
        }
        var (forecast, reason) = Interruption.Forecast(status.State, running, name, args, file, waitChannel);
        string? described = Describe(name, args);
        return new ThreadActivity(tid, status.Name, status.State, int80 ? $"{described} (int 0x80)" : described, forecast, reason)
        {
            SeccompFilters = status.SeccompFilters,
            SeccompMode = status.Seccomp,
            TracerPid = status.TracerPid,
            ReadAt = readAt,
        };
    }

    /// <summary>
    /// True if the instruction before <paramref name="pc"/> is <c>int 0x80</c> (cd 80), read from <c>/proc/PID/task/TID/mem</c>
    /// (a read of the thread's memory, which does not stop or change it).
    /// </summary>
    private static bool IsInt80(int pid, int tid, ulong pc)
    {
        if (pc < 2 || pc > long.MaxValue) return false;
        Span<byte> code = stackalloc byte[2];
        try
        {
            using var mem = new FileStream($"/proc/{Invariant(pid)}/task/{Invariant(tid)}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            mem.Seek((long)pc - 2, SeekOrigin.Begin);
            return mem.ReadAtLeast(code, 2, throwOnEndOfStream: false) == 2 && code[0] == 0xcd && code[1] == 0x80;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The name of syscall <paramref name="nr"/> in <paramref name="abi"/>'s table (an x86_64 number with the x32 bit: x32's), or the number.</summary>
    internal static string NameOf(Architecture abi, int nr)
    {
        var table = abi == Architecture.X86_64 && (nr & Architecture.X32SyscallBit) != 0 ? Architecture.X32 : abi;
        return table.Syscalls.TryGetName(nr, out var name) ? name : $"syscall {Invariant(nr)}";
    }

    /// <summary>The call with the argument that decides its forecast, if any.</summary>
    private static string? Describe(string? name, ReadOnlySpan<ulong> args) => name switch
    {
        null => null,
        "clock_nanosleep" or "clock_nanosleep_time64" => $"{name} ({((args[1] & 1) != 0 ? "TIMER_ABSTIME" : "relative")})",
        "futex" or "futex_time64" => $"{name} (op {Invariant((long)(args[1] & 0x7f))}, {(args[3] == 0 ? "no timeout" : "with a timeout")})",
        _ => name,
    };

    private static ulong Hex(string s) =>
        ulong.TryParse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static string? ReadText(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The target of a symbolic link in /proc, or null when it cannot be read.</summary>
    internal static string? ReadLink(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
