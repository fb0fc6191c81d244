using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Compiler.Lowering;

/// <summary>
/// Lowers the argument checks of one syscall to classic BPF, which compares 32 bits at a time: a 64-bit
/// comparison checks the high halves first and the low halves only when the high halves decide nothing
/// (unsigned, as libseccomp does). On 32-bit ABIs and for 32-bit-width conditions only the low halves are
/// compared.
/// <para>
/// The checks are built as a reduced, shared decision diagram before any instruction is emitted
/// (<see cref="CheckDiagram"/>): each path remembers what its compares found, so a later compare those
/// results already decide is not made (socket's <c>arg0 == 16 &amp;&amp; arg2 == 9</c> failing decides
/// <c>arg2 != 9 || arg0 != 16</c>); a compare whose two outcomes lead to the same code disappears; equal
/// sub-diagrams are emitted once. A run of rules that are each one <c>==</c> on the same argument is a
/// set-membership test: the high half is compared once, then the low half by a bit-pattern test (the set
/// is all combinations of some bits, as personality's flags are) or a binary search over the values.
/// </para>
/// </summary>
internal static class ArgumentLowering
{
    /// <summary>Emits the checks of one syscall: the action of the first rule (in rank order) whose conditions all hold, else the fallthrough.</summary>
    public static void EmitChecks(ProgramBuilder b, Outcome.Checks checks) => CheckDiagram.Build(checks).Emit(b);
}

/// <summary>The kinds of compare of one 32-bit word of <c>seccomp_data</c> with a constant.</summary>
internal enum TestOp : byte
{
    /// <summary><c>A == K</c>.</summary>
    Eq,
    /// <summary><c>A &gt; K</c> (unsigned).</summary>
    Gt,
    /// <summary><c>A &gt;= K</c> (unsigned).</summary>
    Ge,
    /// <summary><c>(A &amp; K) != 0</c>.</summary>
    Set,
    /// <summary><c>(A &amp; Mask) == K</c>: needs an ALU AND, so A no longer holds the word afterwards.</summary>
    MaskEq,
}

/// <summary>A compare of the word at offset <c>Word</c> of <c>seccomp_data</c> with <c>K</c> (and <c>Mask</c> for <see cref="TestOp.MaskEq"/>).</summary>
internal readonly record struct Test(uint Word, TestOp Op, uint K, uint Mask = 0)
{
    public bool Evaluate(uint a) => Op switch
    {
        TestOp.Eq => a == K,
        TestOp.Gt => a > K,
        TestOp.Ge => a >= K,
        TestOp.Set => (a & K) != 0,
        _ => (a & Mask) == K,
    };
}

/// <summary>One compare of a lowered condition; targets are step indices or <see cref="Pass"/>/<see cref="Fail"/>.</summary>
internal readonly record struct Step(Test Test, int OnTrue, int OnFalse)
{
    public const int Pass = -1, Fail = -2;
}

/// <summary>What the compares made so far on a path prove about one word: bounds, known bits, excluded values.</summary>
internal struct WordKnowledge
{
    public uint Min, Max, Ones, Zeros;
    public List<uint>? NotEqual;

    public static WordKnowledge Nothing => new() { Min = 0, Max = uint.MaxValue };

    /// <summary>The outcome of <paramref name="t"/> on every value consistent with what is known, or null when values differ.</summary>
    public readonly bool? Decide(Test t)
    {
        if (Min == Max) return t.Evaluate(Min);
        if ((Ones | Zeros) == uint.MaxValue) return t.Evaluate(Ones);
        uint k = t.K;
        switch (t.Op)
        {
            case TestOp.Eq:
                if (k < Min || k > Max || (k & Zeros) != 0 || (~k & Ones) != 0 || (NotEqual?.Contains(k) ?? false)) return false;
                return null;
            case TestOp.Gt:
                if (Min > k) return true;
                if (Max <= k) return false;
                return null;
            case TestOp.Ge:
                if (Min >= k) return true;
                if (Max < k) return false;
                return null;
            case TestOp.Set:
                if ((Ones & k) != 0) return true;
                if ((Zeros & k) == k || Max < (k & (0u - k))) return false;   // no bit of k can be set, or every value is below k's lowest bit
                return null;
            default:
                uint m = t.Mask;
                if ((Ones & m & ~k) != 0 || (Zeros & m & k) != 0) return false;
                if (((Ones | Zeros) & m) == m) return (Ones & m) == k;
                return null;
        }
    }

