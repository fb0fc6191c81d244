using System.Globalization;
using System.Text.RegularExpressions;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// Reads the text the <see cref="Disassembler"/> writes — the readable form, the raw
/// <c>{ code, jt, jf, k }</c> form, or a mix — back into instructions. Labels are any
/// <c>name:</c>; a leading <c>12:</c> pc prefix is ignored; <c>#</c>, <c>//</c> and <c>/* */</c> start comments.
/// Syscall names in comparisons are resolved under the arch the program has checked on every path
/// (the same analysis the disassembler uses), and so are the halves of 64-bit fields (<c>args[0]</c> is the low
/// half: offset 16 on little-endian ABIs, 20 after a big-endian arch check), so <c>Assemble(Disassemble(p)) == p</c>.
/// The result is not validated: pass it to <see cref="BpfProgram.Create"/>.
/// </summary>
public static partial class Assembler
{
    private sealed record Pending(int Line, ushort Code, uint K, string? TrueLabel, string? FalseLabel, string? JaLabel, string? SyscallName, byte Jt = 0, byte Jf = 0, bool NamedHalf = false);

    /// <summary>Assembles text; throws <see cref="BpfFormatException"/> naming the line and what to write instead.</summary>
    public static Instruction[] Assemble(string text, IBpfSymbols? symbols = null)
    {
        var pending = new List<Pending>();
        var labels = new Dictionary<string, int>(StringComparer.Ordinal);
        var labelLines = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = StripBlockComments(text).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            string line = StripLineComment(lines[i]).Trim();
            while (line.Length > 0)
            {
                var m = LabelOrPc().Match(line);
                if (!m.Success) break;
                string name = m.Groups[1].Value;
                if (!char.IsDigit(name[0]))
                {
                    if (labels.ContainsKey(name))
                        throw Error(lineNo, $"label '{name}' is defined twice (first on line {labelLines[name]}); rename one");
                    labels[name] = pending.Count;
                    labelLines[name] = lineNo;
                }
                line = line[m.Length..].Trim();
            }
            if (line.Length == 0) continue;
            pending.Add(ParseStatement(line, lineNo, symbols));
        }
        if (pending.Count == 0)
            throw new BpfFormatException("the text holds no instructions; write one per line, e.g. 'A = sys_number' or '{ 0x06, 0, 0, 0x7fff0000 }'");

        // Resolve labels to forward offsets.
        var result = new Instruction[pending.Count];
        for (int pc = 0; pc < pending.Count; pc++)
        {
            var p = pending[pc];
            byte jt = p.Jt, jf = p.Jf;
            uint k = p.K;
            if (p.JaLabel is not null) k = (uint)Offset(p.JaLabel, pc, p.Line, long.MaxValue);
            if (p.TrueLabel is not null) jt = (byte)Offset(p.TrueLabel, pc, p.Line, 255);
            if (p.FalseLabel is not null) jf = (byte)Offset(p.FalseLabel, pc, p.Line, 255);
            result[pc] = new Instruction(p.Code, jt, jf, k);
        }

        // Resolve syscall names and the halves of 64-bit fields under the arch each path has checked. The
        // offsets the halves were given above (the little-endian view) cannot change what the analysis finds:
        // the checked arch comes from loads of arch and compares, never from argument loads.
        if (pending.Any(p => p.SyscallName is not null || p.NamedHalf))
        {
            var facts = ProgramAnalysis.Analyze(result);
            for (int pc = 0; pc < pending.Count; pc++)
            {
                var p = pending[pc];
                if (p.NamedHalf)
                {
                    // The disassembler's naming (Disassembler.LoadName): on a big-endian ABI the high half
                    // comes first, so 'args[i] >> 32' is offset 16 + 8i and 'args[i]' is 20 + 8i.
                    if (facts[pc].LittleEndian == false)
                        result[pc] = result[pc] with { K = result[pc].K ^ 4 };
                    continue;
                }
                if (p.SyscallName is null) continue;
                if (symbols is null)
                    throw Error(p.Line, $"'{p.SyscallName}' is not a number and no syscall tables were given; write the syscall number");
                var f = facts[pc];
                if (f.Content != AccumulatorContent.SyscallNumber || f.KnownArch is not uint arch)
                    throw Error(p.Line, $"cannot resolve syscall name '{p.SyscallName}': A must hold sys_number and the program must have checked 'arch == AUDIT_ARCH_...' on every path to this line; write the number instead");
                if (!symbols.TryGetSyscallNumber(arch, p.SyscallName, out int nr))
                {
                    string archName = symbols.TryGetArchName(arch, out var an) ? an : "0x" + arch.ToString("x8", CultureInfo.InvariantCulture);
                    throw Error(p.Line, $"'{p.SyscallName}' is not a syscall of {archName}; check the spelling or write the number");
                }
                result[pc] = result[pc] with { K = unchecked((uint)nr) };
            }
        }
        return result;

