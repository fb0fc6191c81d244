using System.Globalization;
using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// The environment of stage two, and the program's. Stage two is a .NET process that never shuts down: it execve's
/// the program. A runtime that started its diagnostics therefore never removes what it created for them, and a JIT
/// (CoreCLR) runtime creates, in $TMPDIR or /tmp: the debugger transport pipes <c>clr-debug-pipe-PID-KEY-in/out</c>
/// (the debugger's runtime controller) and the diagnostic IPC socket <c>dotnet-diagnostic-PID-KEY-socket</c> (the
/// diagnostic server of dotnet-trace, -counters, -dump), both unlinked only at a clean runtime shutdown. So stage two
/// starts with the runtime settings below, and the program still gets exactly the caller's environment: the parent
/// takes the caller's own entries for those names out of stage two's environment and passes them, with their
/// positions, as one argument; stage two removes the settings and puts the caller's entries back where they were.
/// A NativeAOT stage two creates neither file here and ignores the settings; it goes through the same steps.
/// </summary>
internal static class StageEnvironment
{
    /// <summary>
    /// The settings stage two runs with, whatever the caller set. Each name is given with the DOTNET_ prefix, which the
    /// runtime reads before the legacy COMPlus_ one, so a caller's COMPlus_ value cannot undo it.
    /// </summary>
    private static readonly string[] Settings =
    [
        // Turns off the debugger (its clr-debug-pipe-* FIFOs), profiler attach and the diagnostic server (its
        // dotnet-diagnostic-*-socket, and DOTNET_DiagnosticPorts, which can suspend start-up until a tool connects).
        // The narrower DOTNET_EnableDiagnostics_IPC/_Debugger/_Profiler cannot turn these on against it.
        "DOTNET_EnableDiagnostics=0",
        // A caller's DOTNET_PerfMapEnabled=1 would make stage two write /tmp/perf-PID.map, which perf would then read
        // as the symbols of the program that takes over the pid.
        "DOTNET_PerfMapEnabled=0",
    ];

    /// <summary>No entry of the caller's to put back.</summary>
    private const string NothingToRestore = "-";

    /// <summary>
    /// Stage two's environment: <paramref name="caller"/> without its entries for the settings' names, then the settings;
    /// and the argument that tells stage two which entries to put back where: <c>-</c>, or <c>INDEX:HEX</c> items joined
    /// by commas (the entry's position in the caller's environment and its bytes; hex because entries need not be UTF-8).
    /// </summary>
    internal static (List<byte[]> Stage, string Restore) ForStage(IReadOnlyList<byte[]> caller)
    {
        var stage = new List<byte[]>(caller.Count + Settings.Length);
        var restore = new List<string>();
        for (int i = 0; i < caller.Count; i++)
        {
            if (IsSetting(caller[i]))
                restore.Add(i.ToString(CultureInfo.InvariantCulture) + ":" + Convert.ToHexString(caller[i]));
            else
                stage.Add(caller[i]);
        }
        foreach (var setting in Settings) stage.Add(System.Text.Encoding.ASCII.GetBytes(setting));
        return (stage, restore.Count == 0 ? NothingToRestore : string.Join(',', restore));
    }

    /// <summary>
    /// The program's environment, in stage two: <paramref name="stage"/> without the settings' names, with the caller's
    /// entries of <paramref name="restore"/> back at their positions. Null if <paramref name="restore"/> is malformed or
    /// does not fit the environment (a SeccompKit bug: stage two then refuses to run the program).
    /// </summary>
    internal static List<byte[]>? ForProgram(IReadOnlyList<byte[]> stage, string restore)
    {
        var program = new List<byte[]>(stage.Count);
        foreach (var entry in stage)
            if (!IsSetting(entry)) program.Add(entry);
        if (restore == NothingToRestore) return program;
        int last = -1;
        foreach (var item in restore.Split(','))
        {
            int colon = item.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !int.TryParse(item.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                || index <= last || index > program.Count)
                return null;
            byte[] entry;
            try { entry = Convert.FromHexString(item.AsSpan(colon + 1)); }
            catch (FormatException) { return null; }
            if (!IsSetting(entry)) return null;
            program.Insert(index, entry); // ascending positions: everything before `index` is already in place
            last = index;
        }
        return program;
    }

    /// <summary>Whether <paramref name="entry"/> (<c>NAME=value</c>) sets the name of one of the settings.</summary>
    private static bool IsSetting(ReadOnlySpan<byte> entry)
    {
        foreach (var setting in Settings)
        {
            int nameLength = setting.IndexOf('=', StringComparison.Ordinal) + 1; // "NAME=": getenv(3) matches the name and '='
            if (entry.Length < nameLength) continue;
            bool same = true;
            for (int i = 0; i < nameLength && same; i++) same = entry[i] == setting[i];
            if (same) return true;
        }
        return false;
    }

    /// <summary>Copies a NULL-terminated array of NUL-terminated strings (environ(7)) into managed memory.</summary>
    internal static unsafe List<byte[]> Read(byte** environ)
    {
        var entries = new List<byte[]>();
        // SAFETY: environ is a NULL-terminated array of NUL-terminated strings (environ(7)); nothing here changes it.
        for (byte** e = environ; e != null && *e != null; e++)
            entries.Add(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(*e).ToArray());
        return entries;
    }

    /// <summary>
    /// An environ(7) array in native memory for posix_spawn or execve: one block (pointers, then the strings), freed with
    /// <see cref="NativeMemory.Free"/>, or never when the process execve's.
    /// </summary>
    internal static unsafe byte** ToNative(IReadOnlyList<byte[]> entries)
    {
        nuint pointers = (nuint)(entries.Count + 1) * (nuint)sizeof(byte*);
        nuint size = pointers;
        foreach (var e in entries) size += (nuint)e.Length + 1;
        byte* block = (byte*)NativeMemory.Alloc(size);
        var array = (byte**)block;
        // SAFETY: `block` is `size` bytes: the pointer array (entries.Count + 1 slots) first, then every entry and its NUL;
        // `next` never passes the end (the loop writes exactly what `size` counted).
        byte* next = block + pointers;
        for (int i = 0; i < entries.Count; i++)
        {
            array[i] = next;
            // SAFETY: `next` points into `block`, which was sized for every entry and its NUL.
            entries[i].CopyTo(new Span<byte>(next, entries[i].Length));
            next[entries[i].Length] = 0;
            next += entries[i].Length + 1;
        }
        array[entries.Count] = null; // SAFETY: the last of the entries.Count + 1 slots: the terminating NULL
        return array;
    }
}
