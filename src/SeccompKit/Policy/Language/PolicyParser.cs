using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Language;

/// <summary>Reads policy text (and its includes) into a <see cref="SeccompPolicy"/>. One instance per parse.</summary>
internal sealed class PolicyParser
{
    /// <summary>Most rules one item may lower to; beyond this the condition is probably a mistake.</summary>
    public const int MaxAlternatives = 64;
    private const int MaxNesting = 64;
    private const int MaxIncludeDepth = 32;

    private static readonly string[] StatementKeywords =
        ["default", "architectures", "on-bad-arch", "flags", "listener", "listener-metadata", "enosys-above", "set", "include",
         "allow", "log", "kill", "kill-process", "kill-thread", "trap", "trace", "errno", "notify"];

    private static readonly string[] ActionKeywords = ["allow", "log", "kill", "kill-process", "kill-thread", "trap", "trace", "errno", "notify"];

    private readonly IPolicyIncludeResolver? _resolver;
    private readonly List<string> _includeStack = [];
    private readonly List<string> _chain = [];

    private (PolicyAction Action, string At)? _default;
    private (List<Architecture> List, string At)? _arches;
    private (SourceFile File, int Offset)? _archesAt;
    private (PolicyAction Action, string At)? _badArch;
    private (PolicyFlags Flags, string At)? _flags;
    private (string Path, string At)? _listener;
    private (string Text, string At)? _metadata;
    private readonly Dictionary<Architecture, (uint Cutoff, SourceFile File, int Offset)> _enosys = [];
    private readonly Dictionary<string, (List<Item> Items, string At)> _sets = new(StringComparer.Ordinal);
    private readonly List<(SyscallRule Rule, SourceFile File, int Offset)> _rules = [];
    // The rules of each syscall, for the duplicate check: comparing each new rule with every rule before it was quadratic
    // in the rule count (issue 17).
    private readonly Dictionary<string, List<SyscallRule>> _rulesBySyscall = new(StringComparer.Ordinal);

    private SourceFile _file = null!;
    private List<Token> _tokens = null!;
    private int _pos;
    private int _depth;

    public PolicyParser(IPolicyIncludeResolver? resolver) => _resolver = resolver;

    /// <summary>A syscall reference in a block or set, already lowered to alternatives (an empty list = unconditional).</summary>
    private sealed record Item(string Syscall, SourceFile File, int Offset, List<List<ArgCondition>>? Alternatives);

    public SeccompPolicy Parse(string text, string fileName)
    {
        _includeStack.Add(fileName);
        ParseFile(new SourceFile(fileName, text, []));
        var top = new SourceFile(fileName, text, []);
        if (_default is null)
            throw top.Error(0, "the policy has no default action", "add a line such as 'default kill-process' or 'default errno(EPERM)': it says what happens to calls no rule matches.");
        return Build(top);
    }

    /// <summary>Reads one action and nothing else (what a command-line option such as --default-action takes).</summary>
    public PolicyAction ParseActionText(string text, string origin)
    {
        _file = new SourceFile(origin, text, []);
        _tokens = Lexer.Tokenize(_file);
        _pos = 0;
        var action = ParseAction();
        if (Peek.Kind != TokenKind.End)
            throw Error(Peek, $"unexpected {Peek.Describe()} after the action", "give one action, e.g. errno(EPERM), kill-process or trap(5).");
        return action;
    }

    private void ParseFile(SourceFile file)
    {
        var (savedFile, savedTokens, savedPos) = (_file, _tokens, _pos);
        _file = file;
        _tokens = Lexer.Tokenize(file);
        _pos = 0;
        while (Peek.Kind != TokenKind.End) Statement();
        (_file, _tokens, _pos) = (savedFile, savedTokens, savedPos);
    }

    private Token Peek => _tokens[_pos];

    private Token PeekAt(int k) => _tokens[Math.Min(_pos + k, _tokens.Count - 1)];

    private Token Next() => _tokens[_pos < _tokens.Count - 1 ? _pos++ : _pos];

    private PolicyParseException Error(Token at, string message, string? hint = null) => _file.Error(at.Offset, message, hint);

    private Token Expect(TokenKind kind, string what, string? hint = null)
    {
        var t = Peek;
        if (t.Kind != kind) throw Error(t, $"expected {what}, found {t.Describe()}", hint);
        return Next();
    }

    private string Here(Token t) => _file.Location(t.Offset);

    // ---- statements ----

