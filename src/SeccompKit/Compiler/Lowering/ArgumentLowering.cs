using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Compiler.Lowering;

/// <summary>
/// Lowers argument conditions to classic BPF, which compares 32 bits at a time: a 64-bit comparison
/// checks the high halves first and the low halves only when the high halves are equal (unsigned, as
/// libseccomp does). On 32-bit ABIs and for 32-bit-width conditions only the low halves are compared.
/// </summary>
internal static class ArgumentLowering
{
    /// <summary>Emits the checks of one syscall: each rule in turn, its action when all its conditions hold, else the fallthrough.</summary>
    public static void EmitChecks(ProgramBuilder b, Outcome.Checks checks)
    {
        var rules = checks.Rules;
        for (int i = 0; i < rules.Count;)
        {
            int run = EqualityRun(rules, i, checks.Abi);
            if (run >= 2) { EmitEqualityRun(b, rules, i, run, checks.Abi); i += run; continue; }
            var rule = rules[i++];
            var next = b.NewLabel();
            foreach (var c in rule.Conditions)
                EmitCondition(b, c, c.EffectiveWidth(checks.Abi), checks.Abi, next);
            b.Return(rule.Action.ReturnValue);
            b.Mark(next);
        }
        b.Return(checks.Fallthrough.ReturnValue);
    }

    /// <summary>
    /// How many rules from <paramref name="start"/> are each one <c>==</c> on the same argument, at the same
    /// width, with the same high half: such a run (personality's allowed values, say) needs the high half
    /// checked once and then one compare per value.
    /// </summary>
    private static int EqualityRun(IReadOnlyList<SyscallRule> rules, int start, Architecture abi)
    {
        static bool Single(SyscallRule r) => r.Conditions.Length == 1 && r.Conditions[0].Operator == ArgOperator.Equal;
        if (!Single(rules[start])) return 0;
        var first = rules[start].Conditions[0];
        var width = first.EffectiveWidth(abi);
        int n = 1;
        while (start + n < rules.Count && Single(rules[start + n]))
        {
            var c = rules[start + n].Conditions[0];
            if (c.Index != first.Index || c.EffectiveWidth(abi) != width) break;
            if (width == ArgumentWidth.Bits64 && (c.Value >> 32) != (first.Value >> 32)) break;
            n++;
        }
        return n;
    }

    private static void EmitEqualityRun(ProgramBuilder b, IReadOnlyList<SyscallRule> rules, int start, int count, Architecture abi)
    {
        var first = rules[start].Conditions[0];
        var after = b.NewLabel();
        if (first.EffectiveWidth(abi) == ArgumentWidth.Bits64)
        {
            var same = b.NewLabel();
            b.Load(SeccompData.ArgHighOffset(first.Index, abi.AuditArch));
            b.JumpIf(BPF_JEQ, (uint)(first.Value >> 32), same, after);
            b.Mark(same);
        }
        b.Load(SeccompData.ArgLowOffset(first.Index, abi.AuditArch));
        for (int k = start; k < start + count; k++)
        {
            var hit = b.NewLabel();
            var miss = k + 1 < start + count ? b.NewLabel() : after;
            b.JumpIf(BPF_JEQ, (uint)rules[k].Conditions[0].Value, hit, miss);
            b.Mark(hit);
            b.Return(rules[k].Action.ReturnValue);
            if (k + 1 < start + count) b.Mark(miss);
        }
        b.Mark(after);
    }

