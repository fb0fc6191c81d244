namespace SeccompKit.Cli;

/// <summary>
/// What <c>seccompkit</c>'s exit status means. Scripts can rely on these: they do not change between versions.
/// </summary>
public static class ExitCodes
{
    /// <summary>Done; for <c>check</c>: the kernel would accept every filter.</summary>
    public const int Success = 0;
    /// <summary><c>check</c>/<c>asm</c>: the kernel would refuse the filter (the rule and pc are printed).</summary>
    public const int FilterRefused = 1;
    /// <summary><c>lint</c>: a finding at or above the <c>--fail-on</c> severity (error by default) was reported.</summary>
    public const int LintFindings = 1;
    /// <summary>The command line is wrong (unknown option, missing argument, bad value).</summary>
    public const int Usage = 2;
    /// <summary>
    /// An input could not be read or parsed (missing file, bad format, unknown syscall name; a directory, a file over the
    /// 64 MiB input limit, a FIFO or device that did not end within 10 s, too many open files; for <c>dump</c>: the
    /// filters could not be read, e.g. the process did not stop in time).
    /// </summary>
    public const int BadInput = 3;
    /// <summary>An output could not be written.</summary>
    public const int OutputFailed = 4;
    /// <summary>
    /// <c>merge</c>: the merged profile did not mean the union of its inputs when every one was run in the interpreter: a
    /// bug in seccompkit. Nothing was written; examples of the calls concerned are printed.
    /// </summary>
    public const int MergeNotVerified = 5;
    /// <summary>
    /// <c>explain --to policy|oci</c>: the filter does something the policy model (or the OCI target) cannot express (an
    /// instruction-pointer or opaque condition, a computed return, no arch check, per-ABI differences...); every problem is
    /// printed and nothing is written unless <c>--partial</c>.
    /// </summary>
    public const int NotExpressible = 6;
    /// <summary><c>diff</c>: the two inputs behave differently somewhere (the differences are printed); 0 means equal everywhere.</summary>
    public const int Differences = 1;
    /// <summary><c>run</c>: the kernel refused the filter (stack too long, a flag it lacks); the program did not run.</summary>
    public const int RunFilterRefused = 120;
    /// <summary><c>run</c>: the profile or policy cannot be read, parsed or compiled; the program did not run. Also <c>learn
    /// --from</c>: no profile learned on that base can be written as OCI for the target (checked before the run).</summary>
    public const int RunPolicyInvalid = 121;
    /// <summary><c>run</c>: the policy does not cover this machine's architecture; the program did not run.</summary>
    public const int RunArchMissing = 122;
    /// <summary><c>run</c>: no_new_privs could not be set; the program did not run.</summary>
    public const int RunNoNewPrivsDenied = 123;
    /// <summary><c>run</c>: the launcher itself failed (its second stage could not start); the program did not run.</summary>
    public const int RunLaunchFailed = 125;
    /// <summary><c>run</c>: the program exists but cannot be executed (permissions, format, or the policy refuses execve).</summary>
    public const int RunCannotExecute = 126;
    /// <summary><c>run</c>: the program was not found.</summary>
    public const int RunNotFound = 127;
    /// <summary><c>run</c>: the program was killed by SIGSYS (128 + 31, as a shell reports it): a seccomp kill, or TRAP without a handler.</summary>
    public const int RunKilledBySeccomp = 159;
    /// <summary>
    /// <c>dump</c>: there is no such process (or it exited while being read). The value is sysexits.h's
    /// EX_NOINPUT: the process is the input.
    /// </summary>
    public const int ProcessNotFound = 66;
    /// <summary>
    /// <c>learn</c>: the program ran, but the learned profile could not be written, or it failed its replay check (a
    /// recorded call the profile would refuse, e.g. a syscall without a name); the message lists them.
    /// </summary>
    public const int LearnProfileFailed = 124;
    /// <summary>
    /// <c>agent</c>: the socket cannot be listened on: another agent accepts on it, or the path exists and is not a
    /// socket, or is too long. Nothing was started. The value is sysexits.h's EX_UNAVAILABLE.
    /// </summary>
    public const int AgentSocketUnavailable = 69;
    /// <summary><c>agent</c>: <c>--output</c> is missing, not a directory, or not writable; nothing was started. sysexits.h's EX_CANTCREAT.</summary>
    public const int AgentOutputUnusable = 73;
    /// <summary><c>agent</c>: <c>--config</c> cannot be read or is invalid (the message has the JSON path), or its socket group does not exist. sysexits.h's EX_CONFIG.</summary>
    public const int AgentConfigInvalid = 78;
    /// <summary>
    /// A resource limit leaves seccompkit too little to work with (RLIMIT_NOFILE below what it needs, RLIMIT_NPROC
    /// reached, no descriptor or thread left part way); the message names the limit and how to raise it; nothing was
    /// written. <c>run</c> and <c>learn</c> say so with <see cref="RunLaunchFailed"/> (the program did not run). The value
    /// is sysexits.h's EX_OSERR ("cannot fork", "cannot create pipe").
    /// </summary>
    public const int ResourceLimit = 71;
    /// <summary>A bug in seccompkit; please report it with the command line.</summary>
    public const int InternalError = 70;
    /// <summary>
    /// <c>dump</c>: refused before the process was touched: no thread of it could be stopped without the program, its
    /// filters or its supervisor noticing within <c>--wait</c> (each thread, its call and the reason are printed). The
    /// value is sysexits.h's EX_TEMPFAIL: trying again later usually works.
    /// </summary>
    public const int DumpRefused = 75;
    /// <summary>
    /// <c>dump</c>: the kernel refused (ptrace needs root; the process may already be traced, or seccompkit itself
    /// runs under seccomp); the message says which. The value is sysexits.h's EX_NOPERM.
    /// </summary>
    public const int PermissionDenied = 77;
}
