using SeccompKit.Bpf;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Learning;

/// <summary>
/// What a learned profile must do with a call, worked out from the recorded calls alone (never from the profile):
/// allow exactly the names recorded (on every ABI seen) and the baseline (when asked), and for a name with security
/// arguments exactly the masked value tuples seen (for permission arguments, mmap/mprotect prot, also any value with fewer
/// bits than one seen or than the granted ones); clone3 gets ENOSYS (by default); refuse everything else with the
/// default action. The compiled filter, run in the interpreter,
/// is checked against this.
/// </summary>
internal sealed class LearnedProfileModel
{
    private readonly SynthesisOptions _options;
    private readonly HashSet<Architecture> _covered;
    private readonly HashSet<string> _unconditional = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IReadOnlyList<RecordedArgument> Spec, HashSet<(ulong, ulong, ulong)> Tuples)> _conditional = new(StringComparer.Ordinal);
    private readonly Dictionary<Architecture, uint> _enosysAbove = [];
    private readonly bool _clone3Enosys;

    public LearnedProfileModel(LearnedCalls calls, SynthesisOptions options)
    {
        _options = options;
        _covered = [.. calls.Syscalls.Where(s => s.Abi is not null).Select(s => s.Abi!)];
        if (_covered.Count == 0) _covered.Add(Architecture.NativeHost);
        foreach (var s in calls.Syscalls.Where(s => s.Abi is not null && s.Name is not null))
        {
            var name = s.Name!;
            if (options.Arguments == ArgumentMode.None || s.Arguments.IsDefaultOrEmpty || s.TooManyValues) { _unconditional.Add(name); continue; }
            if (!_conditional.TryGetValue(name, out var c)) _conditional[name] = c = (s.Arguments, []);
            foreach (var v in s.Values) c.Tuples.Add((v.Values.V0, v.Values.V1, v.Values.V2));
        }
        foreach (var (name, _) in options.Extra) _unconditional.Add(name);
        // The baseline: every member some covered ABI has, allowed without conditions unless recorded with them.
        if (options.Baseline)
            foreach (var b in LearnedBaseline.All)
                if (_covered.Any(a => a.Syscalls.Contains(b.Syscall)) && !_conditional.ContainsKey(b.Syscall)) _unconditional.Add(b.Syscall);
        foreach (var name in _unconditional) _conditional.Remove(name);
        // clone3: ENOSYS whatever was recorded (glibc falls back to clone); with Allow, allowed when recorded.
        _clone3Enosys = options.Clone3 == Clone3Rule.Enosys && _covered.Any(a => a.Syscalls.Contains("clone3"));
        if (_clone3Enosys) { _unconditional.Add("clone3"); _conditional.Remove("clone3"); }
        Names = [.. _unconditional.Concat(_conditional.Keys).Where(n => _covered.Any(a => a.Syscalls.Contains(n)))];
        // runc adds an ENOSYS stub above the largest number a profile names on every ABI it lists, when the default
        // action is not an allowing one; an OCI profile lists every ABI but the native one.
        if (options.DefaultAction.Kind is not (SeccompAction.Allow or SeccompAction.Log or SeccompAction.Trace))
            foreach (var abi in _covered.Where(a => a != Architecture.NativeHost))
            {
                int max = Names.Select(n => abi.Syscalls.TryGetNumber(n, out int nr) ? nr : 0).DefaultIfEmpty(0).Max();
                if (max > 0) _enosysAbove[abi] = (uint)max;
            }
    }

    /// <summary>The names the profile may mention.</summary>
    public HashSet<string> Names { get; }

    /// <summary>Whether <paramref name="name"/> gets conditions.</summary>
    public bool IsConditional(string name) => _conditional.ContainsKey(name);

    /// <summary>The seccomp return value the profile must give.</summary>
    public uint Expected(SeccompData d)
    {
        Architecture? abi = Architecture.TryFromAuditArch(d.Arch, out var a) ? a : null;
        if (abi == Architecture.X86_64 && (d.Nr & Architecture.X32SyscallBit) != 0) abi = Architecture.X32;
        if (abi is null || !_covered.Contains(abi)) return PolicyAction.KillThread.ReturnValue; // runc's bad-arch action
        if (_enosysAbove.TryGetValue(abi, out var cutoff) && (uint)d.Nr > cutoff) return PolicyAction.Errno(38).ReturnValue;
        if (!abi.Syscalls.TryGetName(d.Nr, out var name) || !Names.Contains(name)) return _options.DefaultAction.ReturnValue;
        if (name == "clone3" && _clone3Enosys) return PolicyAction.Errno(38).ReturnValue;
        if (!_conditional.TryGetValue(name, out var c)) return SeccompReturn.SECCOMP_RET_ALLOW;
        ulong V(int i) => i < c.Spec.Count ? d.Args[c.Spec[i].Index] & c.Spec[i].Mask : 0;
        // A permission argument (Granted set) also allows any value with no bit beyond a seen one, or beyond the granted bits.
        bool Fits(int i, ulong seen) => i >= c.Spec.Count || V(i) == seen
            || (c.Spec[i].Granted is { } granted && ((V(i) & ~seen) == 0 || (V(i) & ~(granted & c.Spec[i].Mask)) == 0));
        return c.Tuples.Any(t => Fits(0, t.Item1) && Fits(1, t.Item2) && Fits(2, t.Item3)) ? SeccompReturn.SECCOMP_RET_ALLOW : _options.DefaultAction.ReturnValue;
    }

    /// <summary>Whether a seccomp return value lets the call run (ALLOW or LOG), as ReplayCheck counts it.</summary>
    public static bool LetsRun(uint ret) => (ret & SeccompReturn.SECCOMP_RET_ACTION_FULL) is SeccompReturn.SECCOMP_RET_ALLOW or SeccompReturn.SECCOMP_RET_LOG;
}