    /// <summary>
    /// Emits code that falls through when <paramref name="c"/> holds and jumps to <paramref name="fail"/> otherwise;
    /// the argument's halves are loaded from where <paramref name="abi"/>'s kernel puts them (the high half
    /// first on big-endian ABIs such as s390x).
    /// </summary>
    public static void EmitCondition(ProgramBuilder b, ArgCondition c, ArgumentWidth width, Architecture abi, ProgramBuilder.Label fail)
    {
        var pass = b.NewLabel();
        uint lo = (uint)c.Value, hi = (uint)(c.Value >> 32);
        uint mlo = (uint)c.Mask, mhi = (uint)(c.Mask >> 32);
        uint loOff = SeccompData.ArgLowOffset(c.Index, abi.AuditArch), hiOff = SeccompData.ArgHighOffset(c.Index, abi.AuditArch);
        bool wide = width == ArgumentWidth.Bits64;

        switch (c.Operator)
        {
            case ArgOperator.Equal:
                if (wide) { b.Load(hiOff); b.JumpIf(BPF_JEQ, hi, Here(b, out var l1), fail); b.Mark(l1); }
                b.Load(loOff); b.JumpIf(BPF_JEQ, lo, pass, fail);
                break;
            case ArgOperator.NotEqual:
                if (wide) { b.Load(hiOff); b.JumpIf(BPF_JEQ, hi, Here(b, out var l2), pass); b.Mark(l2); }
                b.Load(loOff); b.JumpIf(BPF_JEQ, lo, fail, pass);
                break;
            case ArgOperator.Greater:
            case ArgOperator.GreaterOrEqual:
            case ArgOperator.Less:
            case ArgOperator.LessOrEqual:
            {
                // "Above" means the argument is greater than the constant; which outcome that is depends on the operator.
                bool greaterPasses = c.Operator is ArgOperator.Greater or ArgOperator.GreaterOrEqual;
                var above = greaterPasses ? pass : fail;
                var below = greaterPasses ? fail : pass;
                if (wide)
                {
                    b.Load(hiOff);
                    var eq = b.NewLabel();
                    if (hi == uint.MaxValue) b.JumpIf(BPF_JEQ, hi, eq, below);          // hi > max is impossible
                    else if (hi == 0) b.JumpIf(BPF_JGT, 0, above, eq);                   // hi < 0 is impossible
                    else { var ne = b.NewLabel(); b.JumpIf(BPF_JGT, hi, above, ne); b.Mark(ne); b.JumpIf(BPF_JEQ, hi, eq, below); }
                    b.Mark(eq);
                }
                b.Load(loOff);
                switch (c.Operator)
                {
                    case ArgOperator.Greater: b.JumpIf(BPF_JGT, lo, pass, fail); break;
                    case ArgOperator.GreaterOrEqual: b.JumpIf(BPF_JGE, lo, pass, fail); break;
                    case ArgOperator.Less: b.JumpIf(BPF_JGE, lo, fail, pass); break;
                    case ArgOperator.LessOrEqual: b.JumpIf(BPF_JGT, lo, fail, pass); break;
                }
                break;
            }
            case ArgOperator.MaskedEqual:
                if (wide) EmitMasked(b, hiOff, mhi, hi, fail);
                EmitMasked(b, loOff, mlo, lo, fail);
                break;
        }
        b.Mark(pass);
    }

    private static void EmitMasked(ProgramBuilder b, uint offset, uint mask, uint value, ProgramBuilder.Label fail)
    {
        if ((value & ~mask) != 0) { b.Jump(fail); return; }   // bits outside the mask can never match
        if (mask == 0) return;                                 // (x & 0) == 0 always holds
        var ok = b.NewLabel();
        b.Load(offset);
        if (value == 0) b.JumpIf(BPF_JSET, mask, fail, ok);   // no masked bit may be set
        else if (value == mask && (mask & (mask - 1)) == 0) b.JumpIf(BPF_JSET, mask, ok, fail); // the single bit must be set
        else
        {
            if (mask != uint.MaxValue) b.Emit(Instruction.Stmt(BPF_ALU | BPF_AND | BPF_K, mask));
            b.JumpIf(BPF_JEQ, value, ok, fail);
        }
        b.Mark(ok);
    }

    private static ProgramBuilder.Label Here(ProgramBuilder b, out ProgramBuilder.Label label) => label = b.NewLabel();
}