    private void Statement()
    {
        var t = Peek;
        if (t.Kind != TokenKind.Identifier)
            throw Error(t, $"expected a statement, found {t.Describe()}",
                t.Kind == TokenKind.SetName ? "to define a set write 'set @name = { ... }'; to use it put it inside an action block: allow { @name }."
                : "a statement starts with default, architectures, on-bad-arch, flags, listener, listener-metadata, enosys-above, set, include or an action (allow, errno(EPERM)...).");
        switch (t.Text)
        {
            case "default":
                Next();
                CheckOnce(_default?.At, t, "default");
                _default = (ParseAction(), Here(t));
                return;
            case "on-bad-arch":
                Next();
                CheckOnce(_badArch?.At, t, "on-bad-arch");
                _badArch = (ParseAction(), Here(t));
                return;
            case "architectures":
                Next();
                CheckOnce(_arches?.At, t, "architectures");
                var list = new List<Architecture>();
                do
                {
                    var a = Expect(TokenKind.Identifier, "an architecture name", "e.g. architectures x86_64, x86, x32");
                    if (!Architecture.TryGet(a.Text, out var arch))
                    {
                        var close = Suggestions.Closest(a.Text, Architecture.All.Select(x => x.Name));
                        throw Error(a, $"unknown architecture '{a.Text}'",
                            (close.Count > 0 ? $"did you mean {Suggestions.OrList(close)}? " : "") + $"known: {string.Join(", ", Architecture.All.Select(x => x.Name))}.");
                    }
                    if (list.Contains(arch)) throw Error(a, $"architecture {arch.Name} is listed twice", "remove one of them.");
                    list.Add(arch);
                } while (Accept(TokenKind.Comma));
                _arches = (list, Here(t));
                _archesAt = (_file, t.Offset);
                return;
            case "flags":
                Next();
                CheckOnce(_flags?.At, t, "flags");
                var flags = PolicyFlags.None;
                do
                {
                    var f = Expect(TokenKind.Identifier, "a filter flag", "flags are tsync, log, spec-allow and wait-killable-recv.");
                    var flag = f.Text switch
                    {
                        "tsync" => PolicyFlags.Tsync,
                        "log" => PolicyFlags.Log,
                        "spec-allow" => PolicyFlags.SpecAllow,
                        "wait-killable-recv" => PolicyFlags.WaitKillableRecv,
                        _ => throw Error(f, $"unknown filter flag '{f.Text}'", Suggest(f.Text, ["tsync", "log", "spec-allow", "wait-killable-recv"], "flags are tsync, log, spec-allow and wait-killable-recv.")),
                    };
                    if ((flags & flag) != 0) throw Error(f, $"flag {f.Text} is listed twice", "remove one of them.");
                    flags |= flag;
                } while (Accept(TokenKind.Comma));
                _flags = (flags, Here(t));
                return;
            case "listener":
                Next();
                CheckOnce(_listener?.At, t, "listener");
                var p = Expect(TokenKind.String, "the listener path as a string", "e.g. listener \"/run/seccomp-agent.sock\"");
                if (p.Text.Length == 0) throw Error(p, "the listener path is empty", "give the agent's socket path, or drop the statement.");
                _listener = (p.Text, Here(t));
                return;
            case "listener-metadata":
                Next();
                CheckOnce(_metadata?.At, t, "listener-metadata");
                var m = Expect(TokenKind.String, "the metadata as a string", "e.g. listener-metadata \"name=web\"");
                if (m.Text.Length == 0) throw Error(m, "the listener metadata is empty", "give some text, or drop the statement.");
                _metadata = (m.Text, Here(t));
                return;
            case "enosys-above":
                Next();
                do
                {
                    var a = Expect(TokenKind.Identifier, "an architecture name", "e.g. enosys-above x86_64 462");
                    if (!Architecture.TryGet(a.Text, out var arch))
                        throw Error(a, $"unknown architecture '{a.Text}'", Suggest(a.Text, Architecture.All.Select(x => x.Name), null));
                    var n = Expect(TokenKind.Number, $"the highest syscall number {arch.Name} knows", "calls numbered above it return ENOSYS, e.g. enosys-above x86_64 462");
                    if (n.Number > uint.MaxValue) throw Error(n, $"cutoff {n.Text} does not fit 32 bits", "syscall numbers are 32-bit.");
                    if (_enosys.TryGetValue(arch, out var prev))
                        throw Error(a, $"an ENOSYS cutoff for {arch.Name} is already given at {prev.File.Location(prev.Offset)}", "keep one of them.");
                    _enosys[arch] = ((uint)n.Number, _file, a.Offset);
                } while (Accept(TokenKind.Comma));
                return;
            case "set":
                Next();
                var name = Expect(TokenKind.SetName, "a set name such as @files", "write set @name = { read, write }");
                if (_sets.TryGetValue(name.Text, out var existing))
                    throw Error(name, $"set {name.Text} is already defined at {existing.At}", "give the new set another name, or add the syscalls to the first definition.");
                Expect(TokenKind.Assign, "'='", $"write set {name.Text} = {{ ... }}");
                var items = ItemList();
                _sets[name.Text] = (items, Here(name));
                return;
            case "include":
                Next();
                Include(Expect(TokenKind.String, "a file name in quotes", "e.g. include \"common.policy\""));
                return;
        }
        if (ActionKeywords.Contains(t.Text))
        {
            var action = ParseAction();
            foreach (var item in ItemList())
                AddRule(item, action);
            return;
        }
        string hint = Suggest(t.Text, StatementKeywords, null);
        if (Architecture.X86_64.Syscalls.Contains(t.Text) || Architecture.All.Any(a => a.Syscalls.Contains(t.Text)))
            hint = $"rules go inside an action block, e.g. allow {{ {t.Text} }}.";
        throw Error(t, $"unknown statement '{t.Text}'", hint);
    }

