using System.Globalization;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Analysis.Lint;

/// <summary>Writes a fix in the input's own terms: a policy-language statement, or a JSON edit for OCI/Docker/podman.</summary>
internal sealed class FixText(LintSourceKind kind)
{
    private bool Json => kind == LintSourceKind.Json;

    /// <summary>Give <paramref name="syscalls"/> the action <paramref name="action"/>.</summary>
    public string Give(IEnumerable<string> syscalls, PolicyAction action)
    {
        var names = syscalls.Distinct(StringComparer.Ordinal).ToList();
        if (!Json) return $"{PolicyPrinter.ActionText(action)} {{ {string.Join(", ", names)} }}";
        string errno = action.Kind == SeccompAction.Errno ? string.Create(CultureInfo.InvariantCulture, $", \"errnoRet\": {action.Data}") : "";
        return $"add {{\"names\": [{string.Join(", ", names.Select(n => $"\"{n}\""))}], \"action\": \"{OciNames.ActionName(action.Kind)}\"{errno}}} to $.syscalls";
    }

    /// <summary>Make <paramref name="action"/> the default.</summary>
    public string Default(PolicyAction action)
    {
        if (!Json) return $"default {PolicyPrinter.ActionText(action)}";
        string errno = action.Kind == SeccompAction.Errno ? string.Create(CultureInfo.InvariantCulture, $" and \"defaultErrnoRet\": {action.Data}") : "";
        return $"set \"defaultAction\": \"{OciNames.ActionName(action.Kind)}\"{errno}";
    }

    /// <summary>Remove a rule.</summary>
    public string Remove(SyscallRule rule, LintLocation at) =>
        Json ? $"remove \"{rule.Syscall}\" at {at.JsonPath} (or its whole entry)" : $"remove `{PolicyPrinter.RuleText(rule)}` at {at}";

    /// <summary>Cover <paramref name="arches"/> (a policy-language statement or the JSON field).</summary>
    public string Architectures(IEnumerable<string> arches, IEnumerable<string> ociNames) =>
        Json ? $"set \"architectures\": [{string.Join(", ", ociNames.Select(n => $"\"{n}\""))}]"
             : $"architectures {string.Join(", ", arches)}";

    /// <summary>A fix that only the policy language can write; for JSON, says what the runtime does instead.</summary>
    public string LanguageOnly(string statement, string jsonNote) => Json ? jsonNote : statement;
}
