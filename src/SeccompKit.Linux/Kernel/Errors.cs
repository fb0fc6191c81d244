using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Kernel;

/// <summary>The one place where a failed call's errno becomes an exception (or a typed value).</summary>
internal static class Errors
{
    /// <summary>The errno of the last P/Invoke made with <c>SetLastError = true</c>.</summary>
    internal static Errno Last() => (Errno)Marshal.GetLastPInvokeError();

    /// <summary>Throws <see cref="ErrnoException"/> for a negative result, with advice chosen by errno.</summary>
    internal static long Check(long result, string call, Func<Errno, string>? advice = null)
    {
        if (result >= 0) return result;
        var errno = Last();
        throw new ErrnoException(call, errno, advice?.Invoke(errno) ?? "");
    }

    /// <summary>
    /// Runs <paramref name="call"/> again while it fails with EINTR (a signal arrived; the kernel did nothing),
    /// so that EINTR never escapes SeccompKit. Returns the result and the errno of a failure.
    /// </summary>
    internal static (long Result, Errno Errno) RetryEintr(Func<long> call)
    {
        while (true)
        {
            long r = call();
            if (r >= 0) return (r, 0);
            var e = Last();
            if (e != Errno.EINTR) return (r, e);
        }
    }
}
