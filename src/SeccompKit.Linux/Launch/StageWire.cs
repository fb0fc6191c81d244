using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// The one definition of what the launcher's parent and its stage two (<see cref="StageTwo"/>) say to each other, with
/// its encoders and decoders. Both ends run this assembly on the same machine (one executable, or seccompkit and the
/// seccompkit-stage published beside it: <see cref="StageCommand.Default"/>), so numbers are in native byte order; a
/// change of either message must change its magic, so that a stage of another build refuses it instead of misreading it.
/// <list type="bullet">
/// <item>The filter message, parent to stage two on the filter pipe: a 16-byte header (<see cref="FilterMagic"/>, the
/// seccomp filter flags, no_new_privs 0 or 1, the instruction count) and the program (8 bytes per instruction), then
/// end of file. Only a whole message counts, so a parent that dies half-way can never leave stage two with a shorter
/// program that happens to be valid.</item>
/// <item>Status records, stage two to the parent on the status socket: 12 bytes (<see cref="StatusMagic"/>, the
/// <see cref="Step"/>, a value: an errno, or the listener's number with <see cref="Step.Listener"/>, whose descriptor
/// travels with the record as SCM_RIGHTS). The socket closing with no failure record means execve succeeded.</item>
/// </list>
/// Decoding fails closed: anything but an exact encoding throws <see cref="StageProtocolException"/> saying what is wrong.
/// </summary>
internal static class StageWire
{
    /// <summary>"SKS2": the first word of every status record.</summary>
    internal const uint StatusMagic = 0x32534b53;

    /// <summary>"SKF1": the first word of the filter message.</summary>
    internal const uint FilterMagic = 0x31464b53;

    /// <summary>The filter message's header: magic, flags, no_new_privs, instruction count (four 32-bit words).</summary>
    internal const int FilterHeaderSize = 16;

    /// <summary>A status record: magic, step, value (three 32-bit words).</summary>
    internal const int StatusSize = 12;

    /// <summary>BPF_MAXINSNS: the kernel takes no longer program (seccomp(2)).</summary>
    internal const int MaxInstructions = 4096;

    /// <summary>The steps stage two reports on its status socket.</summary>
    internal enum Step : uint
    {
        /// <summary>Started and read the filter; about to set no_new_privs and install.</summary>
        Ready = 1,
        /// <summary>Its arguments were malformed (a SeccompKit bug).</summary>
        Arguments = 2,
        /// <summary>Reading or validating the filter failed.</summary>
        Filter = 3,
        /// <summary>prctl(PR_SET_NO_NEW_PRIVS) failed.</summary>
        NoNewPrivs = 4,
        /// <summary>seccomp(SET_MODE_FILTER) failed.</summary>
        Install = 5,
        /// <summary>execve failed (the filter is on; this report may itself be refused by it).</summary>
        Exec = 6,
        /// <summary>The filter is on and its listener descriptor travels with this record (SCM_RIGHTS); execve follows.</summary>
        Listener = 7,
        /// <summary>The listener could not be handed over (errno of sendmsg); stage two exits without running the program.</summary>
        Handover = 8,
        /// <summary>
        /// The stage command's Main did not hand its arguments to <see cref="StageTwo.RunIfRequested"/> and tried to launch
        /// again instead (<see cref="StageTwo.RefuseUnhandledStage"/>): without this record it would recurse.
        /// </summary>
        NotHandled = 9,
    }

    /// <summary>A decoded status record.</summary>
    internal readonly record struct Status(Step Step, int Value);

    /// <summary>A decoded filter message: the flags, whether to set no_new_privs, and the raw program (8 bytes per instruction).</summary>
    internal sealed record FilterMessage(SeccompFilterFlags Flags, bool NoNewPrivileges, byte[] Program);

    /// <summary>
    /// Writes a status record to <paramref name="destination"/> (<see cref="StatusSize"/> bytes). Fully optimised at
    /// once and free of calls: stage two runs it before the filter goes on (the Ready record), so that the failure
    /// record it writes after a refused execve, with the filter on, compiles nothing (docs/KERNEL-FINDINGS.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void WriteStatus(byte* destination, Step step, int value)
    {
        // SAFETY: the caller gives StatusSize writable bytes; unaligned writes, so any address does.
        Unsafe.WriteUnaligned(destination, StatusMagic);
        Unsafe.WriteUnaligned(destination + 4, (uint)step);
        Unsafe.WriteUnaligned(destination + 8, value);
    }