    /// <summary>Adds the fact that <paramref name="t"/> came out <paramref name="outcome"/>.</summary>
    public void Learn(Test t, bool outcome)
    {
        uint k = t.K;
        switch (t.Op)
        {
            case TestOp.Eq when outcome: Min = Max = k; break;
            case TestOp.Eq: (NotEqual ??= []).Add(k); if (k == Min && Min < Max) Min++; else if (k == Max && Min < Max) Max--; break;
            case TestOp.Gt when outcome: Min = Math.Max(Min, k + 1); break;     // k < uint.MaxValue, or the test was decided
            case TestOp.Gt: Max = Math.Min(Max, k); break;
            case TestOp.Ge when outcome: Min = Math.Max(Min, k); break;
            case TestOp.Ge: Max = Math.Min(Max, k - 1); break;                  // k > 0, or the test was decided
            case TestOp.Set when outcome: if ((k & (k - 1)) == 0) Ones |= k; break;
            case TestOp.Set: Zeros |= k; break;
            case TestOp.MaskEq when outcome: Ones |= k; Zeros |= t.Mask & ~k; break;
            case TestOp.MaskEq: break;
        }
    }
}

/// <summary>
/// The compare results a path has seen, as a sorted list of (test, outcome) restricted to the words later
/// compares read, so that paths which know the same relevant things share code.
/// </summary>
internal sealed class Facts : IEquatable<Facts>
{
    public static readonly Facts None = new([]);
    private readonly (Test Test, bool Outcome)[] _items;
    private readonly int _hash;

    private Facts((Test, bool)[] items)
    {
        _items = items;
        var h = new HashCode();
        foreach (var i in items) h.Add(i);
        _hash = h.ToHashCode();
    }

    /// <summary>The outcome of <paramref name="t"/> when these facts (or the word's range alone: <c>A &gt;= 0</c>) decide it.</summary>
    public bool? Decide(Test t)
    {
        var w = WordKnowledge.Nothing;
        foreach (var (test, outcome) in _items)
            if (test.Word == t.Word) w.Learn(test, outcome);
        return w.Decide(t);
    }

    /// <summary>
    /// At most this many facts are kept (forgetting one is always sound: a compare is then just made), so
    /// that long rule lists cost time in proportion to their length.
    /// </summary>
    private const int MaxFacts = 16;

    public Facts With(Test t, bool outcome) =>
        new([.. _items.AsSpan(_items.Length >= MaxFacts ? _items.Length - MaxFacts + 1 : 0), (t, outcome)]);

    /// <summary>Only the facts on words in <paramref name="words"/> (bit <c>offset / 4</c>), in a canonical order.</summary>
    public Facts Restrict(ulong words)
    {
        if (_items.Length == 0) return this;
        var kept = _items.Where(i => (words >> (int)(i.Test.Word / 4) & 1) != 0).Distinct()
            .OrderBy(i => i.Test.Word).ThenBy(i => i.Test.Op).ThenBy(i => i.Test.K).ThenBy(i => i.Test.Mask).ThenBy(i => i.Outcome).ToArray();
        return kept.Length == 0 ? None : new Facts(kept);
    }

    public bool Equals(Facts? other) => other is not null && _hash == other._hash && _items.AsSpan().SequenceEqual(other._items);
    public override bool Equals(object? obj) => Equals(obj as Facts);
    public override int GetHashCode() => _hash;
}

/// <summary>
/// The argument checks of one syscall as a reduced decision diagram over 32-bit compares (leaves are
/// return values), emitted parents first so every jump goes forward.
/// </summary>
internal sealed class CheckDiagram
{
    private readonly record struct Node(bool IsLeaf, uint Return, Test Test, int True, int False);

