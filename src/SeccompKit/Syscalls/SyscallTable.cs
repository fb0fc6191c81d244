using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace SeccompKit.Syscalls;

/// <summary>A syscall name and the number the kernel puts in <c>seccomp_data.nr</c> for it.</summary>
/// <param name="Name">Syscall name as libseccomp spells it (<c>openat</c>, <c>_llseek</c>).</param>
/// <param name="Number">Kernel-visible number, offset applied (x32 bit, MIPS base).</param>
public readonly record struct SyscallEntry(string Name, int Number);

/// <summary>The two syscalls that older ABIs use to reach socket and System V IPC calls.</summary>
public enum Multiplexer
{
    /// <summary><c>socketcall(int call, unsigned long *args)</c>; <c>call</c> is a <c>SYS_*</c> value from linux/net.h.</summary>
    Socketcall,
    /// <summary><c>ipc(unsigned int call, int first, ...)</c>; the low 16 bits of <c>call</c> are a value from linux/ipc.h.</summary>
    Ipc,
}

/// <summary>
/// A syscall reached through a multiplexer: the filter sees <see cref="MultiplexerNumber"/> in
/// <c>nr</c> and <see cref="CallNumber"/> in <c>args[0]</c>.
/// </summary>
/// <param name="Name">The multiplexed call's name (<c>socket</c>, <c>semop</c>...).</param>
/// <param name="Multiplexer">Which multiplexer carries it.</param>
/// <param name="MultiplexerNumber">Kernel-visible number of <c>socketcall</c> or <c>ipc</c> on this ABI.</param>
/// <param name="CallNumber">The value in <c>args[0]</c>; for <c>ipc</c> only its low 16 bits count (the high half is a version).</param>
public readonly record struct MultiplexedCall(string Name, Multiplexer Multiplexer, int MultiplexerNumber, int CallNumber);

/// <summary>
/// One ABI's syscall numbers, generated from libseccomp's <c>syscalls.csv</c>. All numbers here are
/// what the kernel reports in <c>seccomp_data.nr</c>: the CSV's number plus
/// <see cref="Architecture.SyscallNumberOffset"/>, as libseccomp's <c>*_resolve_name_munge</c> do.
/// </summary>
/// <remarks>
/// Where the CSV says <c>PNR</c> (not present), the name has no number here and
/// <see cref="TryGetNumber"/> returns false. libseccomp's C API instead hands out negative
/// <c>__PNR_*</c> pseudo numbers and, on socketcall/ipc ABIs, rewrites rules on them into rules on
/// the multiplexer; SeccompKit makes that explicit with <see cref="TryGetMultiplexed"/>.
/// </remarks>
public sealed class SyscallTable
{
    // Numbers at or above this (after removing the offset) are outside the kernel's main table:
    // arm's private calls live at __ARM_NR_BASE = 0x0f0000 (arch/arm/include/uapi/asm/unistd.h).
    private const int MainTableLimit = 0x1_0000;

    // linux/net.h: SYS_SOCKET = 1 .. SYS_SENDMMSG = 20; index = call number.
    private static readonly string?[] SocketcallCalls =
    [
        null, "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername", "socketpair",
        "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt", "sendmsg", "recvmsg",
        "accept4", "recvmmsg", "sendmmsg",
    ];