        long Offset(string label, int pc, int line, long max)
        {
            if (!labels.TryGetValue(label, out int target))
                throw Error(line, $"label '{label}' is never defined; add a line '{label}:' before the instruction to jump to");
            long off = target - pc - 1;
            if (off < 0)
                throw Error(line, $"jump to '{label}' goes backwards; classic BPF jumps only forward");
            if (off > max)
                throw Error(line, $"conditional jump to '{label}' spans {off} instructions; jt/jf reach at most 255, so jump to a nearby 'goto {label}' instead");
            return off;
        }
    }

    private static Pending ParseStatement(string s, int line, IBpfSymbols? symbols)
    {
        Match m;
        if ((m = Raw().Match(s)).Success)
        {
            ushort code = (ushort)ParseNumber(m.Groups[1].Value, line, 0xffff);
            byte jt = (byte)ParseNumber(m.Groups[2].Value, line, 0xff);
            byte jf = (byte)ParseNumber(m.Groups[3].Value, line, 0xff);
            uint k = (uint)ParseNumber(m.Groups[4].Value, line, uint.MaxValue);
            return new Pending(line, code, k, null, null, null, null, jt, jf);
        }
        string c = Regex.Replace(s, @"\s+", " ");
        switch (c)
        {
            case "A = len": return P(BPF_LD | BPF_W | BPF_LEN);
            case "X = len": return P(BPF_LDX | BPF_W | BPF_LEN);
            case "X = A": return P(BPF_MISC | BPF_TAX);
            case "A = X": return P(BPF_MISC | BPF_TXA);
            case "A = -A": return P(BPF_ALU | BPF_NEG);
            case "return A": return P(BPF_RET | BPF_A);
        }
        if ((m = LoadData().Match(c)).Success)
        {
            uint offset = DataOffset(m.Groups[1].Value, m.Groups[2].Success, line);
            bool namedHalf = offset >= SeccompData.OffsetInstructionPointer && !m.Groups[1].Value.StartsWith("data[", StringComparison.Ordinal);
            return new Pending(line, BPF_LD | BPF_W | BPF_ABS, offset, null, null, null, null, NamedHalf: namedHalf);
        }
        if ((m = MemLoad().Match(c)).Success)
            return P(m.Groups[1].Value == "A" ? (ushort)(BPF_LD | BPF_MEM) : (ushort)(BPF_LDX | BPF_MEM), (uint)ParseNumber(m.Groups[2].Value, line, uint.MaxValue));
        if ((m = MemStore().Match(c)).Success)
            return P(m.Groups[2].Value == "A" ? BPF_ST : BPF_STX, (uint)ParseNumber(m.Groups[1].Value, line, uint.MaxValue));
        if ((m = LoadImm().Match(c)).Success)
            return P(m.Groups[1].Value == "A" ? BPF_LD | BPF_IMM : BPF_LDX | BPF_IMM, (uint)ParseNumber(m.Groups[2].Value, line, uint.MaxValue));
        if ((m = Alu().Match(c)).Success)
        {
            ushort op = m.Groups[1].Value switch
            {
                "+" => BPF_ADD, "-" => BPF_SUB, "*" => BPF_MUL, "/" => BPF_DIV, "&" => BPF_AND, "|" => BPF_OR,
                "^" => BPF_XOR, "<<" => BPF_LSH, _ => BPF_RSH,
            };
            bool x = m.Groups[2].Value == "X";
            return P((ushort)(BPF_ALU | op | (x ? BPF_X : BPF_K)), x ? 0 : (uint)ParseNumber(m.Groups[2].Value, line, uint.MaxValue));
        }
        if ((m = Ret().Match(c)).Success)
        {
            if (!ActionNames.TryParseValue(m.Groups[1].Value, out uint v))
                throw Error(line, $"'{m.Groups[1].Value}' is not an action; write ALLOW, LOG, KILL_PROCESS, KILL_THREAD, TRAP(n), ERRNO(EPERM or n), TRACE(n), USER_NOTIF, A, or a number");
            return P(BPF_RET | BPF_K, v);
        }
        if ((m = Goto().Match(c)).Success)
            return new Pending(line, BPF_JMP | BPF_JA, 0, null, null, m.Groups[1].Value, null);
        if ((m = If().Match(c)).Success)
        {
            bool notSet = m.Groups[1].Success;
            string op = m.Groups[2].Value, operand = m.Groups[3].Value;
            string t = m.Groups[4].Value;
            string? f = m.Groups[5].Success ? m.Groups[5].Value : null;
            if (notSet && op != "&") throw Error(line, "'!(...)' is only written around 'A & k'");
            (ushort jop, bool negate) = op switch
            {
                "==" => (BPF_JEQ, false), "!=" => (BPF_JEQ, true),
                ">" => (BPF_JGT, false), "<=" => (BPF_JGT, true),
                ">=" => (BPF_JGE, false), "<" => (BPF_JGE, true),
                _ => (BPF_JSET, notSet),
            };
            bool isX = operand == "X";
            uint k = 0;
            string? sys = null;
            if (!isX)
            {
                if (TryParseNumber(operand, out ulong num))
                {
                    if (num > uint.MaxValue) throw Error(line, $"{operand} does not fit in 32 bits; a seccomp compare sees 32 bits at a time (compare the '>> 32' half separately)");
                    k = (uint)num;
                }
                else if (symbols is not null && symbols.TryGetArchValue(operand, out uint arch)) k = arch;
                else if (IdentifierRegex().IsMatch(operand)) sys = operand;
                else throw Error(line, $"'{operand}' is not a number, X, an AUDIT_ARCH_ name or a syscall name");
            }
            ushort code = (ushort)(BPF_JMP | jop | (isX ? BPF_X : BPF_K));
            // Without an else branch the untaken side falls through; a negated test swaps the branches.
            string? trueLabel = negate ? f : t, falseLabel = negate ? t : f;
            return new Pending(line, code, k, trueLabel, falseLabel, null, sys);
        }
        throw Error(line, $"cannot read '{s}'; see 'seccompkit disasm --help' for the statement forms (e.g. 'A = sys_number', 'if (A == openat) goto L5', 'return ERRNO(EPERM)')");

        Pending P(int code, uint k = 0) => new(line, (ushort)code, k, null, null, null, null);
    }

    private static uint DataOffset(string what, bool high, int line)
    {
        uint baseOff;
        Match m;
        if (what == "sys_number") baseOff = 0;
        else if (what == "arch") baseOff = 4;
        else if (what == "instruction_pointer") baseOff = 8;
        else if ((m = ArgRef().Match(what)).Success)
        {
            // TryParse: an index too large for an int (args[2147483648]) is the same mistake as args[6].
            if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i > 5)
                throw Error(line, $"args[{m.Groups[1].Value}] does not exist; seccomp_data has args[0] to args[5]");
            // args[i] is the low half, 'args[i] >> 32' the high half: offsets 16 + 8i and 20 + 8i in the
            // little-endian view given here; Assemble swaps them where the program has checked a big-endian arch.
            baseOff = SeccompData.OffsetArgs + (uint)(8 * i);
        }
        else if ((m = DataRef().Match(what)).Success)
        {
            if (high) throw Error(line, "write data[k] with the exact byte offset instead of '>> 32'");
            return (uint)ParseNumber(m.Groups[1].Value, line, uint.MaxValue);
        }
        else throw Error(line, $"'{what}' is not a seccomp_data field; use sys_number, arch, instruction_pointer, args[0..5] (add '>> 32' for the high half) or data[offset]");
        if (high && (baseOff == 0 || baseOff == 4)) throw Error(line, $"{what} is a 32-bit field; it has no '>> 32' half");
        return high ? baseOff + 4 : baseOff;
    }

    private static ulong ParseNumber(string s, int line, ulong max)
    {
        if (!TryParseNumber(s, out ulong v)) throw Error(line, $"'{s}' is not a number (decimal or 0x hex)");
        if (v > max) throw Error(line, $"{s} is too large here (at most {max})");
        return v;
    }

    private static bool TryParseNumber(string s, out ulong v)
    {
        s = s.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
    }

    private static BpfFormatException Error(int line, string message) => new($"line {line}: {message}");

    private static string StripLineComment(string line)
    {
        int i = line.IndexOf('#');
        int j = line.IndexOf("//", StringComparison.Ordinal);
        if (j >= 0 && (i < 0 || j < i)) i = j;
        return i >= 0 ? line[..i] : line;
    }

    // Removes /* ... */ comments, keeping the newlines inside them so that line numbers in errors stay right. One pass:
    // a lazy regex rescanned the rest of the text from every '/*' that has no '*/' after it (a megabyte with a thousand
    // of them took five seconds; found by tools/Fuzz, issue 17). An unclosed '/*' is left as text, as before.
    private static string StripBlockComments(string text)
    {
        text = text.Replace("\r\n", "\n");
        int open = text.IndexOf("/*", StringComparison.Ordinal);
        if (open < 0) return text;
        var sb = new System.Text.StringBuilder(text.Length);
        int at = 0;
        while (open >= 0)
        {
            int close = text.IndexOf("*/", open + 2, StringComparison.Ordinal);
            if (close < 0) break; // no '*/' after this '/*', so none after any later one either
            sb.Append(text, at, open - at);
            sb.Append('\n', text.AsSpan(open, close - open).Count('\n'));
            at = close + 2;
            open = text.IndexOf("/*", at, StringComparison.Ordinal);
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }

    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_.]*|\d+)\s*:(?!=)")] private static partial Regex LabelOrPc();
    [GeneratedRegex(@"^\{?\s*(0[xX][0-9a-fA-F]+|\d+)\s*,?\s+(0[xX][0-9a-fA-F]+|\d+)\s*,?\s+(0[xX][0-9a-fA-F]+|\d+)\s*,?\s+(0[xX][0-9a-fA-F]+|\d+)\s*\}?\s*,?$")] private static partial Regex Raw();
    [GeneratedRegex(@"^A = (sys_number|arch|instruction_pointer|args\[\d+\]|data\[[^\]]+\])( >> 32)?$")] private static partial Regex LoadData();
    [GeneratedRegex(@"^(A|X) = mem\[(\w+)\]$")] private static partial Regex MemLoad();
    [GeneratedRegex(@"^mem\[(\w+)\] = (A|X)$")] private static partial Regex MemStore();
    [GeneratedRegex(@"^(A|X) = (0[xX][0-9a-fA-F]+|\d+)$")] private static partial Regex LoadImm();
    [GeneratedRegex(@"^A (\+|-|\*|/|&|\||\^|<<|>>)= (X|0[xX][0-9a-fA-F]+|\d+)$")] private static partial Regex Alu();
    [GeneratedRegex(@"^return (.+)$")] private static partial Regex Ret();
    [GeneratedRegex(@"^goto ([A-Za-z_][A-Za-z0-9_.]*)$")] private static partial Regex Goto();
    [GeneratedRegex(@"^if \((!\()?A (==|!=|>=|<=|>|<|&) ([A-Za-z0-9_]+)\)?\) goto ([A-Za-z_][A-Za-z0-9_.]*)(?: else goto ([A-Za-z_][A-Za-z0-9_.]*))?$")] private static partial Regex If();
    [GeneratedRegex(@"^args\[(\d+)\]$")] private static partial Regex ArgRef();
    [GeneratedRegex(@"^data\[(0[xX][0-9a-fA-F]+|\d+)\]$")] private static partial Regex DataRef();
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")] private static partial Regex IdentifierRegex();
}