    private readonly List<Node> _nodes = [];
    private readonly Dictionary<Node, int> _interned = [];
    private readonly Dictionary<(int Rule, int Cond, int Step, Facts Facts), int> _memo = [];
    private readonly Outcome.Checks _checks;
    private readonly IReadOnlyList<SyscallRule> _rules;
    private readonly Step[]?[][] _steps;          // [rule][condition] -> compares (empty: always holds; null: never holds)
    private readonly int[] _runs;                 // rules from here that form an equality run (0 or >= 2)
    private readonly ulong[] _suffixWords;        // words read by rules from here on
    private readonly bool _useFacts;
    private readonly int _budget;
    private int _work;
    private int _root;

    /// <summary>
    /// Diagrams with facts may duplicate code per distinct knowledge; past this many nodes, or this many
    /// compares visited (paths that know different things can still meet in the same nodes, or skip the
    /// same decided compares, so the work can grow much faster than the diagram), the plain chain is used.
    /// </summary>
    private sealed class OverBudget : Exception;

    private CheckDiagram(Outcome.Checks checks, bool useFacts)
    {
        _checks = checks;
        _rules = checks.Rules;
        _useFacts = useFacts;
        var abi = checks.Abi;
        _steps = _rules.Select(r => r.Conditions.Select(c => Lower(c, c.EffectiveWidth(abi), abi)).ToArray()).ToArray();
        _runs = EqualityRuns(_rules, abi);
        _suffixWords = new ulong[_rules.Count + 1];
        for (int i = _rules.Count - 1; i >= 0; i--)
        {
            ulong w = _suffixWords[i + 1];
            foreach (var cond in _steps[i])
                if (cond is not null)
                    foreach (var s in cond) w |= 1UL << (int)(s.Test.Word / 4);
            _suffixWords[i] = w;
        }
        int plain = _steps.Sum(r => r.Sum(c => c?.Length ?? 0)) + _rules.Count + 1;
        _budget = 64 + 4 * plain;
    }

