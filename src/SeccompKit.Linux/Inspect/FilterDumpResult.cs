using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Inspect;

/// <summary>What <see cref="FilterDump.ReadInstructions(int, FilterDumpOptions)"/> found in a process.</summary>
/// <param name="Pid">The process (or thread) that was asked for.</param>
/// <param name="Mode">The seccomp mode of the thread that was read (of <paramref name="Pid"/> when nothing was stopped).</param>
/// <param name="Filters">
/// Its filters <b>newest first</b> (index 0 = the last installed, the order <see cref="FilterStack"/> takes), exactly
/// as they were handed to seccomp(2); empty unless <paramref name="Mode"/> is <see cref="SeccompMode.Filter"/>.
/// </param>
public sealed record FilterDumpResult(int Pid, SeccompMode Mode, IReadOnlyList<ImmutableArray<Instruction>> Filters)
{
    /// <summary>The thread that was stopped and read, and how it was left; null when nothing was stopped (no filters).</summary>
    public DumpedThread? Thread { get; init; }

    /// <summary>
    /// Other threads of the process whose number of filters (<c>Seccomp_filters:</c>) differs from the dumped one's:
    /// filters installed without TSYNC apply to one thread only, so these threads run under other stacks. Pass a
    /// thread's id to read its own. Empty when every thread has as many filters.
    /// </summary>
    public IReadOnlyList<ThreadActivity> ThreadsWithOtherFilterCounts { get; init; } = [];

    /// <summary>
    /// What the reader should know about how the dump went: a warning when the program saw the stop (a call failed with
    /// EINTR), a note naming the thread read when it is not <see cref="Pid"/> or its stop needed more than a plain stop,
    /// and a warning for each of <see cref="ThreadsWithOtherFilterCounts"/> (<see cref="DumpNote.OtherThread"/>).
    /// </summary>
    public IReadOnlyList<DumpNote> Notes
    {
        get
        {
            var notes = new List<DumpNote>();
            if (Thread is { } t)
            {
                if (t.ProgramSawIt)
                    notes.Add(new(DumpNoteKind.Warning, $"{t.Before} was stopped while entering a call that then failed with EINTR: {t.Detail}"));
                else if (t.Before.Tid != Pid || t.WorthNoting)
                    notes.Add(new(DumpNoteKind.Note, $"read {t.Before}, {t.Before.Doing}: {t.Detail}"));
            }
            int read = Thread?.Before.SeccompFilters ?? Filters.Count;
            foreach (var other in ThreadsWithOtherFilterCounts)
                notes.Add(new(DumpNoteKind.Warning, $"{other} has {other.SeccompFilters} filter{(other.SeccompFilters == 1 ? "" : "s")}, not {read} like the thread read: " +
                    "it runs under another stack (filters installed without TSYNC)", other));
            return notes;
        }
    }
}

/// <summary>How much a <see cref="DumpNote"/> matters.</summary>
public enum DumpNoteKind
{
    /// <summary>How the dump went (which thread, what the stop needed); nothing the program noticed.</summary>
    Note,
    /// <summary>The program may have noticed the dump, or the filters read are not every thread's.</summary>
    Warning,
}

/// <summary>One of <see cref="FilterDumpResult.Notes"/>.</summary>
/// <param name="Kind">Note or warning.</param>
/// <param name="Message">What happened.</param>
/// <param name="OtherThread">For a thread under another filter stack: that thread (dump its id to read its own filters).</param>
public sealed record DumpNote(DumpNoteKind Kind, string Message, ThreadActivity? OtherThread = null);

/// <summary>The thread <see cref="FilterDump"/> stopped, what it was doing, and how it was let go.</summary>
/// <param name="Before">What it was doing at the last look before the stop, and the forecast that chose it.</param>
/// <param name="Outcome">What the stop turned out to interrupt, read from its registers, and what was done about it.</param>
/// <param name="Detail">One sentence on <paramref name="Outcome"/>: the call, its return code, what was done.</param>
public sealed record DumpedThread(ThreadActivity Before, StopOutcome Outcome, string Detail)
{
    /// <summary>
    /// Time from the last look at the thread to its stop: a call the thread entered after that look (the only way
    /// the stop can interrupt a call the look did not show) had been running for at most this long.
    /// </summary>
    public TimeSpan CheckToStop { get; init; }

    /// <summary>The system call the stop found the thread in (by name), or null when it was in none.</summary>
    public string? InterruptedSyscall { get; init; }

    /// <summary>True when the program can notice the stop (<see cref="StopOutcome.EintrNotPrevented"/>).</summary>
    public bool ProgramSawIt => Outcome == StopOutcome.EintrNotPrevented;

    /// <summary>The stop needed more than a plain stop and resume (a restart_syscall carried or allowed, an EINTR prevented, a signal handed back).</summary>
    public bool WorthNoting => Outcome is StopOutcome.RestartSyscallCarried or StopOutcome.EintrPrevented
        or StopOutcome.SignalHandedBack or StopOutcome.RestartSyscallAllowed;
}

/// <summary>
/// What a PTRACE_INTERRUPT stop interrupted, read from the thread's registers at the stop (<c>orig_rax</c> = the call,
/// <c>rax</c> = its return code, as <c>arch_do_signal_or_restart</c> reads them), and how <see cref="FilterDump"/> let
/// the thread go. Every outcome but <see cref="EintrNotPrevented"/> is invisible to the program.
/// </summary>
public enum StopOutcome
{
    /// <summary>The thread was stopped in user space or outside a system call: nothing to restart.</summary>
    NotInSyscall,