    private void CheckOnce(string? previous, Token at, string what)
    {
        if (previous is not null)
            throw Error(at, $"'{what}' is already given at {previous}", $"a policy says '{what}' once (includes count too); remove one of them.");
    }

    private bool Accept(TokenKind kind)
    {
        if (Peek.Kind != kind) return false;
        Next();
        return true;
    }

    private static string Suggest(string name, IEnumerable<string> candidates, string? otherwise)
    {
        var close = Suggestions.Closest(name, candidates);
        return close.Count > 0 ? $"did you mean {Suggestions.OrList(close)}?" : otherwise ?? "";
    }

    private void Include(Token path)
    {
        if (_resolver is null)
            throw Error(path, "includes are not available here: this text was read without access to other files", "put the included statements into this text, or read it from a file (seccompkit reads includes relative to it).");
        if (_includeStack.Count > MaxIncludeDepth)
            throw Error(path, $"includes are nested more than {MaxIncludeDepth} deep", "flatten the include structure.");
        string name;
        string? text;
        try
        {
            name = _resolver.Resolve(_file.Name, path.Text);
            if (_includeStack.Contains(name))
                throw Error(path, $"include cycle: {string.Join(" -> ", _includeStack.SkipWhile(n => n != name))} -> {name}", "a file cannot include itself, directly or through others; remove one include of the cycle.");
            text = _resolver.Read(name);
        }
        catch (InputFileException e)
        {
            throw Error(path, $"cannot read included file \"{path.Text}\": {e.Reason}", "check the path, or include a regular file.");
        }
        catch (Exception e) when (e is not PolicyException)
        {
            throw Error(path, $"cannot read included file \"{path.Text}\": {e.Message}", "check the path and permissions.");
        }
        if (text is null)
            throw Error(path, $"included file \"{path.Text}\" not found (looked for {name})", "relative includes are resolved from the including file's directory.");
        _chain.Add(Here(path));
        _includeStack.Add(name);
        ParseFile(new SourceFile(name, text, [.. _chain]));
        _includeStack.RemoveAt(_includeStack.Count - 1);
        _chain.RemoveAt(_chain.Count - 1);
    }

    // ---- actions ----

