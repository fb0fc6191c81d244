using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>Options for <see cref="OciImporter"/>.</summary>
public sealed record OciImportOptions
{
    /// <summary>
    /// The architecture runc runs on. libseccomp always includes it in the filter (seccomp_init adds the
    /// native arch), whatever <c>architectures</c> lists. Default: <see cref="Architecture.NativeHost"/>.
    /// </summary>
    public Architecture Native { get; init; } = Architecture.NativeHost;

    /// <summary>
    /// Read the profile exactly as this runtime version does (<see cref="OciTarget"/>): which flags, actions and
    /// architectures it accepts, what an absent <c>flags</c> means, which architectures get its ENOSYS stub (none for
    /// crun), whether errnoRet on other actions is an error. Null (the default) reads it as runc does with the
    /// runtime-spec's flags (an absent list is SPEC_ALLOW, every known flag accepted) and runc 1.1's stub over the listed
    /// architectures.
    /// </summary>
    public OciTarget? Target { get; init; }
}

/// <summary>
/// Turns OCI <c>linux.seccomp</c> into a <see cref="SeccompPolicy"/> with the meaning runc gives it
/// (libcontainer/specconv SetupSeccomp, libcontainer/seccomp InitSeccomp and matchCall, libseccomp's rule
/// database, and patchbpf's ENOSYS stub). What runc silently skips is kept out of the policy and reported
/// as a <see cref="PolicyDiagnostic"/>; what runc refuses is a <see cref="PolicyException"/> with the JSON path.
/// </summary>
public static class OciImporter
{
    private const int EPERM = 1;

    /// <summary>patchbpf compares defaultErrnoRet with the whole SCMP_ACT_ERRNO(ENOSYS) value (0x50026), not with 38.</summary>
    private const ulong RuncEnosysSkipValue = 0x0005_0026;

    /// <summary>Imports OCI JSON text (the seccomp object, or a whole config.json).</summary>
    /// <exception cref="PolicyException">Invalid JSON or a configuration runc refuses; the location is the JSON path.</exception>
    public static (SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics) Import(string json, OciImportOptions? options = null)
    {
        var (dto, readNotes) = OciJson.Read(json);
        var (policy, notes) = Import(dto, options);
        return (policy, readNotes.AddRange(notes));
    }