    // linux/ipc.h: SEMOP 1, SEMGET 2, SEMCTL 3, SEMTIMEDOP 4, MSGSND 11, MSGRCV 12, MSGGET 13,
    // MSGCTL 14, SHMAT 21, SHMDT 22, SHMGET 23, SHMCTL 24.
    private static readonly FrozenDictionary<int, string> IpcCalls = new Dictionary<int, string>
    {
        [1] = "semop", [2] = "semget", [3] = "semctl", [4] = "semtimedop",
        [11] = "msgsnd", [12] = "msgrcv", [13] = "msgget", [14] = "msgctl",
        [21] = "shmat", [22] = "shmdt", [23] = "shmget", [24] = "shmctl",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, int> SocketcallByName =
        Enumerable.Range(1, SocketcallCalls.Length - 1).ToFrozenDictionary(i => SocketcallCalls[i]!, i => i, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, int> IpcByName =
        IpcCalls.ToFrozenDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);

    private readonly FrozenDictionary<string, int> _byName;
    private readonly FrozenDictionary<int, string> _byNumber;

    internal SyscallTable(Architecture architecture)
    {
        Architecture = architecture;
        int column = Array.IndexOf(SyscallData.Columns, architecture.TableName);
        if (column < 0)
            throw new InvalidOperationException(
                $"The generated syscall tables have no '{architecture.TableName}' column for {architecture.Name}; " +
                "regenerate with: dotnet run --project tools/GenerateSyscallTables");
        string[] names = SyscallData.Names;
        var numbers = SyscallData.Numbers.Slice(column * names.Length, names.Length);
        var entries = new List<SyscallEntry>();
        int bitmapMax = -1;
        for (int i = 0; i < names.Length; i++)
        {
            int raw = numbers[i];
            if (raw < 0)
                continue;
            entries.Add(new SyscallEntry(names[i], architecture.SyscallNumberOffset + raw));
            if (raw < MainTableLimit)
                bitmapMax = Math.Max(bitmapMax, raw);
        }
        entries.Sort((a, b) => a.Number.CompareTo(b.Number));
        All = [.. entries];
        _byName = entries.ToFrozenDictionary(e => e.Name, e => e.Number, StringComparer.Ordinal);
        _byNumber = entries.ToFrozenDictionary(e => e.Number, e => e.Name);
        MaxNumber = entries.Count == 0 ? -1 : entries[^1].Number;
        BitmapSize = bitmapMax + 1;
        SocketcallNumber = _byName.TryGetValue("socketcall", out int s) ? s : null;
        IpcNumber = _byName.TryGetValue("ipc", out int p) ? p : null;
    }

    /// <summary>The CSV's version cell (e.g. <c>#syscall (v7.1.0-rc4 2026-05-19)</c>): the kernel the numbers follow.</summary>
    public static string DataVersion => SyscallData.VersionLine;

    /// <summary>The ABI this table belongs to.</summary>
    public Architecture Architecture { get; }

    /// <summary>Every syscall present on this ABI, ordered by kernel-visible number.</summary>
    public ImmutableArray<SyscallEntry> All { get; }

    /// <summary>How many syscalls this ABI has.</summary>
    public int Count => All.Length;

    /// <summary>The largest kernel-visible number (on arm, a private <c>__ARM_NR_*</c> call at 0x0f0000+).</summary>
    public int MaxNumber { get; }

    /// <summary>
    /// One more than the largest table number before the offset, ignoring arm's private calls at
    /// 0x0f0000+: the size of a per-syscall bitmap such as the kernel's seccomp action cache
    /// (kernel/seccomp.c, <c>seccomp_cache_prepare_bitmap</c>). The kernel sizes its bitmap with its
    /// own <c>NR_syscalls</c> (or the compat count), which may be larger on a newer kernel than this
    /// table; numbers at or above it are never cached. x32 numbers carry <see cref="Architecture.X32SyscallBit"/>
    /// and so are never cached by an x86_64 kernel at all.
    /// </summary>
    public int BitmapSize { get; }

    /// <summary>
    /// The kernel-visible number of <c>socketcall</c> on this ABI, or null when it has none. libseccomp's
    /// arch files set <c>sys_socketcall</c> for exactly these ABIs: x86, m68k, mips(el) o32, ppc,
    /// ppc64(le), s390, s390x and sh(eb).
    /// </summary>
    public int? SocketcallNumber { get; }

    /// <summary>The kernel-visible number of <c>ipc</c> on this ABI, or null (libseccomp's <c>sys_ipc</c>; same ABIs as socketcall).</summary>
    public int? IpcNumber { get; }

    /// <summary>Whether <paramref name="name"/> is a direct syscall on this ABI.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>
    /// The number the kernel puts in <c>seccomp_data.nr</c> when this ABI calls <paramref name="name"/>
    /// directly (offset applied). False when the CSV says PNR; see <see cref="TryGetMultiplexed"/> for
    /// calls reachable through <c>socketcall</c>/<c>ipc</c>.
    /// </summary>
    public bool TryGetNumber(string name, out int nr) => _byName.TryGetValue(name, out nr);

    /// <summary>
    /// Like <see cref="TryGetNumber"/>, but throws <see cref="UnknownSyscallException"/> naming the
    /// closest names, the ABIs that do have the syscall, and the multiplexed route if there is one.
    /// </summary>
    public int GetNumber(string name)
    {
        if (_byName.TryGetValue(name, out int nr))
            return nr;
        var suggestions = Suggestions.Closest(name, _byName.Keys.Order(StringComparer.Ordinal));
        var message = new System.Text.StringBuilder($"Syscall '{name}' does not exist on {Architecture.Name}.");
        if (TryGetMultiplexed(name, out var mux))
            message.Append($" On {Architecture.Name} it is reached only through {mux.Multiplexer.ToString().ToLowerInvariant()} " +
                           $"(nr {mux.MultiplexerNumber}, args[0] == {mux.CallNumber}); use TryGetMultiplexed.");
        var elsewhere = Architecture.All.Where(a => a.Syscalls.Contains(name)).Select(a => a.Name).ToList();
        if (elsewhere.Count > 0)
            message.Append($" It exists on {string.Join(", ", elsewhere)}.");
        if (suggestions.Count > 0)
            message.Append($" Did you mean {Suggestions.OrList(suggestions)}?");
        else if (elsewhere.Count == 0 && mux == default)
            message.Append(" No architecture knows it; check the spelling against the syscall's man page.");
        throw new UnknownSyscallException(name, Architecture, suggestions, message.ToString());
    }

    /// <summary>The syscall whose kernel-visible number is <paramref name="nr"/> on this ABI.</summary>
    public bool TryGetName(int nr, [NotNullWhen(true)] out string? name) => _byNumber.TryGetValue(nr, out name);

    /// <summary>
    /// How this ABI reaches <paramref name="name"/> through <c>socketcall</c> or <c>ipc</c>, if it has that
    /// multiplexer and the name is one of its calls (linux/net.h, linux/ipc.h). This is independent of
    /// a direct number: x86 has <c>socket</c> both as 359 (since Linux 4.3) and as socketcall call 1,
    /// so a filter that must stop <c>socket()</c> on x86 has to cover both routes, as libseccomp does
    /// when it adds a rule for a socket call on a socketcall ABI.
    /// </summary>
    public bool TryGetMultiplexed(string name, out MultiplexedCall call)
    {
        if (SocketcallNumber is int s && SocketcallByName.TryGetValue(name, out int sc))
        {
            call = new MultiplexedCall(name, Multiplexer.Socketcall, s, sc);
            return true;
        }
        if (IpcNumber is int p && IpcByName.TryGetValue(name, out int ic))
        {
            call = new MultiplexedCall(name, Multiplexer.Ipc, p, ic);
            return true;
        }
        call = default;
        return false;
    }

    /// <summary>
    /// The call a multiplexer invocation stands for: <paramref name="multiplexerNr"/> is
    /// <c>seccomp_data.nr</c> and <paramref name="callNumber"/> the low 32 bits of <c>args[0]</c> (both
    /// multiplexers declare <c>call</c> as a 32-bit int). For <c>ipc</c> only the low 16 bits are used, as the
    /// kernel's <c>ksys_ipc</c> does (<c>call &amp; 0xffff</c>; the high half is a version).
    /// </summary>
    public bool TryGetMultiplexedName(int multiplexerNr, int callNumber, [NotNullWhen(true)] out string? name)
    {
        name = null;
        if (multiplexerNr == SocketcallNumber && callNumber >= 1 && callNumber < SocketcallCalls.Length)
            name = SocketcallCalls[callNumber];
        else if (multiplexerNr == IpcNumber)
            name = IpcCalls.GetValueOrDefault(callNumber & 0xffff);
        return name is not null;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Architecture.Name} syscall table ({Count} syscalls, {DataVersion})";
}
