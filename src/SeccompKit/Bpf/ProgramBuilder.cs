using System.Collections.Immutable;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// Builds a program with named labels and forward-only jumps, resolved in <see cref="Build"/>.
/// Conditional jumps reach at most 255 instructions (their offsets are 8 bits); when a target is
/// farther, <see cref="Build"/> inserts a <c>JA</c> trampoline right after the jump (JA offsets are
/// 32 bits) and repeats until every jump fits, as libseccomp does.
/// </summary>
public sealed class ProgramBuilder
{
    /// <summary>A jump target; create with <see cref="NewLabel"/>, place with <see cref="Mark"/>.</summary>
    /// <param name="Id">Index of the label in its builder.</param>
    public readonly record struct Label(int Id);

    private sealed class Item
    {
        public Instruction Ins;
        public int Jt = -1, Jf = -1; // label ids; for JA the target is in Jt
    }

    private readonly List<Item> _items = [];
    private readonly List<int> _labelPos = [];
    private readonly List<string?> _labelNames = []; // null: named L<id> when an error needs it

    /// <summary>Number of instructions emitted so far (before trampolines).</summary>
    public int Count => _items.Count;

    /// <summary>Creates a label; <paramref name="name"/> appears in error messages.</summary>
    public Label NewLabel(string? name = null)
    {
        _labelPos.Add(-1);
        _labelNames.Add(name);
        return new Label(_labelPos.Count - 1);
    }

    /// <summary>Places <paramref name="label"/> at the next instruction emitted.</summary>
    public void Mark(Label label)
    {
        if (_labelPos[label.Id] >= 0) throw new InvalidOperationException($"label {_labelNames[label.Id] ?? $"L{label.Id}"} is placed twice.");
        _labelPos[label.Id] = _items.Count;
    }

    /// <summary>Appends a non-jump instruction.</summary>
    public void Emit(Instruction instruction)
    {
        if (instruction.Class == BPF_JMP) throw new ArgumentException("use Jump or JumpIf for jumps.", nameof(instruction));
        _items.Add(new Item { Ins = instruction });
    }

    /// <summary>Appends <c>A = *(u32 *)(seccomp_data + offset)</c>.</summary>
    public void Load(uint offset) => Emit(Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, offset));

    /// <summary>Appends <c>return value</c>.</summary>
    public void Return(uint value) => Emit(Instruction.Stmt(BPF_RET | BPF_K, value));

    /// <summary>Appends <c>goto target</c>.</summary>
    public void Jump(Label target) => _items.Add(new Item { Ins = Instruction.Stmt(BPF_JMP | BPF_JA, 0), Jt = target.Id });

    /// <summary>Appends a conditional jump comparing A with <paramref name="k"/>: <paramref name="op"/> is BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET.</summary>
    public void JumpIf(ushort op, uint k, Label ifTrue, Label ifFalse)
    {
        if (op is not (BPF_JEQ or BPF_JGT or BPF_JGE or BPF_JSET)) throw new ArgumentException("op must be BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET.", nameof(op));
        _items.Add(new Item { Ins = Instruction.Jump((ushort)(BPF_JMP | op | BPF_K), k, 0, 0), Jt = ifTrue.Id, Jf = ifFalse.Id });
    }

    /// <summary>Appends an existing conditional jump instruction (any source and opcode bits kept) with label targets.</summary>
    public void JumpIf(Instruction jump, Label ifTrue, Label ifFalse)
    {
        if (!jump.IsConditionalJump) throw new ArgumentException("not a conditional jump.", nameof(jump));
        _items.Add(new Item { Ins = jump with { Jt = 0, Jf = 0 }, Jt = ifTrue.Id, Jf = ifFalse.Id });
    }

    /// <summary>
    /// Resolves labels (inserting trampolines for far conditional jumps) and returns the instructions.
    /// </summary>
    /// <exception cref="InvalidOperationException">A label was never placed, or a jump goes backwards.</exception>
    public ImmutableArray<Instruction> Build()
    {
        var items = new List<Item>(_items.Select(i => new Item { Ins = i.Ins, Jt = i.Jt, Jf = i.Jf }));
        var pos = new List<int>(_labelPos);
        var names = new List<string?>(_labelNames);
        string Name(int l) => names[l] ?? $"L{l}";
        foreach (var it in items)
            foreach (int l in new[] { it.Jt, it.Jf })
                if (l >= 0 && pos[l] < 0)
                    throw new InvalidOperationException($"label {Name(l)} is used but never placed.");

        // Each sweep finds every conditional jump that is now too far and inserts "JA label" right after
        // it (the false side's before the true side's, both before any earlier trampoline), aiming the
        // short jump at it. Trampolines only lengthen jumps, so sweeping until none is added reaches the
        // least set of trampolines; one rebuild per sweep keeps a long program linear per sweep (inserting
        // one at a time renumbered every label each time: minutes for a 50,000-instruction program).
        while (true)
        {
            var far = new (bool True, bool False)[items.Count];
            bool any = false;
            for (int i = 0; i < items.Count; i++)
            {
                var it = items[i];
                if (it.Jt < 0) continue;
                foreach (bool isTrue in new[] { true, false })
                {
                    int label = isTrue ? it.Jt : it.Jf;
                    if (label < 0) continue;
                    int dist = pos[label] - i - 1;
                    if (dist < 0) throw new InvalidOperationException($"jump at {i} to label {Name(label)} goes backwards; classic BPF jumps only forward.");
                    if (it.Ins.IsUnconditionalJump || dist <= 255) continue;
                    if (isTrue) far[i].True = true; else far[i].False = true;
                    any = true;
                }
            }
            if (!any) break;

            var next = new List<Item>(items.Count + 16);
            var newIndex = new int[items.Count + 1];
            for (int i = 0; i < items.Count; i++)
            {
                var it = items[i];
                newIndex[i] = next.Count;
                next.Add(it);
                foreach (bool isTrue in new[] { false, true })
                {
                    if (!(isTrue ? far[i].True : far[i].False)) continue;
                    int label = isTrue ? it.Jt : it.Jf;
                    var tramp = new Item { Ins = Instruction.Stmt(BPF_JMP | BPF_JA, 0), Jt = label };
                    names.Add(null);
                    pos.Add(-(next.Count + 1));   // placed below, after the old labels move
                    if (isTrue) it.Jt = pos.Count - 1; else it.Jf = pos.Count - 1;
                    next.Add(tramp);
                }
            }
            newIndex[items.Count] = next.Count;
            for (int l = 0; l < pos.Count; l++) pos[l] = pos[l] >= 0 ? newIndex[pos[l]] : -pos[l] - 1;
            items = next;
        }

        var result = ImmutableArray.CreateBuilder<Instruction>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            var it = items[i];
            if (it.Jt < 0) { result.Add(it.Ins); continue; }
            if (it.Ins.IsUnconditionalJump)
                result.Add(it.Ins with { K = (uint)(pos[it.Jt] - i - 1) });
            else
                result.Add(it.Ins with { Jt = (byte)(pos[it.Jt] - i - 1), Jf = (byte)(pos[it.Jf] - i - 1) });
        }
        return result.MoveToImmutable();
    }
}