    private PolicyAction ParseAction()
    {
        var t = Expect(TokenKind.Identifier, "an action", "actions are allow, log, kill-process (or kill), kill-thread, trap(N), errno(NAME or N), trace(N) and notify.");
        try
        {
            switch (t.Text)
            {
                case "allow": return PolicyAction.Allow;
                case "log": return PolicyAction.Log;
                case "kill" or "kill-process": return PolicyAction.KillProcess;
                case "kill-thread": return PolicyAction.KillThread;
                case "notify": return PolicyAction.UserNotif;
                case "trap":
                    return PolicyAction.Trap(Peek.Kind == TokenKind.LParen ? ActionNumber(t, "trap") : 0);
                case "trace":
                    return PolicyAction.Trace(Peek.Kind == TokenKind.LParen ? ActionNumber(t, "trace") : 0);
                case "errno":
                    Expect(TokenKind.LParen, "'(' after errno", "write errno(EPERM) or errno(1).");
                    var v = Next();
                    int errno;
                    if (v.Kind == TokenKind.Identifier)
                    {
                        if (!ErrnoNames.TryGetNumber(v.Text, out errno))
                            throw Error(v, $"unknown errno name '{v.Text}'", Suggest(v.Text, ErrnoNames.All.Select(p => p.Value), "use a name from errno(3), e.g. EPERM, EACCES, ENOSYS, or a number."));
                    }
                    else if (v.Kind == TokenKind.Number)
                    {
                        if (v.Number > SeccompReturn.MAX_ERRNO)
                            throw Error(v, $"errno {v.Text} is out of range", $"the kernel returns at most MAX_ERRNO ({SeccompReturn.MAX_ERRNO}); use 0..4095, e.g. EPERM (1).");
                        errno = (int)v.Number;
                    }
                    else throw Error(v, $"expected an errno name or number, found {v.Describe()}", "write errno(EPERM) or errno(1).");
                    Expect(TokenKind.RParen, "')' to close errno(", "write errno(EPERM).");
                    return PolicyAction.Errno(errno);
            }
        }
        catch (PolicyException e) when (e is not PolicyParseException)
        {
            throw _file.Error(t.Offset, e);
        }
        throw Error(t, $"unknown action '{t.Text}'", Suggest(t.Text, ActionKeywords, "actions are allow, log, kill-process (or kill), kill-thread, trap(N), errno(NAME or N), trace(N) and notify."));
    }

    private int ActionNumber(Token action, string name)
    {
        Next();
        var n = Expect(TokenKind.Number, $"a number for {name}(...)", $"write {name}(5); the value is 16 bits, 0..65535.");
        if (n.Number > 0xffff) throw Error(n, $"{name} data {n.Text} is out of range", "it is 16 bits: 0..65535.");
        Expect(TokenKind.RParen, $"')' to close {name}(", $"write {name}({n.Text}).");
        return (int)n.Number;
    }

    // ---- items ----

    private List<Item> ItemList()
    {
        Expect(TokenKind.LBrace, "'{' to start the list of syscalls", "write e.g. allow { read, write }");
        var items = new List<Item>();
        while (Peek.Kind != TokenKind.RBrace)
        {
            var t = Peek;
            if (t.Kind == TokenKind.SetName)
            {
                Next();
                if (!_sets.TryGetValue(t.Text, out var set))
                    throw Error(t, $"unknown set {t.Text}", Suggest(t.Text, _sets.Keys, "define it before use: set " + t.Text + " = { ... }"));
                items.AddRange(set.Items);
            }
            else if (t.Kind == TokenKind.Identifier)
            {
                Next();
                List<List<ArgCondition>>? alts = null;
                if (Peek.Kind == TokenKind.LParen)
                {
                    var open = Next();
                    if (Peek.Kind == TokenKind.RParen)
                        throw Error(Peek, "empty condition", $"write {t.Text} without parentheses to match every call, or give a condition such as {t.Text}(arg0 == 1).");
                    _depth = 0;
                    var cond = Or(t.Text);
                    if (Peek.Kind != TokenKind.RParen)
                        throw Error(Peek, $"expected ')' to close the condition of {t.Text} opened at {Here(open)}, found {Peek.Describe()}",
                            "conditions are comparisons joined by && and ||, e.g. (fd == 1 || fd == 2).");
                    Next();
                    alts = Lower(cond, false, t);
                    if (alts.Count == 0)
                        throw Error(t, $"the condition of {t.Text} can never hold", "remove the rule, or fix the condition.");
                    if (alts.Any(a => a.Count == 0)) alts = null; // some alternative always holds
                }
                items.Add(new Item(t.Text, _file, t.Offset, alts));
            }
            else if (t.Kind == TokenKind.End)
                throw Error(t, "missing '}' at end of file", "close the list with '}'.");
            else
                throw Error(t, $"expected a syscall name or @set, found {t.Describe()}", "lists look like { read, write, openat(flags == O_RDONLY), @set }.");

            if (Peek.Kind == TokenKind.Comma) { Next(); continue; }
            if (Peek.Kind != TokenKind.RBrace)
                throw Error(Peek, $"expected ',' or '}}' after {t.Text}, found {Peek.Describe()}",
                    Peek.Kind == TokenKind.End ? "close the list with '}'." : "separate the syscalls of a list with commas.");
        }
        Next();
        return items;
    }

