using System.Buffers.Binary;
using System.Diagnostics;
using SeccompKit.Bpf;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>How a probed call enters the kernel.</summary>
public enum ProbeAbi
{
    /// <summary>The x86_64 <c>syscall</c> instruction: AUDIT_ARCH_X86_64, args in rdi, rsi, rdx, r10, r8, r9.</summary>
    Syscall64 = 64,
    /// <summary><c>int $0x80</c> from the 64-bit child: AUDIT_ARCH_I386, args in rbx, rcx, rdx, rsi, rdi, rbp.</summary>
    Int80 = 32,
}

/// <summary>One probed call: the value loaded into rax and the six argument registers (full 64 bits).</summary>
public sealed record ProbeCall(ProbeAbi Abi, ulong Rax, ulong[] Args)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{(Abi == ProbeAbi.Syscall64 ? "syscall" : "int $0x80")} rax=0x{Rax:x} args=[{string.Join(", ", Args.Select(a => "0x" + a.ToString("x")))}]";
}

/// <summary>A stack of filters (installation order, oldest first) and the calls to issue under it.</summary>
public sealed record ProbeRequest(IReadOnlyList<Instruction[]> ProgramsOldestFirst, IReadOnlyList<ProbeCall> Calls);

/// <summary>What the child saw for one call.</summary>
public enum ProbeOutcomeKind
{
    /// <summary>The call returned; <see cref="ProbeOutcome.Value"/> is rax.</summary>
    Returned = 0,
    /// <summary>The child was killed by signal <see cref="ProbeOutcome.Info"/> during the call.</summary>
    Killed = 1,
    /// <summary>Not issued: a filter of the stack failed to install.</summary>
    NotRun = 2,
    /// <summary>The child exited on its own (status in <see cref="ProbeOutcome.Info"/>): a helper bug.</summary>
    Exited = 3,
}

/// <summary>The kernel's verdict on one call.</summary>
public readonly record struct ProbeOutcome(ProbeOutcomeKind Kind, int Info, long Value)
{
    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ProbeOutcomeKind.Returned => Value is < 0 and >= -4095 ? $"returned -{-Value} (errno {-Value})" : $"returned 0x{Value:x}",
        ProbeOutcomeKind.Killed => $"killed by signal {Info}{(Info == 31 ? " (SIGSYS)" : "")}",
        ProbeOutcomeKind.NotRun => "not run (install failed)",
        _ => $"exited with status {Info}",
    };
}

/// <summary>The kernel's answer to a <see cref="ProbeRequest"/>.</summary>
/// <param name="Install">Per program, 0 or the errno of <c>seccomp(SECCOMP_SET_MODE_FILTER)</c>.</param>
/// <param name="Outcomes">Per call.</param>
public sealed record ProbeResponse(int[] Install, ProbeOutcome[] Outcomes);

/// <summary>Addresses inside one running helper (PIE, so they differ per process).</summary>
/// <param name="Syscall64">The address after the probe's <c>syscall</c> (seccomp_data.instruction_pointer).</param>
/// <param name="Int80">The address after the probe's <c>int $0x80</c>.</param>
/// <param name="Install">The address after the <c>syscall</c> that installs filters.</param>
public sealed record ProbeAddresses(ulong Syscall64, ulong Int80, ulong Install);

/// <summary>
/// Drives native/seccomp-probe over its stdin/stdout protocol (described at the top of
/// native/seccomp-probe.c). All forking happens in the helper, never in managed code.
/// </summary>
public sealed class SeccompProbe : IDisposable
{
    private readonly Process _process;
    private readonly Stream _in;
    private readonly Stream _out;
    private readonly Task<string> _stderr;