    /// <summary>The system call had returned its own result before the stop: nothing to restart.</summary>
    CallCompleted,

    /// <summary>
    /// The call returned -ERESTARTSYS, -ERESTARTNOINTR or -ERESTARTNOHAND: the kernel makes it again with the same
    /// registers, which the filters already allowed.
    /// </summary>
    CallRestarted,

    /// <summary>The call returned -ERESTART_RESTARTBLOCK and the thread's filters allow <c>restart_syscall</c>.</summary>
    RestartSyscallAllowed,

    /// <summary>
    /// The call returned -ERESTART_RESTARTBLOCK and the thread's filters do not allow <c>restart_syscall</c> (or
    /// could not be checked): the thread was carried through that one <c>restart_syscall</c> with its filters
    /// suspended (PTRACE_O_SUSPEND_SECCOMP) and no user code ran before its filters were back.
    /// </summary>
    RestartSyscallCarried,

    /// <summary>
    /// The call returned EINTR because of the stop, but it is one that did nothing when it returns EINTR: its return
    /// code was changed to -ERESTARTNOHAND, so the kernel makes it again (a relative timeout starts afresh: the call
    /// had been running at most <see cref="DumpedThread.CheckToStop"/>).
    /// </summary>
    EintrPrevented,

    /// <summary>The call returned EINTR and is not known to be safe to make again: the program sees EINTR.</summary>
    EintrNotPrevented,

    /// <summary>The thread was stopped by a signal (group stop) and stays stopped.</summary>
    AlreadyStopped,

    /// <summary>A signal arrived before the stop; its delivery was the stop, and the signal was handed back.</summary>
    SignalHandedBack,
}

/// <summary>How <see cref="FilterDump"/> chooses and stops a thread.</summary>
public sealed record FilterDumpOptions
{
    /// <summary>How long to wait for the chosen thread to stop after PTRACE_INTERRUPT (default 10 s).</summary>
    public TimeSpan StopTimeout { get; init; } = FilterDump.DefaultStopTimeout;

    /// <summary>
    /// How long to wait, when no thread can be stopped unnoticed right now, for one that can (default 3 s); then the
    /// dump is refused (<see cref="DumpRefusedException"/>) without the process having been touched. Zero: look once.
    /// </summary>
    public TimeSpan SafeThreadWait { get; init; } = FilterDump.DefaultSafeThreadWait;

    /// <summary>
    /// Do not choose a thread whose stop would continue through <c>restart_syscall</c>
    /// (<see cref="InterruptionForecast.RestartSyscall"/>): wait for another, or refuse. If a thread turns out to be
    /// in such a call after all (it entered it between the look and the stop), it is still carried through.
    /// </summary>
    public bool AvoidRestartSyscall { get; init; }

    /// <summary>
    /// How long a thread carried through <c>restart_syscall</c> stays watched in the restarted call (default 20 ms). While
    /// the dump is attached, a signal the process ignores (SIG_IGN, or SIGCHLD, SIGWINCH, SIGURG, SIGCONT without a
    /// handler) is kept instead of dropped and can interrupt that sleep again; a watched thread is carried again, a
    /// thread still asleep when the watch ends is left to the kernel, which detaches it without waking it. A longer watch
    /// closes that last window for longer sleeps and makes the dump of a sleeping thread take as long.
    /// </summary>
    public TimeSpan RestartWatch { get; init; } = FilterDump.DefaultRestartWatch;
}

/// <summary>
/// The dump was refused before anything was done to the process: no thread could be stopped without the program,
/// its filters or its supervisor noticing, within <see cref="FilterDumpOptions.SafeThreadWait"/>.
/// </summary>
public sealed class DumpRefusedException : SeccompException
{
    /// <summary>Creates the exception; the message names every thread, its call and why it was not stopped.</summary>
    public DumpRefusedException(int pid, IReadOnlyList<ThreadActivity> threads, TimeSpan waited)
        : base(Describe(pid, threads ?? throw new ArgumentNullException(nameof(threads)), waited))
    {
        Pid = pid;
        Threads = threads;
        Waited = waited;
    }

    /// <summary>The process (or thread) asked for.</summary>
    public int Pid { get; }

    /// <summary>Every candidate thread as last seen, with its forecast and reason.</summary>
    public IReadOnlyList<ThreadActivity> Threads { get; }

    /// <summary>How long a harmless thread was waited for.</summary>
    public TimeSpan Waited { get; }

    private static string Describe(int pid, IReadOnlyList<ThreadActivity> threads, TimeSpan waited)
    {
        string lines = string.Join("\n", threads.Select(t => $"  {t} is {t.Doing}: {t.Reason}"));
        string wait = waited > TimeSpan.Zero ? $" (waited {FilterDump.Seconds(waited)} s)" : "";
        string what = threads.Count == 1 && threads[0].Tid == pid && ProcStatus.Read(pid) is { } s && s.Tgid != pid
            ? $"thread {pid} of process {s.Tgid} was not touched: it could not be stopped"
            : $"process {pid} was not touched: no thread of it could be stopped";
        return $"{what} without the program, its filters or its supervisor noticing{wait}:\n{lines}";
    }
}
