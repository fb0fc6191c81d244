using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Language;

/// <summary>
/// How the language names a syscall's arguments, shared by parser and printer so they agree: the
/// kernel's parameter names from <see cref="SyscallSignatures"/> (x86_64) first, then positional
/// <c>arg0</c>..<c>arg5</c> unless a parameter has that name (prctl calls its second argument
/// <c>arg2</c>), and <c>args[N]</c>, which always means <c>seccomp_data.args[N]</c>.
/// </summary>
internal static class ArgumentNames
{
    /// <summary>Which argument <paramref name="name"/> refers to in <paramref name="syscall"/>, or -1.</summary>
    public static int Resolve(string syscall, string name)
    {
        if (SyscallSignatures.TryGet(syscall, out var sig))
            foreach (var a in sig.Arguments)
                if (a.Name == name) return a.Index;
        if (name.Length == 4 && name.StartsWith("arg", StringComparison.Ordinal) && name[3] is >= '0' and <= '5')
            return name[3] - '0';
        return -1;
    }

    /// <summary>The width an argument is compared at when no <c>:32</c>/<c>:64</c> suffix is written.</summary>
    public static ArgumentWidth DefaultWidth(string syscall, int index) =>
        SyscallSignatures.TryGet(syscall, out var sig) && index < sig.Arguments.Length ? sig.Arguments[index].Width : ArgumentWidth.Bits64;

    /// <summary>The name the printer uses for argument <paramref name="index"/>.</summary>
    public static string Name(string syscall, int index)
    {
        if (SyscallSignatures.TryGet(syscall, out var sig) && index < sig.Arguments.Length)
        {
            var n = sig.Arguments[index].Name;
            if (IsIdentifier(n) && Resolve(syscall, n) == index && !Keywords.Contains(n)) return n;
        }
        var positional = $"arg{index}";
        return Resolve(syscall, positional) == index ? positional : $"args[{index}]";
    }

    /// <summary>A readable list of the names usable for <paramref name="syscall"/>'s arguments.</summary>
    public static string Describe(string syscall)
    {
        if (SyscallSignatures.TryGet(syscall, out var sig))
        {
            if (sig.Arguments.IsEmpty) return $"{syscall} takes no arguments";
            return $"{syscall}'s arguments are {string.Join(", ", sig.Arguments.Select(a => $"{a.Name} ({a.CType}, {(int)a.Width}-bit)"))}; positional {(sig.Arguments.Length == 1 ? "name arg0" : $"names arg0..arg{sig.Arguments.Length - 1}")} and args[N] work too";
        }
        return $"no argument names are known for {syscall}; use arg0..arg5 or args[N] (compared at 64 bits unless written arg1:32)";
    }

    /// <summary>Names that read as operators inside a condition and so cannot be argument names.</summary>
    public static readonly HashSet<string> Keywords = new(StringComparer.Ordinal) { "in", "args" };

    private static bool IsIdentifier(string s) =>
        s.Length > 0 && Lexer.IsIdentStart(s[0]) && s.All(Lexer.IsIdentPart);

    /// <summary>The constant family the printer tries for an argument (<c>AF</c> for socket's family...), or null.</summary>
    public static string? Family(string syscall, int index)
    {
        if (!SyscallSignatures.TryGet(syscall, out var sig) || index >= sig.Arguments.Length) return null;
        string arg = sig.Arguments[index].Name;
        return (syscall, arg) switch
        {
            ("socket" or "socketpair", "family") => "AF",
            ("socket" or "socketpair", "type") => "SOCK",
            ("open" or "openat" or "open_by_handle_at", "flags") => "O",
            ("clone", "clone_flags") or ("unshare", "unshare_flags") => "CLONE",
            ("setns", "flags") => "CLONE",
            ("mmap" or "mprotect" or "pkey_mprotect", "prot") => "PROT",
            ("mmap", "flags") => "MAP",
            ("prctl", "option") => "PR",
            ("fcntl", "cmd") => "F",
            ("ioctl", "cmd") => "IOCTL",
            ("futex", "op") => "FUTEX",
            ("kill" or "tkill" or "tgkill" or "rt_sigqueueinfo" or "rt_tgsigqueueinfo" or "pidfd_send_signal", "sig") => "SIG",
            ("personality", "personality") => "PER",
            (_, "dfd" or "olddfd" or "newdfd" or "from_dfd" or "to_dfd") => "AT_FDCWD",
            ("newfstatat" or "fchownat" or "linkat" or "unlinkat" or "utimensat" or "faccessat2" or "statx" or "execveat"
                or "name_to_handle_at" or "fchmodat2" or "open_tree" or "mount_setattr", "flag" or "flags") => "AT",
            _ => null,
        };
    }
}