    private SeccompProbe(Process process)
    {
        _process = process;
        _in = process.StandardInput.BaseStream;
        _out = process.StandardOutput.BaseStream;
        _stderr = process.StandardError.ReadToEndAsync();
        var header = ReadExact(32);
        if (!header.AsSpan(0, 8).SequenceEqual("SKPROBE1"u8))
            throw new InvalidOperationException($"{process.StartInfo.FileName} did not start with the SKPROBE1 header; rebuild it with native/build.sh");
        Addresses = new ProbeAddresses(
            BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8)),
            BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(16)),
            BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24)));
    }

    /// <summary>The helper's stub addresses.</summary>
    public ProbeAddresses Addresses { get; }

    /// <summary>Starts the helper at <paramref name="path"/>.</summary>
    public static SeccompProbe Start(string path)
    {
        var psi = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return new SeccompProbe(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {path}"));
    }

    /// <summary>Hands every program to seccomp(SECCOMP_SET_MODE_FILTER) in a child; 0 = accepted, else the errno.</summary>
    public int[] Validate(IReadOnlyList<Instruction[]> programs)
    {
        var writer = Task.Run(() =>
        {
            var buf = new BufferedStream(_in, 1 << 16); // not disposed: that would close stdin
            WriteU32(buf, 'V');
            WriteU32(buf, (uint)programs.Count);
            foreach (var p in programs) WriteProgram(buf, p);
            buf.Flush();
        });
        var raw = ReadExact(4 * programs.Count);
        writer.GetAwaiter().GetResult();
        var result = new int[programs.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4 * i));
            if (result[i] < 0)
                throw new InvalidOperationException($"the probe child died before reporting on program {i} (code {result[i]})");
        }
        return result;
    }

    /// <summary>
    /// Installs <paramref name="program"/> up to <paramref name="max"/> times in one child ('S' request) and
    /// says how many copies the kernel stacked before it refused one, and with which errno (0: none refused).
    /// </summary>
    public (int Installed, int Errno) StackLimit(Instruction[] program, uint max)
    {
        var buf = new BufferedStream(_in, 1 << 16); // not disposed: that would close stdin
        WriteU32(buf, 'S');
        WriteProgram(buf, program);
        WriteU32(buf, max);
        buf.Flush();
        var raw = ReadExact(8);
        int installed = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw);
        int errno = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4));
        if (errno < 0) throw new InvalidOperationException($"the probe child died before reporting the stack limit ({installed} installed)");
        return (installed, errno);
    }

    /// <summary>
    /// Installs <paramref name="pad"/> <paramref name="copies"/> times, then <paramref name="extra"/> (if not empty),
    /// then <paramref name="program"/> in one child ('P' request); returns the last install's errno (0 = accepted).
    /// </summary>
    public int PaddedInstall(Instruction[] pad, int copies, Instruction[] extra, Instruction[] program)
    {
        var buf = new BufferedStream(_in, 1 << 16); // not disposed: that would close stdin
        WriteU32(buf, 'P');
        WriteProgram(buf, pad);
        WriteU32(buf, (uint)copies);
        WriteProgram(buf, extra);
        WriteProgram(buf, program);
        buf.Flush();
        int r = BinaryPrimitives.ReadInt32LittleEndian(ReadExact(4));
        // The padding alone reached the limit: the probed program, which would add to it, is refused too.
        if (r == -1000 - 12) return 12;
        if (r < 0) throw new InvalidOperationException($"padding could not be installed before the probed program (code {r})");
        return r;
    }

    /// <summary>Runs every request (pipelined: written by one task while the answers are read).</summary>
    public ProbeResponse[] Run(IReadOnlyList<ProbeRequest> requests)
    {
        var writer = Task.Run(() =>
        {
            var buf = new BufferedStream(_in, 1 << 16); // not disposed: that would close stdin
            var call = new byte[64];
            foreach (var r in requests)
            {
                WriteU32(buf, 'R');
                WriteU32(buf, (uint)r.ProgramsOldestFirst.Count);
                foreach (var p in r.ProgramsOldestFirst) WriteProgram(buf, p);
                WriteU32(buf, (uint)r.Calls.Count);
                foreach (var c in r.Calls)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(call, (uint)c.Abi);
                    BinaryPrimitives.WriteUInt32LittleEndian(call.AsSpan(4), 0);
                    BinaryPrimitives.WriteUInt64LittleEndian(call.AsSpan(8), c.Rax);
                    for (int i = 0; i < 6; i++)
                        BinaryPrimitives.WriteUInt64LittleEndian(call.AsSpan(16 + 8 * i), c.Args[i]);
                    buf.Write(call);
                }
            }
            buf.Flush();
        });
        var responses = new ProbeResponse[requests.Count];
        for (int r = 0; r < requests.Count; r++)
        {
            int np = requests[r].ProgramsOldestFirst.Count, nc = requests[r].Calls.Count;
            var raw = ReadExact(4 * np + 16 * nc);
            var install = new int[np];
            for (int p = 0; p < np; p++) install[p] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4 * p));
            var outcomes = new ProbeOutcome[nc];
            for (int c = 0; c < nc; c++)
            {
                var s = raw.AsSpan(4 * np + 16 * c);
                outcomes[c] = new ProbeOutcome((ProbeOutcomeKind)BinaryPrimitives.ReadInt32LittleEndian(s),
                    BinaryPrimitives.ReadInt32LittleEndian(s[4..]), BinaryPrimitives.ReadInt64LittleEndian(s[8..]));
            }
            responses[r] = new ProbeResponse(install, outcomes);
        }
        writer.GetAwaiter().GetResult();
        return responses;
    }

    private static void WriteU32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteU32(Stream s, char c) => WriteU32(s, (uint)c);

    private static void WriteProgram(Stream s, Instruction[] program)
    {
        if (program.Length > ushort.MaxValue)
            throw new ArgumentException("struct sock_fprog.len is an unsigned short: at most 65535 instructions can be handed to the kernel");
        WriteU32(s, (uint)program.Length);
        s.Write(BpfProgram.ToRaw(program));
    }

    private byte[] ReadExact(int n)
    {
        var b = new byte[n];
        int got = 0;
        while (got < n)
        {
            int r = _out.Read(b, got, n - got);
            if (r == 0)
            {
                _process.WaitForExit(5000);
                throw new InvalidOperationException($"seccomp-probe ended its output early (exit code {(_process.HasExited ? _process.ExitCode : -1)}): {_stderr.Result}");
            }
            got += r;
        }
        return b;
    }

    /// <summary>Closes stdin (the helper exits at EOF) and waits for it.</summary>
    public void Dispose()
    {
        try { _in.Dispose(); } catch (IOException) { }
        if (!_process.WaitForExit(10_000)) _process.Kill();
        _process.Dispose();
    }
}
