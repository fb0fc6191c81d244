using System.Globalization;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy;

/// <summary>A header statement of a policy, for a <see cref="PolicyLocation"/> that is about one.</summary>
public enum PolicyStatement
{
    /// <summary>The default action (<c>default</c>, OCI <c>defaultAction</c>).</summary>
    DefaultAction,
    /// <summary>The covered ABIs (<c>architectures</c>).</summary>
    Architectures,
    /// <summary>The action for other ABIs (<c>on-bad-arch</c>).</summary>
    BadArchAction,
    /// <summary>The filter flags (<c>flags</c>).</summary>
    Flags,
    /// <summary>The notification listener (<c>listener</c>, <c>listener-metadata</c>).</summary>
    Listener,
    /// <summary>One ABI's ENOSYS cutoff (<c>enosys-above</c>); <see cref="PolicyLocation.Abi"/> says which.</summary>
    EnosysAbove,
}

/// <summary>
/// Where a policy problem is, as data: the rule (its index in <see cref="SeccompPolicy.Rules"/>, its syscall, the
/// argument a condition is on) or header statement the model's validation found, and, once a frontend has placed it
/// in its input, the JSON path or <c>file:line:column</c>. Each part is null when unknown. <see cref="SeccompPolicy"/>
/// reports rules and statements; the policy-language parser adds the file position of that rule or statement, the
/// OCI importer its JSON path, so a caller can both print the location and act on it without parsing text.
/// </summary>
public sealed record PolicyLocation
{
    /// <summary>The file (or other named input: a command-line option, <c>&lt;policy&gt;</c>).</summary>
    public string? File { get; init; }

    /// <summary>1-based line in <see cref="File"/> (or in a JSON text without a file name).</summary>
    public int? Line { get; init; }

    /// <summary>1-based column on <see cref="Line"/>.</summary>
    public int? Column { get; init; }

    /// <summary>JSON path such as <c>$.syscalls[3].args[0].op</c>.</summary>
    public string? JsonPath { get; init; }

    /// <summary>0-based index of the rule in <see cref="SeccompPolicy.Rules"/> (the order the policy was given its rules).</summary>
    public int? RuleIndex { get; init; }

    /// <summary>The system call the problem is about.</summary>
    public string? Syscall { get; init; }

    /// <summary>The argument index (0..5) of the condition the problem is about.</summary>
    public int? Argument { get; init; }

    /// <summary>The header statement the problem is about.</summary>
    public PolicyStatement? Statement { get; init; }

    /// <summary>The ABI a statement's part is about (the ENOSYS cutoff of this ABI).</summary>
    public Architecture? Abi { get; init; }

    /// <summary>A JSON path, optionally in a named file.</summary>
    public static PolicyLocation AtJsonPath(string path, string? file = null) => new() { JsonPath = path, File = file };

    /// <summary>A position in a text: <c>file:line:column</c>.</summary>
    public static PolicyLocation AtSource(string file, int line, int column) => new() { File = file, Line = line, Column = column };

    /// <summary>A position in a text without a name (a JSON document given as a string).</summary>
    public static PolicyLocation AtText(int line, int column) => new() { Line = line, Column = column };

    /// <summary>A whole file (it cannot be read, for example).</summary>
    public static PolicyLocation InFile(string file) => new() { File = file };

    /// <summary>A rule of a policy, by 0-based index, optionally one of its conditions' argument.</summary>
    public static PolicyLocation AtRule(int index, string syscall, int? argument = null) => new() { RuleIndex = index, Syscall = syscall, Argument = argument };

    /// <summary>A header statement, optionally one ABI's part of it.</summary>
    public static PolicyLocation AtStatement(PolicyStatement statement, Architecture? abi = null) => new() { Statement = statement, Abi = abi };

    /// <summary>
    /// The most precise form a user can find: <c>file:line:column</c>, <c>line L, column C</c>, <c>file: $.path</c>,
    /// <c>$.path</c>, <c>file</c>, <c>rule 3 (openat)</c>, or the statement's policy-language keyword.
    /// </summary>
    public override string ToString()
    {
        if (Line is int line)
        {
            var at = Column is int col ? $"{line}:{col}" : $"{line}";
            return File is null
                ? string.Create(CultureInfo.InvariantCulture, $"line {line}, column {Column ?? 1}")
                : $"{File}:{at}";
        }
        if (JsonPath is not null) return File is null ? JsonPath : $"{File}: {JsonPath}";
        if (File is not null) return File;
        if (RuleIndex is int i)
            return string.Create(CultureInfo.InvariantCulture, $"rule {i + 1} ({Syscall}{(Argument is int a ? $", argument {a}" : "")})");
        return Statement switch
        {
            PolicyStatement.DefaultAction => "default",
            PolicyStatement.Architectures => "architectures",
            PolicyStatement.BadArchAction => "on-bad-arch",
            PolicyStatement.Flags => "flags",
            PolicyStatement.Listener => "listener",
            PolicyStatement.EnosysAbove => Abi is null ? "enosys-above" : $"enosys-above {Abi.Name}",
            _ => Syscall ?? "the policy",
        };
    }
}
