using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Kernel;

/// <summary>
/// Which hosts the kernel layer runs on: x86_64 Linux only, today. Its raw system call numbers (seccomp, pidfd_open,
/// pidfd_getfd...), the ptrace register layout <see cref="Inspect.FilterDump"/> reads, the AUDIT_ARCH it expects in
/// <c>seccomp_data</c> and the filters it builds for its own stage two are x86_64's, so on another machine it would
/// make the wrong calls rather than fail. Each entry point that reaches the kernel (<see cref="SeccompKernel"/>,
/// <see cref="KernelFeatures"/>, <see cref="Supervise.NotificationListener"/>, <see cref="Inspect.FilterDump"/>,
/// <see cref="Launch.SandboxLauncher"/>) calls <see cref="EnsureSupported"/> first and refuses clearly.
/// The pure core (<c>SeccompKit</c>: policies, OCI/Docker profiles, the compiler for every architecture, the BPF
/// interpreter) runs anywhere .NET does.
/// </summary>
public static class HostSupport
{
    private static readonly string? HostRefusal =
        Refusal(RuntimeInformation.ProcessArchitecture, OperatingSystem.IsLinux());

    /// <summary>Whether this process can use the kernel layer: a Linux process running x86_64 code.</summary>
    public static bool IsSupported => HostRefusal is null;

    /// <summary>Throws <see cref="UnsupportedHostException"/> unless <see cref="IsSupported"/>.</summary>
    public static void EnsureSupported()
    {
        if (HostRefusal is not null) throw new UnsupportedHostException(HostRefusal);
    }

    /// <summary>
    /// The decision, with the host given: null when the kernel layer supports it, else the message that says what
    /// is missing and what works instead.
    /// </summary>
    internal static string? Refusal(Architecture processArchitecture, bool isLinux)
    {
        if (isLinux && processArchitecture == Architecture.X64) return null;
        string host = isLinux ? $"this process runs {Name(processArchitecture)} code"
            : $"this process runs on {RuntimeInformation.OSDescription.Trim()} ({Name(processArchitecture)}), not Linux";
        return $"SeccompKit's kernel layer (SeccompKit.Linux: installing filters, run, learn, supervise, dump, features) supports only x86_64 Linux hosts today, and {host}: " +
            "its system call numbers, register layouts and the filters it builds for itself are x86_64's. " +
            "What works on any host is the pure core (the SeccompKit package; seccompkit compile, convert, check, disasm, emulate, merge): " +
            "policies, OCI and Docker profiles, and filters compiled for any architecture (architectures aarch64, ...).";
    }

    private static string Name(Architecture a) => a switch
    {
        Architecture.X64 => "x86_64",
        Architecture.X86 => "32-bit x86",
        Architecture.Arm64 => "arm64 (aarch64)",
        Architecture.Arm => "32-bit arm",
        _ => a.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// The kernel layer was used on a host it does not support (see <see cref="HostSupport"/>); the message says which
/// hosts are supported and what works elsewhere. Like <see cref="PlatformNotSupportedException"/>, but a
/// <see cref="SeccompException"/>, so callers that handle SeccompKit's errors handle this one too.
/// </summary>
public sealed class UnsupportedHostException : SeccompException
{
    /// <summary>Creates the exception with the refusal message.</summary>
    public UnsupportedHostException(string message) : base(message) { }
}