    private void AddRule(Item item, PolicyAction action)
    {
        var alternatives = item.Alternatives ?? [[]];
        foreach (var conds in alternatives)
        {
            var rule = new SyscallRule(item.Syscall, action, conds);
            if (!_rulesBySyscall.TryGetValue(rule.Syscall, out var same)) _rulesBySyscall[rule.Syscall] = same = [];
            if (same.Any(r => r.Action == action && r.HasSameConditions(rule))) continue;
            same.Add(rule);
            _rules.Add((rule, item.File, item.Offset));
        }
    }

    // ---- conditions ----

    private abstract record Cond;
    private sealed record AndCond(List<Cond> Parts) : Cond;
    private sealed record OrCond(List<Cond> Parts) : Cond;
    private sealed record NotCond(Cond Inner) : Cond;
    private enum AtomKind { Compare, Masked, MaskedNotEqual, BareMask, In }
    private sealed record Atom(AtomKind Kind, int Index, ArgumentWidth Width, ArgOperator Op, ulong Value, ulong Mask, List<ulong>? Values) : Cond;

    private Cond Or(string syscall)
    {
        var parts = new List<Cond> { And(syscall) };
        while (Accept(TokenKind.OrOr)) parts.Add(And(syscall));
        return parts.Count == 1 ? parts[0] : new OrCond(parts);
    }

    private Cond And(string syscall)
    {
        var parts = new List<Cond> { Unary(syscall) };
        while (Accept(TokenKind.AndAnd)) parts.Add(Unary(syscall));
        return parts.Count == 1 ? parts[0] : new AndCond(parts);
    }

    private Cond Unary(string syscall)
    {
        if (++_depth > MaxNesting)
            throw Error(Peek, $"the condition is nested more than {MaxNesting} deep", "simplify it.");
        try
        {
            if (Accept(TokenKind.Bang)) return new NotCond(Unary(syscall));
            if (Peek.Kind == TokenKind.LParen && !ParenthesizedOperand())
            {
                var open = Next();
                var inner = Or(syscall);
                if (Peek.Kind != TokenKind.RParen)
                    throw Error(Peek, $"expected ')' to close the '(' at {Here(open)}, found {Peek.Describe()}", "add the missing ')'.");
                Next();
                return inner;
            }
            return Comparison(syscall);
        }
        finally { _depth--; }
    }

    /// <summary>Whether the '(' at the cursor wraps an operand, as in <c>(flags &amp; 3) == 0</c>, rather than a condition.</summary>
    private bool ParenthesizedOperand()
    {
        int depth = 0;
        for (int k = _pos; k < _tokens.Count; k++)
        {
            var kind = _tokens[k].Kind;
            if (kind == TokenKind.LParen) depth++;
            else if (kind == TokenKind.RParen && --depth == 0)
            {
                var after = _tokens[Math.Min(k + 1, _tokens.Count - 1)];
                return IsComparison(after.Kind) || (after.Kind == TokenKind.Identifier && after.Text == "in");
            }
            else if (kind == TokenKind.End) return false;
        }
        return false;
    }

    private static bool IsComparison(TokenKind k) => k is TokenKind.Eq or TokenKind.Ne or TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge;

