using System.Collections.Immutable;
using SeccompKit.Syscalls;

namespace SeccompKit.Learning;

/// <summary>Six syscall arguments as a hashable value.</summary>
public readonly record struct ArgumentVector(ulong A0, ulong A1, ulong A2, ulong A3, ulong A4, ulong A5)
{
    /// <summary>From a span of up to six arguments.</summary>
    public static ArgumentVector From(ReadOnlySpan<ulong> a) => new(
        a.Length > 0 ? a[0] : 0, a.Length > 1 ? a[1] : 0, a.Length > 2 ? a[2] : 0,
        a.Length > 3 ? a[3] : 0, a.Length > 4 ? a[4] : 0, a.Length > 5 ? a[5] : 0);

    /// <summary>Argument <paramref name="index"/>.</summary>
    public ulong this[int index] => index switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5, _ => throw new ArgumentOutOfRangeException(nameof(index)) };

    /// <summary>The six values.</summary>
    public ulong[] ToArray() => [A0, A1, A2, A3, A4, A5];
}

/// <summary>The recorded (masked) values of a syscall's security arguments, in <see cref="SecurityArguments"/> order.</summary>
public readonly record struct ArgumentTuple(ulong V0, ulong V1, ulong V2)
{
    /// <summary>Value <paramref name="i"/> (0..2).</summary>
    public ulong this[int i] => i switch { 0 => V0, 1 => V1, 2 => V2, _ => throw new ArgumentOutOfRangeException(nameof(i)) };

    /// <summary>A copy with value <paramref name="i"/> (0..2) replaced by <paramref name="value"/>.</summary>
    public ArgumentTuple With(int i, ulong value) => i switch
    {
        0 => this with { V0 = value },
        1 => this with { V1 = value },
        2 => this with { V2 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };
}

/// <summary>
/// Records syscalls as a learner sees them (from notifications): per ABI and number, the count, the first caller, the
/// values of the security arguments (<see cref="SecurityArguments"/>) and a few whole argument vectors to replay.
/// Single-threaded (the supervisor's thread); after a syscall has been seen once, recording it again allocates nothing
/// unless it brings a new value.
/// </summary>
public sealed class SyscallRecorder
{
    /// <summary>Distinct argument tuples kept per syscall; beyond this the syscall is allowed without conditions.</summary>
    public const int MaxDistinctValues = 256;

    /// <summary>Distinct whole argument vectors kept per syscall for the replay check.</summary>
    public const int MaxSamples = 32;

    private readonly bool _openFlags;
    private readonly Dictionary<(uint Arch, int Nr), Entry> _entries = [];
    private (uint Arch, int Nr) _lastKey = (uint.MaxValue, int.MinValue);
    private Entry? _last;
    private long _total;

    /// <summary>Creates a recorder; <paramref name="openFlags"/> also records the flags of open/openat.</summary>
    public SyscallRecorder(bool openFlags = false) => _openFlags = openFlags;

    /// <summary>Calls recorded so far.</summary>
    public long Total => _total;

    /// <summary>Distinct (ABI, syscall) pairs so far.</summary>
    public int Distinct => _entries.Count;

    /// <summary>Records one call. Returns true the first time this ABI and number are seen.</summary>
    public bool Record(uint arch, int nr, int pid, ulong instructionPointer, ReadOnlySpan<ulong> args)
    {
        _total++;
        Entry? e;
        bool isNew = false;
        if (_lastKey == (arch, nr)) e = _last!;
        else if (!_entries.TryGetValue((arch, nr), out e))
        {
            e = new Entry(arch, nr, pid, instructionPointer, _openFlags);
            _entries.Add((arch, nr), e);
            isNew = true;
        }
        _lastKey = (arch, nr);
        _last = e;
        e.Count++;
        if (e.Samples.Count < MaxSamples)
        {
            // A call site repeats its arguments: compare with the last vector kept before hashing (the recorder runs once
            // per notified call; bench/results/notify.md).
            var v = ArgumentVector.From(args);
            if (e.Samples.Count == 0 || v != e.LastSample)
            {
                e.Samples.Add(v);
                e.LastSample = v;
            }
        }
        if (!e.Arguments.IsDefaultOrEmpty && !e.TooManyValues)
        {
            var t = Mask(e.Arguments, args);
            if (e.Values.TryGetValue(t, out var seen)) e.Values[t] = seen with { Count = seen.Count + 1 };
            else if (e.Values.Count >= MaxDistinctValues) e.TooManyValues = true;
            else e.Values.Add(t, new ValueStats(1, ArgumentVector.From(args), pid));
        }
        return isNew;
    }

    private static ArgumentTuple Mask(ImmutableArray<RecordedArgument> spec, ReadOnlySpan<ulong> args)
    {
        ulong v0 = 0, v1 = 0, v2 = 0;
        for (int i = 0; i < spec.Length && i < 3; i++)
        {
            ulong v = (spec[i].Index < args.Length ? args[spec[i].Index] : 0) & spec[i].Mask;
            if (i == 0) v0 = v; else if (i == 1) v1 = v; else v2 = v;
        }
        return new ArgumentTuple(v0, v1, v2);
    }

    /// <summary>An immutable copy of everything recorded.</summary>
    public LearnedCalls Snapshot() => new(
        [.. _entries.Values.OrderBy(e => e.Arch).ThenBy(e => e.Nr).Select(e => new LearnedSyscall(
            e.Abi, e.Arch, e.Nr, e.Name, e.Count, e.FirstPid, e.FirstInstructionPointer, e.Arguments, e.TooManyValues,
            e.Values.Select(kv => new LearnedValue(kv.Key, kv.Value.Count, kv.Value.Representative, kv.Value.FirstPid)).ToImmutableArray(),
            [.. e.Samples]))],
        _total);

    private readonly record struct ValueStats(long Count, ArgumentVector Representative, int FirstPid);

    private sealed class Entry
    {
        public Entry(uint arch, int nr, int pid, ulong ip, bool openFlags)
        {
            Arch = arch;
            Nr = nr;
            FirstPid = pid;
            FirstInstructionPointer = ip;
            Abi = ResolveAbi(arch, nr);
            Name = Abi is not null && Abi.Syscalls.TryGetName(nr, out var n) ? n : null;
            Arguments = Name is null ? [] : SecurityArguments.For(Name, openFlags);
        }

        public uint Arch { get; }
        public int Nr { get; }
        public int FirstPid { get; }
        public ulong FirstInstructionPointer { get; }
        public Architecture? Abi { get; }
        public string? Name { get; }
        public ImmutableArray<RecordedArgument> Arguments { get; }
        public long Count;
        public bool TooManyValues;
        public readonly Dictionary<ArgumentTuple, ValueStats> Values = [];
        public readonly HashSet<ArgumentVector> Samples = [];
        public ArgumentVector LastSample; // the last vector added to Samples (meaningful once Samples is not empty)
    }

    /// <summary>The ABI of a call: the AUDIT_ARCH value, and for x86_64 the x32 bit of the number.</summary>
    public static Architecture? ResolveAbi(uint arch, int nr)
    {
        if (!Architecture.TryFromAuditArch(arch, out var abi)) return null;
        return abi == Architecture.X86_64 && (nr & Architecture.X32SyscallBit) != 0 ? Architecture.X32 : abi;
    }
}

/// <summary>One recorded value tuple of a syscall's security arguments.</summary>
/// <param name="Values">The masked values.</param>
/// <param name="Count">How many calls had them.</param>
/// <param name="Representative">The whole arguments of the first such call.</param>
/// <param name="FirstPid">Which thread made that call.</param>
public sealed record LearnedValue(ArgumentTuple Values, long Count, ArgumentVector Representative, int FirstPid);

/// <summary>What was recorded for one syscall of one ABI.</summary>
/// <param name="Abi">The ABI, or null for an AUDIT_ARCH value SeccompKit does not know.</param>
/// <param name="AuditArch">The raw AUDIT_ARCH value.</param>
/// <param name="Nr">The number as the filter saw it.</param>
/// <param name="Name">Its name, or null if the ABI's table has no such number.</param>
/// <param name="Count">Calls made.</param>
/// <param name="FirstPid">The thread that made the first call.</param>
/// <param name="FirstInstructionPointer">Where the first call was made.</param>
/// <param name="Arguments">The security arguments recorded (empty: none).</param>
/// <param name="TooManyValues">More than <see cref="SyscallRecorder.MaxDistinctValues"/> distinct values: conditions dropped.</param>
/// <param name="Values">The distinct value tuples of <paramref name="Arguments"/>.</param>
/// <param name="Samples">Up to <see cref="SyscallRecorder.MaxSamples"/> distinct whole argument vectors.</param>
public sealed record LearnedSyscall(
    Architecture? Abi, uint AuditArch, int Nr, string? Name, long Count, int FirstPid, ulong FirstInstructionPointer,
    ImmutableArray<RecordedArgument> Arguments, bool TooManyValues, ImmutableArray<LearnedValue> Values, ImmutableArray<ArgumentVector> Samples)
{
    /// <summary>"openat" or "x86_64 syscall 999".</summary>
    public string Display => Name ?? $"{Abi?.Name ?? $"arch 0x{AuditArch:x8}"} syscall {Nr}";
}

/// <summary>Everything a learning run recorded.</summary>
/// <param name="Syscalls">Per ABI and number, ordered by AUDIT_ARCH then number.</param>
/// <param name="Total">All calls recorded.</param>
public sealed record LearnedCalls(ImmutableArray<LearnedSyscall> Syscalls, long Total);