    /// <summary>Imports an already-read seccomp object.</summary>
    /// <exception cref="PolicyException">A configuration runc refuses; the location is the JSON path.</exception>
    public static (SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics) Import(OciSeccomp seccomp, OciImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(seccomp);
        var native = (options ?? new()).Native;
        var model = options?.Target?.Model;
        string runtime = options?.Target?.ToString() ?? "runc";
        var notes = new List<PolicyDiagnostic>();
        var syscalls = seccomp.Syscalls ?? [];

        // specconv: no defaultAction and no syscalls means "no seccomp at all", which no policy expresses.
        if (string.IsNullOrEmpty(seccomp.DefaultAction) && syscalls.Count == 0)
            throw new PolicyException("defaultAction is missing and there are no syscalls: runc then installs no seccomp filter at all, which a policy cannot express. Set defaultAction (e.g. SCMP_ACT_ALLOW) or remove linux.seccomp.", PolicyLocation.AtJsonPath("$.defaultAction"));

        // ---- flags (specconv: absent means SPEC_ALLOW when supported; present means exactly these).
        var flags = PolicyFlags.None;
        if (seccomp.Flags is null)
        {
            flags = model?.AbsentFlags ?? PolicyFlags.SpecAllow;
            if (flags == PolicyFlags.SpecAllow)
                notes.Add(new(DiagnosticSeverity.Info, "$.flags", $"no flags given, so {runtime} sets SECCOMP_FILTER_FLAG_SPEC_ALLOW (when libseccomp and the kernel support it); write \"flags\": [] for none."));
        }
        else
        {
            if (model is { Flags.IsEmpty: true } && seccomp.Flags.Count > 0)
                throw new PolicyException($"seccomp flags are not yet supported by runc: {runtime} refuses any flag; write \"flags\": [] (or target runc 1.2+ or crun).", PolicyLocation.AtJsonPath("$.flags"));
            for (int i = 0; i < seccomp.Flags.Count; i++)
            {
                string f = seccomp.Flags[i];
                if (!OciNames.Flags.TryGetValue(f, out var flag) || (model is not null && !model.Flags.Contains(f)))
                    throw new PolicyException($"seccomp flag {f} is not known to {runtime}; use one of {OciNames.List(model?.Flags ?? [.. OciNames.Flags.Keys])}.", PolicyLocation.AtJsonPath($"$.flags[{i}]"));
                if (flag == PolicyFlags.WaitKillableRecv && model is null)
                    notes.Add(new(DiagnosticSeverity.Warning, $"$.flags[{i}]", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is in the runtime-spec but runc (1.1-1.5) refuses it as 'not known to runc'; crun 1.6+ supports it."));
                flags |= flag;
            }
        }

        // ---- architectures: libseccomp's filter always holds the native arch; runc adds the listed ones.
        var listed = new List<Architecture>();
        var archs = seccomp.Architectures ?? [];
        for (int i = 0; i < archs.Count; i++)
        {
            if (!OciNames.Architectures.TryGetValue(archs[i], out var a) || (model is not null && !model.Architectures.Contains(archs[i])))
                throw new PolicyException($"string {archs[i]} is not a valid arch for seccomp ({runtime}); use one of {OciNames.List(model?.Architectures ?? [.. OciNames.Architectures.Keys])}.", PolicyLocation.AtJsonPath($"$.architectures[{i}]"));
            // libseccomp's seccomp_arch_add refuses an arch of the other byte order (EDOM), so runc and crun fail (seen on x86_64).
            if (a.IsLittleEndian != native.IsLittleEndian)
                throw new PolicyException($"{archs[i]} has another byte order than the native {native.Name}; libseccomp refuses to mix them in one filter (EDOM), so the runtime fails to start the container. Remove it (or read the profile for a {a.Name} host with --arch).", PolicyLocation.AtJsonPath($"$.architectures[{i}]"));
            if (!listed.Contains(a)) listed.Add(a);
        }
        var architectures = new List<Architecture> { native };
        architectures.AddRange(listed.Where(a => a != native));

        // ---- default action.
        var defaultKind = ParseAction(seccomp.DefaultAction ?? "", "$.defaultAction", model, runtime);
        var defaultAction = MakeAction(defaultKind, seccomp.DefaultErrnoRet, "$.defaultErrnoRet", "defaultAction", notes, model, runtime);
        if (defaultKind == SeccompAction.UserNotif && model?.RefusesNotifyDefaultAndWrite != false)
            throw new PolicyException("SCMP_ACT_NOTIFY cannot be used as default action (runc refuses it: the runtime itself must still make syscalls, e.g. write, to hand over the listener fd). Use SCMP_ACT_NOTIFY on specific syscalls.", PolicyLocation.AtJsonPath("$.defaultAction"));

        // ---- rules, one libseccomp rule per name (specconv expands names).
        // Path: where notes about the rule point; Entry: the JSON path of what made it (a name, or the one condition of an alternative).
        var candidates = new List<(SyscallRule Rule, string Path, string Entry)>();
        bool anyNotify = false;
        int unknownNames = 0;
        string? firstNotify = null;
        for (int i = 0; i < syscalls.Count; i++)
        {
            var entry = syscalls[i];
            string at = entry.Origin ?? $"$.syscalls[{i}]";
            var kind = ParseAction(entry.Action, $"{at}.action", model, runtime);
            var action = MakeAction(kind, entry.ErrnoRet, $"{at}.errnoRet", "this entry's action", notes, model, runtime);
            var conditions = ParseConditions(entry.Args, at, notes);
            if (entry.Names.Count == 0)
            {
                notes.Add(new(DiagnosticSeverity.Warning, at, "this entry has no names, so it does nothing; add \"names\"."));
                continue;
            }
            if (kind == SeccompAction.UserNotif)
            {
                anyNotify = true;
                firstNotify ??= $"{at}.action";
            }
            bool sameAsDefault = action == defaultAction;
            if (sameAsDefault)
                notes.Add(new(DiagnosticSeverity.Info, $"{at}.action", $"the action equals defaultAction ({defaultAction}), so runc skips the entry (its names still count for the ENOSYS cutoff)."));
            for (int j = 0; j < entry.Names.Count; j++)
            {
                string name = entry.Names[j];
                string namePath = $"{at}.names[{j}]";
                if (name.Length == 0)
                    throw new PolicyException("empty string is not a valid syscall; remove it or write a name.", PolicyLocation.AtJsonPath(namePath));
                if (kind == SeccompAction.UserNotif && name == "write" && model?.RefusesNotifyDefaultAndWrite != false)
                    throw new PolicyException("SCMP_ACT_NOTIFY cannot be used for the write syscall (runc must write the listener fd to its parent after installing the filter and would hang). Use another action for write.", PolicyLocation.AtJsonPath(namePath));
                if (sameAsDefault) continue;
                if (!architectures.Any(a => a.Syscalls.Contains(name)))
                {
                    // Bounded: a generated or hostile profile of millions of unknown names gets the first ones
                    // explained (with suggestions) and a count of the rest, not millions of searches and lines.
                    if (++unknownNames <= MaxUnknownNameNotes)
                        notes.Add(new(DiagnosticSeverity.Warning, namePath, UnknownName(name, architectures)));
                    continue;
                }
                foreach (var (conds, condPath) in Alternatives(conditions, at))
                {
                    var rule = new SyscallRule(name, action, conds) { Origin = condPath is null ? namePath : $"{namePath} with {condPath}" };
                    candidates.Add((rule, condPath is null ? namePath : $"{namePath} with {condPath}", condPath ?? namePath));
                }
            }
        }
        if (unknownNames > MaxUnknownNameNotes)
            notes.Add(new(DiagnosticSeverity.Warning, "$.syscalls", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{unknownNames - MaxUnknownNameNotes} more unknown system call names are not listed one by one (the first {MaxUnknownNameNotes} are); runc skips them all.")));
        // runc sets SECCOMP_FILTER_FLAG_NEW_LISTENER for any NOTIFY rule and then fails container creation
        // with "seccomp listenerPath is not set" when there is nowhere to send the fd.
        if (anyNotify && string.IsNullOrEmpty(seccomp.ListenerPath))
            throw new PolicyException("seccomp listenerPath is not set: an SCMP_ACT_NOTIFY rule needs a listenerPath (a UNIX socket of the seccomp agent) to receive the notification fd. Add listenerPath or change the action.", PolicyLocation.AtJsonPath(firstNotify!));

        var rules = ApplyRuleDatabase(candidates, notes);

        // ---- patchbpf's ENOSYS stub.
        var stub = model?.EnosysStub ?? OciEnosysStub.ListedArchitectures;
        var stubbed = stub switch
        {
            OciEnosysStub.None => [],
            OciEnosysStub.ListedAndNative => listed.Contains(native) ? listed : [native, .. listed],
            _ => listed,
        };
        var enosys = EnosysCutoffs(seccomp, defaultKind, stubbed, syscalls, notes);

        try
        {
            var policy = new SeccompPolicy(defaultAction, rules.Select(r => r.Rule), architectures, PolicyAction.KillThread, flags,
                seccomp.ListenerPath, seccomp.ListenerMetadata, enosys);
            return (policy, [.. notes]);
        }
        catch (PolicyException e) when (e.Location is { RuleIndex: int n } && n >= 0 && n < rules.Count)
        {
            // The model's validation (e.g. a condition on an argument the syscall lacks, which runc accepts but whose
            // result depends on leftover register contents) names the rule; point at the profile entry that made it.
            var at = e.Location with { JsonPath = rules[n].Entry };
            throw e.Location.Argument is null ? e.At(at)
                : new PolicyException(e.Problem, $"runc accepts such a condition, but the filter's answer would depend on what the caller left in that register; {e.Hint}", at);
        }
    }

    private static SeccompAction ParseAction(string name, string path, OciRuntimeModel? model, string runtime) =>
        OciNames.Actions.TryGetValue(name, out var kind) && (model is null || model.Actions.Contains(name)) ? kind
            : throw new PolicyException($"string {(name.Length == 0 ? "\"\"" : name)} is not a valid action for seccomp ({runtime}); use one of {OciNames.List(model?.Actions ?? [.. OciNames.Actions.Keys])}.", PolicyLocation.AtJsonPath(path));

    /// <summary>
    /// runc's getAction: errnoRet only means something for ERRNO and TRACE (default EPERM for both); it is cast
    /// to int16 and libseccomp keeps its low 16 bits. The kernel caps an ERRNO value at MAX_ERRNO (4095).
    /// </summary>
    private static PolicyAction MakeAction(SeccompAction kind, ulong? errnoRet, string path, string what, List<PolicyDiagnostic> notes, OciRuntimeModel? model, string runtime)
    {
        if (kind is not (SeccompAction.Errno or SeccompAction.Trace))
        {
            if (errnoRet is not null && model is { RefusesErrnoRetOnOtherActions: true })
                throw new PolicyException($"errno value specified for action {OciNames.ActionName(kind)}: {runtime} accepts errnoRet only with SCMP_ACT_ERRNO and SCMP_ACT_TRACE; remove it.", PolicyLocation.AtJsonPath(path));
            if (errnoRet is not null)
                notes.Add(new(DiagnosticSeverity.Warning, path, $"errnoRet is ignored for {OciNames.ActionName(kind)} (runc uses it only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE); remove it."));
            return PolicyAction.Of(kind);
        }
        ulong raw = errnoRet ?? EPERM;
        int data = (int)(raw & 0xffff);
        if ((ulong)data != raw)
            notes.Add(new(DiagnosticSeverity.Warning, path, $"{raw} does not fit 16 bits; runc passes it as int16, so the filter uses {data}. Use a value up to {(kind == SeccompAction.Errno ? SeccompReturn.MAX_ERRNO : 65535)}."));
        if (kind == SeccompAction.Trace) return PolicyAction.Trace(data);
        if (data > SeccompReturn.MAX_ERRNO)
        {
            notes.Add(new(DiagnosticSeverity.Warning, path, $"errno {data} is above MAX_ERRNO; the kernel returns -{SeccompReturn.MAX_ERRNO} instead, so that is what {what} does here. Use a real errno (1..4095)."));
            data = SeccompReturn.MAX_ERRNO;
        }
        return PolicyAction.Errno(data);
    }

    /// <summary>runc's getCondition via libseccomp-golang MakeCondition: index 0..5, value/valueTwo as (mask, expected) for MASKED_EQ.</summary>
    private static List<(ArgCondition Condition, string Path)> ParseConditions(IReadOnlyList<OciArg> args, string at, List<PolicyDiagnostic> notes)
    {
        var list = new List<(ArgCondition, string)>();
        for (int k = 0; k < args.Count; k++)
        {
            var a = args[k];
            string p = $"{at}.args[{k}]";
            if (!OciNames.Operators.TryGetValue(a.Op, out var op))
                throw new PolicyException($"string {(a.Op.Length == 0 ? "\"\"" : a.Op)} is not a valid operator for seccomp; use one of {OciNames.List(OciNames.Operators.Keys)}.", PolicyLocation.AtJsonPath($"{p}.op"));
            if (a.Index > 5)
                throw new PolicyException($"argument index {a.Index} is out of range: a system call has at most six arguments, numbered 0 to 5 (libseccomp refuses the rule, so runc fails).", PolicyLocation.AtJsonPath($"{p}.index"));
            ArgCondition c;
            if (op == ArgOperator.MaskedEqual)
                c = new ArgCondition((int)a.Index, op, value: a.ValueTwo, mask: a.Value);
            else
            {
                if (a.ValueTwo != 0)
                    notes.Add(new(DiagnosticSeverity.Warning, $"{p}.valueTwo", $"valueTwo is only used by SCMP_CMP_MASKED_EQ; libseccomp ignores it for {a.Op}. Remove it."));
                c = new ArgCondition((int)a.Index, op, a.Value);
            }
            list.Add((c, p));
        }
        return list;
    }

    /// <summary>
    /// matchCall: when one argument index appears more than once, every condition becomes its own rule
    /// (an OR, runc's "old behavior"); otherwise all conditions form one AND rule.
    /// </summary>
    private static IEnumerable<(IReadOnlyList<ArgCondition> Conditions, string? Path)> Alternatives(List<(ArgCondition Condition, string Path)> conditions, string at)
    {
        if (conditions.Count == 0)
        {
            yield return ([], null);
            yield break;
        }
        bool repeated = conditions.GroupBy(c => c.Condition.Index).Any(g => g.Count() > 1);
        if (!repeated)
        {
            yield return (conditions.Select(c => c.Condition).ToList(), null);
            yield break;
        }
        foreach (var (c, p) in conditions)
            yield return ([c], p);
    }

    /// <summary>How many unknown syscall names get a note of their own (with suggestions); the rest are counted in one note.</summary>
    internal const int MaxUnknownNameNotes = 100;

    private static string UnknownName(string name, List<Architecture> architectures)
    {
        var arches = string.Join(", ", architectures.Select(a => a.Name));
        var mux = architectures.Select(a => a.Syscalls.TryGetMultiplexed(name, out var m) ? $"{a.Name}: {(m.Multiplexer == Multiplexer.Socketcall ? "socketcall" : "ipc")}(call {m.CallNumber})" : null).Where(x => x is not null).ToList();
        if (mux.Count > 0)
            return $"'{name}' has no syscall number on {arches}; libseccomp turns its rule into a rule on the multiplexer ({string.Join(", ", mux)}), which SeccompKit's policy model does not express, so it is left out here. This only matters if the multiplexer itself is not allowed.";
        // Suggestions and the other arches' tables are costly (every table is built on first use): only for real unknowns.
        var close = Suggestions.Closest(name, architectures.SelectMany(a => a.Syscalls.All.Select(e => e.Name)).Distinct().Order(StringComparer.Ordinal));
        // A name longer than any syscall's is shown cut, so that a hostile one does not make a megabyte line.
        string shown = name.Length <= 80 ? name : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name[..60]}...' ({name.Length} characters)");
        var msg = $"unknown system call '{shown}{(name.Length <= 80 ? "'" : "")} on {arches}: runc skips it (libseccomp cannot place it in this filter).";
        var elsewhere = Architecture.All.Where(a => a.Syscalls.Contains(name)).Select(a => a.Name).ToList();
        if (elsewhere.Count > 0) msg += $" It exists on {string.Join(", ", elsewhere)}.";
        if (close.Count > 0) msg += $" Did you mean {Suggestions.OrList(close)}?";
        return msg;
    }

    /// <summary>
    /// libseccomp's rule database, per syscall (checked against libseccomp 2.5.4's seccomp_rule_add and
    /// seccomp_export_pfc): an unconditional rule overrides every conditional rule (whatever the order or
    /// actions); of several unconditional rules the FIRST wins and later ones are accepted but ignored (rc 0,
    /// even with another action); two conditional rules with the same conditions and different actions make
    /// seccomp_rule_add fail with EEXIST (so runc fails); exact duplicates are merged.
    /// </summary>
    private static List<(SyscallRule Rule, string Path, string Entry)> ApplyRuleDatabase(List<(SyscallRule Rule, string Path, string Entry)> candidates, List<PolicyDiagnostic> notes)
    {
        var keep = new List<(SyscallRule Rule, string Path, string Entry)>();
        foreach (var group in candidates.GroupBy(c => c.Rule.Syscall, StringComparer.Ordinal))
        {
            var list = group.ToList();
            var uncond = list.Where(c => c.Rule.IsUnconditional).ToList();
            foreach (var u in uncond.Skip(1))
                notes.Add(u.Rule.Action == uncond[0].Rule.Action
                    ? new(DiagnosticSeverity.Info, u.Path, $"duplicate: {group.Key} is already {uncond[0].Rule.Action} (at {uncond[0].Path}).")
                    : new(DiagnosticSeverity.Warning, u.Path, $"this rule never applies: {group.Key} is already {uncond[0].Rule.Action} unconditionally (at {uncond[0].Path}), and libseccomp keeps the first unconditional rule of a syscall and silently ignores later ones, so runc gives {uncond[0].Rule.Action}. Remove one of them."));
            if (uncond.Count > 0)
            {
                foreach (var c in list.Where(c => !c.Rule.IsUnconditional))
                    notes.Add(c.Rule.Action == uncond[0].Rule.Action
                        ? new(DiagnosticSeverity.Info, c.Path, $"redundant: {group.Key} is already {uncond[0].Rule.Action} unconditionally (at {uncond[0].Path}).")
                        : new(DiagnosticSeverity.Warning, c.Path, $"this rule ({c.Rule}) never applies: {group.Key} also has an unconditional rule {uncond[0].Rule.Action} at {uncond[0].Path}, and in libseccomp an unconditional rule overrides every conditional rule of the syscall, so runc and crun give {uncond[0].Rule.Action} for all calls. Remove one of them, or make the unconditional rule conditional."));
                keep.Add(uncond[0]);
                continue;
            }
            var kept = new List<(SyscallRule Rule, string Path, string Entry)>();
            // Rules bucketed by an order-independent hash of their condition set, so that thousands of rules of one
            // syscall cost linear time, not a comparison of every pair.
            var buckets = new Dictionary<int, List<int>>();
            foreach (var c in list)
            {
                int key = c.Rule.ConditionSetHash();
                if (!buckets.TryGetValue(key, out var bucket)) buckets[key] = bucket = [];
                int found = bucket.FindIndex(k => kept[k].Rule.HasSameConditions(c.Rule));
                if (found < 0) { bucket.Add(kept.Count); kept.Add(c); continue; }
                var same = kept[bucket[found]];
                if (same.Rule.Action != c.Rule.Action)
                    throw new PolicyException($"{group.Key} has two rules with the same conditions and different actions: {same.Rule} (at {same.Path}) and {c.Rule.Action} (here); libseccomp refuses the second (EEXIST), so runc fails. Keep one.", PolicyLocation.AtJsonPath(c.Path));
            }
            keep.AddRange(kept);
        }
        // Keep the input order of first appearance.
        var order = new Dictionary<SyscallRule, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < candidates.Count; i++) order.TryAdd(candidates[i].Rule, i);
        return [.. keep.OrderBy(k => order[k.Rule])];
    }