    private Cond Comparison(string syscall)
    {
        bool paren = Accept(TokenKind.LParen);
        var start = Peek;
        var (index, width) = Operand(syscall);
        Token? maskTok = null;
        ulong mask = 0;
        if (Accept(TokenKind.Amp))
        {
            maskTok = Peek;
            mask = Value(width, index);
        }
        if (paren) Expect(TokenKind.RParen, "')'", "close the parenthesis around the argument.");
        var opTok = Peek;
        if (opTok.Kind == TokenKind.Identifier && opTok.Text == "in")
        {
            Next();
            if (maskTok is not null) throw Error(opTok, "'in' cannot follow a mask", "compare the masked argument with == or != instead.");
            Expect(TokenKind.LBrace, "'{' after in", "write family in { AF_INET, AF_INET6 }");
            var values = new List<ulong>();
            do
            {
                if (Peek.Kind == TokenKind.RBrace) break;
                values.Add(Value(width, index));
            } while (Accept(TokenKind.Comma));
            Expect(TokenKind.RBrace, "'}' to close the in-list", "write family in { AF_INET, AF_INET6 }");
            if (values.Count == 0) throw Error(opTok, "empty in-list", "list at least one value.");
            return new Atom(AtomKind.In, index, width, ArgOperator.Equal, 0, 0, values);
        }
        if (!IsComparison(opTok.Kind))
        {
            if (maskTok is not null && opTok.Kind is TokenKind.RParen or TokenKind.AndAnd or TokenKind.OrOr)
                return Checked(opTok, new Atom(AtomKind.BareMask, index, width, ArgOperator.MaskedEqual, 0, mask, null));
            throw Error(opTok, $"expected a comparison (==, !=, <, <=, >, >=, in) after the argument, found {opTok.Describe()}",
                opTok.Kind == TokenKind.Assign ? "use '==' to compare; '=' is only for set definitions." : $"e.g. {syscall}({Source(start)} == 1).");
        }
        Next();
        var value = Value(width, index);
        if (maskTok is not null)
        {
            if (opTok.Kind is not (TokenKind.Eq or TokenKind.Ne))
                throw Error(opTok, $"a masked argument can only be compared with == or !=, not {opTok.Text}",
                    "seccomp compares (arg & mask) for equality only; split the range into == alternatives.");
            return Checked(opTok, new Atom(opTok.Kind == TokenKind.Eq ? AtomKind.Masked : AtomKind.MaskedNotEqual, index, width, ArgOperator.MaskedEqual, value, mask, null));
        }
        var op = opTok.Kind switch
        {
            TokenKind.Eq => ArgOperator.Equal,
            TokenKind.Ne => ArgOperator.NotEqual,
            TokenKind.Lt => ArgOperator.Less,
            TokenKind.Le => ArgOperator.LessOrEqual,
            TokenKind.Gt => ArgOperator.Greater,
            _ => ArgOperator.GreaterOrEqual,
        };
        return Checked(opTok, new Atom(AtomKind.Compare, index, width, op, value, 0, null));
    }

    private string Source(Token t) => t.Kind == TokenKind.Identifier ? t.Text : "arg0";

    /// <summary>Builds one ArgCondition up front so the model's checks report at the operator.</summary>
    private Atom Checked(Token at, Atom a)
    {
        try
        {
            _ = new ArgCondition(a.Index, a.Kind == AtomKind.Compare ? a.Op : ArgOperator.MaskedEqual, a.Value, a.Kind == AtomKind.Compare ? 0 : a.Mask, a.Width);
        }
        catch (PolicyException e)
        {
            throw _file.Error(at.Offset, e);
        }
        return a;
    }

    private (int Index, ArgumentWidth Width) Operand(string syscall)
    {
        var t = Peek;
        int index;
        if (t.Kind == TokenKind.Identifier && t.Text == "args" && PeekAt(1).Kind == TokenKind.LBracket)
        {
            Next(); Next();
            var n = Expect(TokenKind.Number, "an argument index 0..5", "write args[2].");
            if (n.Number > 5) throw Error(n, $"argument index {n.Text} is out of range", "seccomp_data has six arguments, args[0] to args[5].");
            index = (int)n.Number;
            Expect(TokenKind.RBracket, "']'", "write args[2].");
        }
        else if (t.Kind == TokenKind.Identifier)
        {
            index = ArgumentNames.Resolve(syscall, t.Text);
            if (index < 0)
            {
                var hint = ArgumentNames.Describe(syscall) + ".";
                if (PolicyConstants.TryGet(t.Text, out _)) hint = $"{t.Text} is a constant; put the argument on the left, e.g. family == {t.Text}. " + hint;
                else if (SyscallSignatures.TryGet(syscall, out var sig))
                {
                    var close = Suggestions.Closest(t.Text, sig.Arguments.Select(a => a.Name));
                    if (close.Count > 0) hint = $"did you mean {Suggestions.OrList(close)}? " + hint;
                }
                throw Error(t, $"{syscall} has no argument named '{t.Text}'", hint);
            }
            Next();
        }
        else
            throw Error(t, $"expected an argument name, found {t.Describe()}", ArgumentNames.Describe(syscall) + ".");
        var width = ArgumentNames.DefaultWidth(syscall, index);
        if (Accept(TokenKind.Colon))
        {
            var w = Expect(TokenKind.Number, "32 or 64 after ':'", "arg1:32 compares the low 32 bits, arg1:64 all 64.");
            width = w.Text switch
            {
                "32" => ArgumentWidth.Bits32,
                "64" => ArgumentWidth.Bits64,
                _ => throw Error(w, $"width must be 32 or 64, not {w.Text}", "arg1:32 compares the low 32 bits, arg1:64 all 64."),
            };
        }
        return (index, width);
    }