    /// <summary>A status record as bytes.</summary>
    internal static unsafe byte[] EncodeStatus(Step step, int value)
    {
        var record = new byte[StatusSize];
        // SAFETY: `p` is pinned and StatusSize bytes long.
        fixed (byte* p = record) WriteStatus(p, step, value);
        return record;
    }

    /// <summary>Decodes one status record: exactly <see cref="StatusSize"/> bytes, the magic, a known step.</summary>
    /// <exception cref="StageProtocolException">Anything else.</exception>
    internal static Status DecodeStatus(ReadOnlySpan<byte> record)
    {
        if (record.Length != StatusSize)
            throw new StageProtocolException($"a status record of {record.Length} bytes (a record has {StatusSize})");
        uint magic = MemoryMarshal.Read<uint>(record);
        if (magic != StatusMagic)
            throw new StageProtocolException($"a status record that does not begin with the magic number (0x{magic:x8}, not 0x{StatusMagic:x8})");
        var step = (Step)MemoryMarshal.Read<uint>(record[4..]);
        if (!Enum.IsDefined(step))
            throw new StageProtocolException($"a status record with an unknown step {(uint)step}");
        return new Status(step, MemoryMarshal.Read<int>(record[8..]));
    }

    /// <summary>The filter message for a raw program (<paramref name="program"/>: 8 bytes per instruction, 1 to 4096 of them).</summary>
    internal static byte[] EncodeFilter(SeccompFilterFlags flags, bool noNewPrivileges, ReadOnlySpan<byte> program)
    {
        if (program.Length == 0 || program.Length % 8 != 0 || program.Length / 8 > MaxInstructions)
            throw new ArgumentException($"a program is 1 to {MaxInstructions} instructions of 8 bytes, not {program.Length} bytes", nameof(program));
        var message = new byte[FilterHeaderSize + program.Length];
        var span = message.AsSpan();
        MemoryMarshal.Write(span, FilterMagic);
        MemoryMarshal.Write(span[4..], (uint)flags);
        MemoryMarshal.Write(span[8..], noNewPrivileges ? 1u : 0u);
        MemoryMarshal.Write(span[12..], (uint)(program.Length / 8));
        program.CopyTo(span[FilterHeaderSize..]);
        return message;
    }

    /// <summary>
    /// Decodes the whole filter message (everything read up to end of file): the header, exactly the announced number
    /// of instructions (1 to 4096) and nothing after them, no_new_privs 0 or 1.
    /// </summary>
    /// <exception cref="StageProtocolException">Anything else (truncated, extended, garbage).</exception>
    internal static FilterMessage DecodeFilter(ReadOnlySpan<byte> message)
    {
        if (message.Length < FilterHeaderSize)
            throw new StageProtocolException($"a filter message of {message.Length} bytes, shorter than its {FilterHeaderSize}-byte header");
        uint magic = MemoryMarshal.Read<uint>(message);
        if (magic != FilterMagic)
            throw new StageProtocolException($"a filter message that does not begin with the magic number (0x{magic:x8}, not 0x{FilterMagic:x8})");
        uint nnp = MemoryMarshal.Read<uint>(message[8..]);
        if (nnp > 1)
            throw new StageProtocolException($"a filter message whose no_new_privs word is {nnp} (0 or 1)");
        uint count = MemoryMarshal.Read<uint>(message[12..]);
        if (count is 0 or > MaxInstructions)
            throw new StageProtocolException($"a filter message announcing {count} instructions (1 to {MaxInstructions})");
        long expected = FilterHeaderSize + 8L * count;
        if (message.Length != expected)
            throw new StageProtocolException($"a filter message of {message.Length} bytes where its header announces {expected} ({count} instructions)");
        return new FilterMessage((SeccompFilterFlags)MemoryMarshal.Read<uint>(message[4..]), nnp == 1, message[FilterHeaderSize..].ToArray());
    }
}

/// <summary>A message between the launcher and its stage two that is not an exact encoding (<see cref="StageWire"/>).</summary>
internal sealed class StageProtocolException(string message) : Exception(message);
