using System.Numerics;
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
    /// Runs <paramref name="call"/> again while it fails with EINTR (a signal arrived; the kernel did nothing: signal(7)),
    /// so that EINTR never escapes SeccompKit. Returns the last result and, when it is negative, the errno it left.
    /// The one EINTR loop of the library: every interrupted call goes through it (or its stateful overload).
    /// </summary>
    internal static (T Result, Errno Errno) RetryEintr<T>(Func<T> call) where T : struct, IBinaryInteger<T>, ISignedNumber<T>
    {
        while (true)
        {
            T r = call();
            if (!T.IsNegative(r)) return (r, 0);
            var e = Last(); // read at once: nothing may make another P/Invoke in between
            if (e != Errno.EINTR) return (r, e);
        }
    }

    /// <summary>
    /// <see cref="RetryEintr{T}(Func{T})"/> with the call's arguments passed as <paramref name="state"/>, so that a
    /// <c>static</c> lambda does: no closure is allocated per call. For hot paths (a supervisor's receive loop) and for
    /// stage two's listener courier, which must not allocate once the filter is on (the lambda's delegate is cached at
    /// its first use, which stage two makes before the install).
    /// </summary>
    internal static (T Result, Errno Errno) RetryEintr<TState, T>(TState state, Func<TState, T> call)
        where T : struct, IBinaryInteger<T>, ISignedNumber<T>
        where TState : allows ref struct
    {
        while (true)
        {
            T r = call(state);
            if (!T.IsNegative(r)) return (r, 0);
            var e = Last();
            if (e != Errno.EINTR) return (r, e);
        }
    }

    /// <summary>
    /// ioctl(2) on a descriptor the caller holds open, run again while it fails with EINTR, like
    /// <see cref="RetryEintr{TState, T}(TState, Func{TState, T})"/> but without a delegate or errno bookkeeping on success:
    /// the answer of a supervisor's round trip (bench/results/notify.md: the delegate, SetLastError's two errno calls and
    /// the SafeHandle reference counts were a quarter of the supervisor's own time per notification).
    /// </summary>
    internal static unsafe (int Result, Errno Errno) IoctlRetryEintr(int fd, ulong request, void* arg)
    {
        while (true)
        {
            int r = Interop.Notify.ioctl_nolasterror(fd, request, arg);
            if (r >= 0) return (r, 0);
            // Read at once, as the SetLastError stubs do (after the call's return to managed code).
            var e = (Errno)Marshal.GetLastSystemError();
            if (e != Errno.EINTR) return (r, e);
        }
    }
}