    /// <summary>A constant expression: terms joined by '|'; each a number, a constant, -term or (expr).</summary>
    private ulong Value(ArgumentWidth width, int index)
    {
        ulong v = Term(width, index);
        while (Accept(TokenKind.Pipe)) v |= Term(width, index);
        return v;
    }

    private ulong Term(ArgumentWidth width, int index)
    {
        if (++_depth > MaxNesting) throw Error(Peek, $"the value is nested more than {MaxNesting} deep", "simplify it.");
        try
        {
            var t = Next();
            ulong max = width == ArgumentWidth.Bits32 ? uint.MaxValue : ulong.MaxValue;
            switch (t.Kind)
            {
                case TokenKind.Number:
                    if (t.Number > max)
                        throw Error(t, $"{t.Text} does not fit the 32-bit argument {index}",
                            "the kernel only uses its low 32 bits; write a 32-bit value (for -1 write -1 or 0xffffffff), or compare all 64 bits with ':64'.");
                    return t.Number;
                case TokenKind.Minus:
                    var inner = Term(width, index);
                    return unchecked(0 - inner) & max;
                case TokenKind.LParen:
                    var v = Value(width, index);
                    Expect(TokenKind.RParen, "')'", "close the parenthesis of the value.");
                    return v;
                case TokenKind.Identifier:
                    if (!PolicyConstants.TryGet(t.Text, out var c))
                    {
                        var close = PolicyConstants.Closest(t.Text);
                        throw Error(t, $"unknown constant '{t.Text}'",
                            close.Count > 0 ? $"did you mean {Suggestions.OrList(close)}?" : "write a number, or one of the constants listed in docs/POLICY-LANGUAGE.md (AF_*, SOCK_*, O_*, CLONE_*...).");
                    }
                    if (width == ArgumentWidth.Bits32 && (c.Value > uint.MaxValue || c.Value < int.MinValue))
                        throw Error(t, $"{c.Name} ({c.Value}) does not fit the 32-bit argument {index}", "compare all 64 bits with ':64'.");
                    return unchecked((ulong)c.Value) & max;
                default:
                    throw Error(t, $"expected a value, found {t.Describe()}", "values are numbers (42, 0x2a, 052, -1), constants (O_RDONLY) and their | combinations.");
            }
        }
        finally { _depth--; }
    }

    // ---- lowering to OR-of-ANDs ----

    private List<List<ArgCondition>> Lower(Cond c, bool negate, Token at) => c switch
    {
        AndCond a when !negate => Product(a.Parts.Select(p => Lower(p, false, at)), at),
        AndCond a => Union(a.Parts.Select(p => Lower(p, true, at)), at),
        OrCond o when !negate => Union(o.Parts.Select(p => Lower(p, false, at)), at),
        OrCond o => Product(o.Parts.Select(p => Lower(p, true, at)), at),
        NotCond n => Lower(n.Inner, !negate, at),
        Atom a => LowerAtom(a, negate, at),
        _ => throw new InvalidOperationException(),
    };

    private List<List<ArgCondition>> LowerAtom(Atom a, bool negate, Token at)
    {
        switch (a.Kind)
        {
            case AtomKind.Compare:
                return [[new ArgCondition(a.Index, negate ? Invert(a.Op) : a.Op, a.Value, 0, a.Width)]];
            case AtomKind.Masked or AtomKind.MaskedNotEqual:
                bool equal = (a.Kind == AtomKind.Masked) != negate;
                return equal ? [[new ArgCondition(a.Index, ArgOperator.MaskedEqual, a.Value, a.Mask, a.Width)]] : MaskedNotEqual(a, a.Mask, a.Value, at);
            case AtomKind.BareMask:
                return negate ? [[new ArgCondition(a.Index, ArgOperator.MaskedEqual, 0, a.Mask, a.Width)]] : MaskedNotEqual(a, a.Mask, 0, at);
            default:
                return negate
                    ? [[.. a.Values!.Select(v => new ArgCondition(a.Index, ArgOperator.NotEqual, v, 0, a.Width))]]
                    : Union(a.Values!.Select(v => (List<List<ArgCondition>>)[[new ArgCondition(a.Index, ArgOperator.Equal, v, 0, a.Width)]]), at);
        }
    }

