using System.Collections.Immutable;
using SeccompKit.Learning;

namespace SeccompKit.Linux.Agent;

/// <summary>One syscall the profile would have refused in a container.</summary>
/// <param name="Syscall">Its name (or "ABI #NR" when the ABI's table has no such number).</param>
/// <param name="Actions">The profile's actions for it ("errno(EPERM)"), one per distinct value of its security arguments.</param>
/// <param name="Recorded">What was recorded: ABI, number, count, the first caller (host pid) and the security-argument values seen.</param>
public sealed record ContainerComplaint(string Syscall, ImmutableArray<string> Actions, LearnReportSyscall Recorded);