    /// <summary>
    /// patchbpf generatePatch/findLastSyscalls: unless the default action lets calls run (ALLOW, LOG, TRACE per
    /// isAllowAction) — or defaultErrnoRet equals the whole SCMP_ACT_ERRNO(ENOSYS) return value, which runc
    /// compares by mistake instead of 38 — every arch LISTED in architectures (not the implicit native one)
    /// gets ENOSYS above the largest number of any name in any entry (including entries skipped for having the
    /// default action); an arch none of whose names resolve gets no stub.
    /// </summary>
    private static Dictionary<Architecture, uint> EnosysCutoffs(OciSeccomp seccomp, SeccompAction defaultKind, List<Architecture> listed,
        IReadOnlyList<OciSyscall> syscalls, List<PolicyDiagnostic> notes)
    {
        var result = new Dictionary<Architecture, uint>();
        if (seccomp.DefaultErrnoRet == RuncEnosysSkipValue) return result;
        if (defaultKind is SeccompAction.Allow or SeccompAction.Log or SeccompAction.Trace) return result;
        foreach (var arch in listed)
        {
            int largest = 0;
            foreach (var entry in syscalls)
                foreach (var name in entry.Names)
                    if (arch.Syscalls.TryGetNumber(name, out int nr) && nr > largest)
                        largest = nr;
            if (largest == 0)
            {
                notes.Add(new(DiagnosticSeverity.Warning, "$.architectures", $"no syscall of the profile exists on {arch.Name}, so runc adds no ENOSYS stub for it (\"could not find any syscalls for arch\")."));
                continue;
            }
            result[arch] = (uint)largest;
        }
        return result;
    }
}