    /// <summary>(x &amp; m) != v as alternatives: some bit of m differs from v's bit.</summary>
    private List<List<ArgCondition>> MaskedNotEqual(Atom a, ulong mask, ulong value, Token at)
    {
        if ((value & ~mask) != 0) return [[]]; // (x & m) can never equal v, so != always holds
        var result = new List<List<ArgCondition>>();
        for (int bit = 0; bit < 64; bit++)
        {
            ulong b = 1UL << bit;
            if ((mask & b) == 0) continue;
            result.Add([new ArgCondition(a.Index, ArgOperator.MaskedEqual, (value & b) ^ b, b, a.Width)]);
        }
        return Limit(result, at);
    }

    private static ArgOperator Invert(ArgOperator op) => op switch
    {
        ArgOperator.Equal => ArgOperator.NotEqual,
        ArgOperator.NotEqual => ArgOperator.Equal,
        ArgOperator.Less => ArgOperator.GreaterOrEqual,
        ArgOperator.GreaterOrEqual => ArgOperator.Less,
        ArgOperator.LessOrEqual => ArgOperator.Greater,
        ArgOperator.Greater => ArgOperator.LessOrEqual,
        _ => throw new InvalidOperationException(),
    };

    private List<List<ArgCondition>> Union(IEnumerable<List<List<ArgCondition>>> parts, Token at)
    {
        var result = new List<List<ArgCondition>>();
        foreach (var p in parts)
        {
            result.AddRange(p);
            Limit(result, at);
        }
        return result;
    }

    private List<List<ArgCondition>> Product(IEnumerable<List<List<ArgCondition>>> parts, Token at)
    {
        List<List<ArgCondition>> result = [[]];
        foreach (var p in parts)
        {
            var next = new List<List<ArgCondition>>();
            foreach (var left in result)
                foreach (var right in p)
                {
                    next.Add([.. left, .. right]);
                    Limit(next, at);
                }
            result = next;
        }
        return result;
    }

    private List<List<ArgCondition>> Limit(List<List<ArgCondition>> alternatives, Token at)
    {
        if (alternatives.Count > MaxAlternatives)
            throw Error(at, $"the condition of {at.Text} expands to more than {MaxAlternatives} rules",
                "seccomp rules are ORs of ANDs; an AND of ORs (or a != on a wide mask) multiplies out. Split the item into several simpler items, or use fewer alternatives.");
        return alternatives;
    }

    // ---- building the model ----

    /// <summary>
    /// Builds the model, which does all whole-policy validation (unknown syscalls, unused arguments, conflicting rules,
    /// ENOSYS cutoffs); its error names a rule index or statement, and the rule-index → item map (<see cref="_rules"/>,
    /// in the order the model is given the rules) or the statement's position places it in the text.
    /// </summary>
    private SeccompPolicy Build(SourceFile top)
    {
        try
        {
            // Locations travel with the policy, so that later users (the OCI exporter) can point at the statement to change.
            return new SeccompPolicy(_default!.Value.Action, _rules.Select(r => r.Rule with { Origin = r.File.Location(r.Offset) }), _arches?.List ?? [],
                _badArch?.Action, _flags?.Flags ?? PolicyFlags.None, _listener?.Path, _metadata?.Text, _enosys.ToDictionary(p => p.Key, p => p.Value.Cutoff))
            {
                Origins = new PolicyOrigins
                {
                    DefaultAction = _default.Value.At,
                    Architectures = _arches?.At,
                    BadArchAction = _badArch?.At,
                    Flags = _flags?.At,
                    Listener = _listener?.At,
                    EnosysAbove = _enosys.ToImmutableDictionary(p => p.Key, p => p.Value.File.Location(p.Value.Offset)),
                },
            };
        }
        catch (PolicyException e) when (e is not PolicyParseException)
        {
            var (file, offset) = e.Location switch
            {
                { RuleIndex: int n } when n >= 0 && n < _rules.Count => (_rules[n].File, _rules[n].Offset),
                { Statement: PolicyStatement.EnosysAbove, Abi: { } abi } when _enosys.TryGetValue(abi, out var cut) => (cut.File, cut.Offset),
                { Statement: PolicyStatement.Architectures } when _archesAt is { } at => (at.File, at.Offset),
                _ => (top, 0),
            };
            throw file.Error(offset, e);
        }
    }
}