    public static CheckDiagram Build(Outcome.Checks checks)
    {
        // Build recurses once per compare along the rule list (about 500 bytes of stack each): 4,000
        // two-condition rules overflowed the main thread's 8 MiB, which kills the process. A long list is
        // built on a thread whose stack holds it (reserved, committed only as used).
        long compares = checks.Rules.Sum(r => 3L * r.Conditions.Length + 1);
        if (compares <= 2048) return BuildHere(checks);
        CheckDiagram? built = null;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failed = null;
        var thread = new Thread(() =>
        {
            try { built = BuildHere(checks); }
            catch (Exception e) { failed = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        }, maxStackSize: (int)Math.Min(1L << 30, (1L << 20) + compares * 2048));
        thread.Start();
        thread.Join();
        failed?.Throw();
        return built!;
    }

    private static CheckDiagram BuildHere(Outcome.Checks checks)
    {
        try
        {
            var d = new CheckDiagram(checks, useFacts: true);
            d._root = d.Build(0, 0, 0, Facts.None);
            return d;
        }
        catch (OverBudget)
        {
            // Knowing nothing, a state is just a position in the rules: at most one node per compare.
            var d = new CheckDiagram(checks, useFacts: false);
            d._root = d.Build(0, 0, 0, Facts.None);
            return d;
        }
    }

    private int Leaf(uint ret) => Intern(new Node(true, ret, default, -1, -1));

    private int MakeTest(Test t, int ifTrue, int ifFalse) =>
        ifTrue == ifFalse ? ifTrue : Intern(new Node(false, 0, t, ifTrue, ifFalse));

    private void Explore()
    {
        if (++_work > _budget && _useFacts) throw new OverBudget();
    }

    private int Intern(Node n)
    {
        if (_interned.TryGetValue(n, out int id)) return id;
        if (_nodes.Count >= _budget && _useFacts) throw new OverBudget();
        _nodes.Add(n);
        return _interned[n] = _nodes.Count - 1;
    }

    /// <summary>The node for: rule <paramref name="r"/>, its condition <paramref name="c"/> at compare <paramref name="s"/>, knowing <paramref name="facts"/>.</summary>
    private int Build(int r, int c, int s, Facts facts)
    {
        while (true)
        {
            if (r == _rules.Count) return Leaf(_checks.Fallthrough.ReturnValue);
            if (c == _steps[r].Length) return Leaf(_rules[r].Action.ReturnValue);
            if (c == 0 && s == 0 && _runs[r] >= 2) return BuildRun(r, facts);
            var cond = _steps[r][c];
            if (cond is null) { (r, c, s) = (r + 1, 0, 0); continue; }
            if (cond.Length == 0) { (c, s) = (c + 1, 0); continue; }
            var step = cond[s];
            // A decided compare is skipped without a node, but a path that knows a value skips every later rule
            // on it, once per such path: counted as work too (20,000 rules of arg0 == i ran for minutes).
            Explore();
            if (facts.Decide(step.Test) is bool known) { (r, c, s) = Advance(r, c, known ? step.OnTrue : step.OnFalse); continue; }

            facts = facts.Restrict(_suffixWords[r]);
            var key = (r, c, s, facts);
            if (_memo.TryGetValue(key, out int id)) return id;
            var (tr, tc, ts) = Advance(r, c, step.OnTrue);
            var (fr, fc, fs) = Advance(r, c, step.OnFalse);
            int ifTrue = Build(tr, tc, ts, Learn(facts, step.Test, true));
            int ifFalse = Build(fr, fc, fs, Learn(facts, step.Test, false));
            return _memo[key] = MakeTest(step.Test, ifTrue, ifFalse);
        }
    }

    private Facts Learn(Facts facts, Test t, bool outcome) => _useFacts ? facts.With(t, outcome) : facts;

    private (int Rule, int Cond, int Step) Advance(int r, int c, int target) => target switch
    {
        Step.Pass => (r, c + 1, 0),
        Step.Fail => (r + 1, 0, 0),
        _ => (r, c, target),
    };

    /// <summary>
    /// Rules r.. each one <c>==</c> on the same argument (same high half): a set-membership test. The first
    /// rule with a value wins, so later duplicates are dropped; a miss goes on with the rule after the run.
    /// </summary>
    private int BuildRun(int r, Facts facts)
    {
        int n = _runs[r];
        var first = _rules[r].Conditions[0];
        var abi = _checks.Abi;
        bool wide = first.EffectiveWidth(abi) == ArgumentWidth.Bits64;
        var lo = new Test(SeccompData.ArgLowOffset(first.Index, abi.AuditArch), TestOp.Eq, 0);
        var hiTest = new Test(SeccompData.ArgHighOffset(first.Index, abi.AuditArch), TestOp.Eq, (uint)(first.Value >> 32));

        var key = (r, -1, 0, facts.Restrict(_suffixWords[r]));
        if (_memo.TryGetValue(key, out int memo)) return memo;
        Explore();
        int result;
        bool? hi = wide ? facts.Decide(hiTest) : true;
        if (hi == false) result = Build(r + n, 0, 0, facts);
        else
        {
            var inner = wide && hi is null ? Learn(facts, hiTest, true) : facts;
            int miss = Build(r + n, 0, 0, inner);
            var seen = new HashSet<uint>();
            var values = new List<(uint Value, uint Return)>();
            int? decided = null;
            for (int k = r; k < r + n && decided is null; k++)
            {
                uint v = (uint)_rules[k].Conditions[0].Value;
                if (!seen.Add(v)) continue;
                var t = lo with { K = v };
                switch (inner.Decide(t))
                {
                    case true: decided = Leaf(_rules[k].Action.ReturnValue); break;   // earlier values were excluded
                    case null: values.Add((v, _rules[k].Action.ReturnValue)); break;
                }
            }
            int search = decided ?? Membership(lo.Word, values, miss);
            result = wide && hi is null ? MakeTest(hiTest, search, _useFacts ? Build(r + n, 0, 0, Learn(facts, hiTest, false)) : miss) : search;
        }
        return _memo[key] = result;
    }

    /// <summary>
    /// Which of <paramref name="values"/> the word holds (each with its return value; any other value goes
    /// to <paramref name="miss"/>). When all give one return value and they are every combination of some
    /// bits (possibly but for one value), one masked compare answers; otherwise a binary search over the
    /// sorted values, ending in chains of at most three equality compares.
    /// </summary>
    private int Membership(uint word, List<(uint Value, uint Return)> values, int miss)
    {
        if (values.Count == 0) return miss;
        if (values.Count >= 3 && values.All(v => v.Return == values[0].Return))
        {
            int hit = Leaf(values[0].Return);
            var set = values.Select(v => v.Value).ToList();
            if (Cube(word, set) is var (whole, wholeHit)) return wholeHit ? MakeTest(whole, hit, miss) : MakeTest(whole, miss, hit);
            if (AllButOneCube(word, set) is var (i, most, mostHit))
            {
                int other = MakeTest(new Test(word, TestOp.Eq, set[i]), hit, miss);
                return mostHit ? MakeTest(most, hit, other) : MakeTest(most, other, hit);
            }
        }
        var sorted = values.OrderBy(v => v.Value).ToList();
        return Search(word, sorted, 0, sorted.Count - 1, miss);
    }

    /// <summary>
    /// A compare that answers "the word is one of <paramref name="set"/>" when the set is all combinations
    /// of the bits its values differ in, and which outcome means yes.
    /// </summary>
    private static (Test Test, bool HitWhenTrue)? Cube(uint word, List<uint> set)
    {
        uint all = uint.MaxValue, any = 0;
        foreach (var v in set) { all &= v; any |= v; }
        return Cube(word, all, any, set.Count);
    }

    /// <summary>
    /// The first value of <paramref name="set"/> (distinct values) whose removal leaves a <see cref="Cube(uint, List{uint})"/>,
    /// with that cube's compare. Prefix and suffix ANDs and ORs make it one pass, not one per value.
    /// </summary>
    private static (int Index, Test Test, bool HitWhenTrue)? AllButOneCube(uint word, List<uint> set)
    {
        int n = set.Count;
        if (n < 2 || ((n - 1) & (n - 2)) != 0) return null;   // a cube has 2^k values
        var sufAnd = new uint[n + 1];
        var sufOr = new uint[n + 1];
        sufAnd[n] = uint.MaxValue;
        for (int i = n - 1; i >= 0; i--) { sufAnd[i] = sufAnd[i + 1] & set[i]; sufOr[i] = sufOr[i + 1] | set[i]; }
        uint preAnd = uint.MaxValue, preOr = 0;
        for (int i = 0; i < n; i++)
        {
            if (Cube(word, preAnd & sufAnd[i + 1], preOr | sufOr[i + 1], n - 1) is var (t, hitWhenTrue)) return (i, t, hitWhenTrue);
            preAnd &= set[i]; preOr |= set[i];
        }
        return null;
    }

    /// <summary>The compare for distinct values numbering <paramref name="count"/> whose AND is <paramref name="all"/> and OR <paramref name="any"/>, when they form a cube.</summary>
    private static (Test Test, bool HitWhenTrue)? Cube(uint word, uint all, uint any, int count)
    {
        uint free = all ^ any;
        if (System.Numerics.BitOperations.PopCount(free) >= 31 || count != 1 << System.Numerics.BitOperations.PopCount(free)) return null;
        uint mask = ~free;
        // Distinct values that agree outside `free` and number 2^|free| are exactly the combinations.
        return all == 0 ? (new Test(word, TestOp.Set, mask), false) : (new Test(word, TestOp.MaskEq, all, mask), true);
    }

    private int Search(uint word, List<(uint Value, uint Return)> sorted, int lo, int hi, int miss)
    {
        if (hi - lo < 3)
        {
            int node = miss;
            for (int i = hi; i >= lo; i--) node = MakeTest(new Test(word, TestOp.Eq, sorted[i].Value), Leaf(sorted[i].Return), node);
            return node;
        }
        int mid = lo + (hi - lo + 1) / 2;
        return MakeTest(new Test(word, TestOp.Ge, sorted[mid].Value), Search(word, sorted, mid, hi, miss), Search(word, sorted, lo, mid - 1, miss));
    }

    /// <summary>
    /// For each rule, how many rules from it on are each one <c>==</c> on the same argument, at the same
    /// width, with the same high half (0 when fewer than two). Built from the end so that a run of n rules
    /// costs n steps, not n²/2.
    /// </summary>
    private static int[] EqualityRuns(IReadOnlyList<SyscallRule> rules, Architecture abi)
    {
        static bool Single(SyscallRule r) => r.Conditions.Length == 1 && r.Conditions[0].Operator == ArgOperator.Equal;
        var length = new int[rules.Count + 1];
        for (int i = rules.Count - 1; i >= 0; i--)
        {
            if (!Single(rules[i])) continue;
            length[i] = 1;
            if (length[i + 1] == 0) continue;
            ArgCondition c = rules[i].Conditions[0], next = rules[i + 1].Conditions[0];
            var width = c.EffectiveWidth(abi);
            if (next.Index != c.Index || next.EffectiveWidth(abi) != width) continue;
            if (width == ArgumentWidth.Bits64 && (next.Value >> 32) != (c.Value >> 32)) continue;
            length[i] = length[i + 1] + 1;
        }
        var runs = new int[rules.Count];
        for (int i = 0; i < rules.Count; i++) runs[i] = length[i] >= 2 ? length[i] : 0;
        return runs;
    }

    /// <summary>
    /// The compares of one condition: the high half first on 64-bit comparisons (loaded from where the
    /// ABI's kernel puts it, first on big-endian ABIs such as s390x). Empty when the condition always
    /// holds, null when it never does.
    /// </summary>
    private static Step[]? Lower(ArgCondition c, ArgumentWidth width, Architecture abi)
    {
        const int P = Step.Pass, F = Step.Fail;
        uint lo = (uint)c.Value, hi = (uint)(c.Value >> 32);
        uint mlo = (uint)c.Mask, mhi = (uint)(c.Mask >> 32);
        uint loOff = SeccompData.ArgLowOffset(c.Index, abi.AuditArch), hiOff = SeccompData.ArgHighOffset(c.Index, abi.AuditArch);
        bool wide = width == ArgumentWidth.Bits64;
        switch (c.Operator)
        {
            case ArgOperator.Equal:
            case ArgOperator.NotEqual:
            {
                bool eq = c.Operator == ArgOperator.Equal;
                var low = new Step(new Test(loOff, TestOp.Eq, lo), eq ? P : F, eq ? F : P);
                return wide ? [new Step(new Test(hiOff, TestOp.Eq, hi), 1, eq ? F : P), low] : [low];
            }
            case ArgOperator.Greater:
            case ArgOperator.GreaterOrEqual:
            case ArgOperator.Less:
            case ArgOperator.LessOrEqual:
            {
                // "Above" means the argument is greater than the constant; which outcome that is depends on the operator.
                bool greaterPasses = c.Operator is ArgOperator.Greater or ArgOperator.GreaterOrEqual;
                int above = greaterPasses ? P : F, below = greaterPasses ? F : P;
                var low = c.Operator switch
                {
                    ArgOperator.Greater => new Step(new Test(loOff, TestOp.Gt, lo), P, F),
                    ArgOperator.GreaterOrEqual => new Step(new Test(loOff, TestOp.Ge, lo), P, F),
                    ArgOperator.Less => new Step(new Test(loOff, TestOp.Ge, lo), F, P),
                    _ => new Step(new Test(loOff, TestOp.Gt, lo), F, P),
                };
                if (!wide) return [low];
                // hi > 0xffffffff and hi < 0 are impossible: one compare of the high half suffices there.
                if (hi == uint.MaxValue) return [new Step(new Test(hiOff, TestOp.Eq, hi), 1, below), low];
                if (hi == 0) return [new Step(new Test(hiOff, TestOp.Gt, 0), above, 1), low];
                return [new Step(new Test(hiOff, TestOp.Gt, hi), above, 1), new Step(new Test(hiOff, TestOp.Eq, hi), 2, below), low];
            }
            default:
            {
                var steps = new List<Step>();
                if (wide && !Masked(steps, hiOff, mhi, hi)) return null;
                if (!Masked(steps, loOff, mlo, lo)) return null;
                // Each part falls through to the next compare: the last one's "next" is Pass.
                for (int i = 0; i < steps.Count; i++)
                {
                    int next = i + 1 < steps.Count ? i + 1 : P;
                    var s = steps[i];
                    steps[i] = s with { OnTrue = s.OnTrue == int.MaxValue ? next : s.OnTrue, OnFalse = s.OnFalse == int.MaxValue ? next : s.OnFalse };
                }
                return [.. steps];
            }
        }
    }

    /// <summary>
    /// Adds the compare for <c>(word &amp; mask) == value</c> with <see cref="int.MaxValue"/> standing for
    /// "go on"; false when no word matches (a bit of the value outside the mask).
    /// </summary>
    private static bool Masked(List<Step> steps, uint word, uint mask, uint value)
    {
        const int Next = int.MaxValue;
        if ((value & ~mask) != 0) return false;
        if (mask == 0) return true;                                                                       // (x & 0) == 0 always holds
        if (value == 0) steps.Add(new Step(new Test(word, TestOp.Set, mask), Step.Fail, Next));           // no masked bit may be set
        else if (value == mask && (mask & (mask - 1)) == 0) steps.Add(new Step(new Test(word, TestOp.Set, mask), Next, Step.Fail)); // the single bit must be set
        else if (mask == uint.MaxValue) steps.Add(new Step(new Test(word, TestOp.Eq, value), Next, Step.Fail));
        else steps.Add(new Step(new Test(word, TestOp.MaskEq, value, mask), Next, Step.Fail));
        return true;
    }

    /// <summary>
    /// Emits the reachable nodes, parents before children (ids grow from leaves to root, so descending id
    /// order is topological and every jump is forward). A compare loads its word unless every way in
    /// already holds it in A.
    /// </summary>
    public void Emit(ProgramBuilder b)
    {
        int count = _nodes.Count;
        var reachable = new bool[count];
        reachable[_root] = true;
        // In A on entry: -1 unknown (or nr), -2 not yet reached, else the word's offset.
        var inA = new long[count];
        Array.Fill(inA, -2L);
        inA[_root] = -1;
        var labels = new ProgramBuilder.Label[count];
        for (int id = count - 1; id >= 0; id--)
        {
            if (!reachable[id]) continue;
            labels[id] = b.NewLabel();
            var n = _nodes[id];
            if (n.IsLeaf) continue;
            long outA = n.Test.Op == TestOp.MaskEq ? -1 : n.Test.Word;
            foreach (int child in new[] { n.True, n.False })
            {
                reachable[child] = true;
                inA[child] = inA[child] == -2 ? outA : inA[child] == outA ? outA : -1;
            }
        }
        for (int id = count - 1; id >= 0; id--)
        {
            if (!reachable[id]) continue;
            var n = _nodes[id];
            b.Mark(labels[id]);
            if (n.IsLeaf) { b.Return(n.Return); continue; }
            var t = n.Test;
            if (inA[id] != t.Word) b.Load(t.Word);
            switch (t.Op)
            {
                case TestOp.Eq: b.JumpIf(BPF_JEQ, t.K, labels[n.True], labels[n.False]); break;
                case TestOp.Gt: b.JumpIf(BPF_JGT, t.K, labels[n.True], labels[n.False]); break;
                case TestOp.Ge: b.JumpIf(BPF_JGE, t.K, labels[n.True], labels[n.False]); break;
                case TestOp.Set: b.JumpIf(BPF_JSET, t.K, labels[n.True], labels[n.False]); break;
                default:
                    b.Emit(Instruction.Stmt(BPF_ALU | BPF_AND | BPF_K, t.Mask));
                    b.JumpIf(BPF_JEQ, t.K, labels[n.True], labels[n.False]);
                    break;
            }
        }
    }
}
