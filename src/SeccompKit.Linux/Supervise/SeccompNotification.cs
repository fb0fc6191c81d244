using System.Runtime.CompilerServices;
using SeccompKit.Bpf;

namespace SeccompKit.Linux.Supervise;

/// <summary>The six syscall arguments of a notification, inline (no allocation).</summary>
[InlineArray(6)]
public struct SyscallArguments
{
    private ulong _element0;
}

/// <summary>
/// One notified syscall (<c>struct seccomp_notif</c>, seccomp_unotify(2)): which thread made it and the
/// <c>seccomp_data</c> the filter saw. A value type, so receiving allocates nothing.
/// </summary>
public readonly struct SeccompNotification
{
    private readonly SyscallArguments _args;

    /// <summary>Creates a notification (tests and replays; the supervisor fills it from the kernel).</summary>
    public SeccompNotification(ulong id, int pid, int nr, uint arch, ulong instructionPointer, ReadOnlySpan<ulong> args)
    {
        if (args.Length > 6) throw new ArgumentException("a syscall has at most six arguments", nameof(args));
        Id = id;
        Pid = pid;
        Nr = nr;
        Arch = arch;
        InstructionPointer = instructionPointer;
        args.CopyTo(_args);
    }

    /// <summary>The kernel's cookie for this notification; every response and <c>ID_VALID</c> check names it.</summary>
    public ulong Id { get; }

    /// <summary>The calling thread's id in the supervisor's pid namespace (0 if it is not visible there).</summary>
    public int Pid { get; }

    /// <summary>The syscall number (for x32, with bit 30 set).</summary>
    public int Nr { get; }

    /// <summary>The AUDIT_ARCH_* value of the calling ABI.</summary>
    public uint Arch { get; }

    /// <summary>The instruction pointer at the syscall.</summary>
    public ulong InstructionPointer { get; }

    /// <summary>Argument <paramref name="index"/> (0..5), as the filter saw it (a pointer argument is only an address).</summary>
    public ulong Arg(int index) => (uint)index < 6 ? _args[index] : throw new ArgumentOutOfRangeException(nameof(index), "a syscall has six arguments (0..5)");

    /// <summary>All six arguments (a copy; index it, or take a span of a local copy).</summary>
    public SyscallArguments Arguments => _args;

    /// <summary>The same data as a <see cref="SeccompData"/>, to run through the interpreter or a policy (allocates).</summary>
    public SeccompData ToSeccompData()
    {
        var a = _args;
        return new(Nr, Arch, InstructionPointer, a);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var a = _args;
        return $"notification {Id} from {Pid}: nr {Nr} arch 0x{Arch:x8} args [0x{a[0]:x}, 0x{a[1]:x}, 0x{a[2]:x}, 0x{a[3]:x}, 0x{a[4]:x}, 0x{a[5]:x}]";
    }
}
