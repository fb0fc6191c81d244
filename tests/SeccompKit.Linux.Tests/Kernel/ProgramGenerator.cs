using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>A generated program and the family it came from (for the counts and mismatch reports).</summary>
public sealed record GeneratedProgram(string Family, Instruction[] Instructions);

/// <summary>
/// Deterministic program generator for the kernel differential tests: for a given seed it always
/// yields the same programs, so a failure is reproduced by re-running with the seed it printed
/// (environment variable <c>SECCOMPKIT_KERNEL_SEED</c>).
/// <list type="bullet">
/// <item>Validator programs: exhaustive edge families (every opcode, every LD ABS offset, jump
/// boundaries, lengths, DIV/shift constants, the scratch-memory mask analysis) plus random programs and
/// mutations of valid ones. Anything goes; the kernel decides.</item>
/// <item>Errno programs for the interpreter: always valid, and every way out yields ERRNO or KILL, so
/// the probed system call never really runs whatever its number and arguments: each <c>RET K</c> is a
/// distinct <c>ERRNO(base + i)</c> (or a KILL / unknown action), and each <c>RET A</c> comes right after
/// <c>ALU AND K mask; ALU OR K 0x50000</c>, which no jump can skip.</item>
/// </list>
/// </summary>
public sealed class ProgramGenerator
{
    /// <summary>The seed used when <c>SECCOMPKIT_KERNEL_SEED</c> is not set.</summary>
    public const int DefaultSeed = 0x5ECC0B;

    private readonly Random _rng;

    /// <summary>Creates a generator.</summary>
    public ProgramGenerator(int seed)
    {
        Seed = seed;
        _rng = new Random(seed);
    }

    /// <summary>The seed: from <c>SECCOMPKIT_KERNEL_SEED</c> (decimal or 0x hex) or <see cref="DefaultSeed"/>.</summary>
    public static int SeedFromEnvironment()
    {
        var s = Environment.GetEnvironmentVariable("SECCOMPKIT_KERNEL_SEED");
        if (string.IsNullOrWhiteSpace(s)) return DefaultSeed;
        return s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? Convert.ToInt32(s[2..], 16)
            : int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>This generator's seed.</summary>
    public int Seed { get; }

    /// <summary>The random source, for callers that derive inputs from the same seed.</summary>
    public Random Random => _rng;

    private static readonly ushort[] ClassicOpcodes =
        Enumerable.Range(0, 0x100).Where(c => Validator.IsClassicOpcode((ushort)c)).Select(c => (ushort)c).ToArray();

    private static readonly ushort[] SeccompOpcodes =
        ClassicOpcodes.Where(Validator.IsSeccompOpcode).ToArray();

    private static readonly ushort[] ConditionalJumps =
    [
        BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGT | BPF_X,
        BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGE | BPF_X, BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
    ];

    /// <summary>Constants that sit on some rule's edge.</summary>
    private static readonly uint[] InterestingK =
    [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 60, 61, 62, 63, 64, 65, 68, 255, 256, 4095, 4096, 4097,
        0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
        SKF_AD_OFF - 4, SKF_AD_OFF - 1, SKF_AD_OFF, SKF_AD_OFF + 4, SKF_AD_OFF + 60, SKF_AD_OFF + 63, SKF_AD_OFF + 64,
        0xfff00000 /* SKF_NET_OFF */, 0xffe00000 /* SKF_LL_OFF */, SeccompReturn.SECCOMP_RET_ALLOW, SeccompReturn.SECCOMP_RET_ERRNO | 1,
    ];

    private static Instruction Stmt(ushort code, uint k) => Instruction.Stmt(code, k);
    private static Instruction Jump(ushort code, uint k, int jt, int jf) => Instruction.Jump(code, k, (byte)jt, (byte)jf);
    private static Instruction RetK(uint k) => Stmt(BPF_RET | BPF_K, k);
    private static readonly Instruction RetAllow = RetK(SeccompReturn.SECCOMP_RET_ALLOW);
    private static readonly Instruction RetA = Stmt(BPF_RET | BPF_A, 0);

    // ---------------------------------------------------------------------------------------------
    // Validator families.
    // ---------------------------------------------------------------------------------------------

    /// <summary>Every opcode 0..0xffff before a RET, plus per low opcode (0..0xff) several k, jt/jf and context variants.</summary>
    public IEnumerable<GeneratedProgram> OpcodeSweep()
    {
        for (int code = 0; code <= 0xffff; code++)
            yield return new("opcode-sweep", [Stmt((ushort)code, 0), RetAllow]);
        uint[] ks = [1, 4, 15, 16, 31, 32, 64, SKF_AD_OFF, 0xffffffff];
        for (int code = 0; code <= 0xff; code++)
        {
            var c = (ushort)code;
            foreach (var k in ks)
                yield return new("opcode-k", [Stmt(c, k), RetAllow]);
            // Alone: only RET K / RET A are a whole program.
            yield return new("opcode-alone", [Stmt(c, 0)]);
            // After a store, so that MEM loads of cell 1 are legal.
            yield return new("opcode-after-store", [Stmt(BPF_LD | BPF_IMM, 1), Stmt(BPF_ST, 1), Stmt(c, 1), RetA]);
            // With jump offsets: in range for 3 instructions, then one past.
            yield return new("opcode-jumps", [Jump(c, 0, 1, 0), RetAllow, RetAllow]);
            yield return new("opcode-jumps", [Jump(c, 1, 1, 1), RetAllow]);
        }
    }

    /// <summary>Absolute, indirect, MSH and LEN loads over every offset 0..68 and the huge and SKF_AD_OFF areas.</summary>
    public IEnumerable<GeneratedProgram> LoadOffsets()
    {
        ushort[] codes =
        [
            BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS,
            BPF_LD | BPF_W | BPF_IND, BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND,
            BPF_LDX | BPF_B | BPF_MSH, BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN,
            BPF_LD | BPF_H | BPF_LEN, BPF_LDX | BPF_W | BPF_ABS, BPF_LD | BPF_IMM,
        ];
        var offsets = new List<uint>();
        for (uint k = 0; k <= 68; k++) offsets.Add(k);
        for (uint k = 0; k <= 68; k++) offsets.Add(SKF_AD_OFF + k);
        offsets.AddRange([SKF_AD_OFF - 1, SKF_AD_OFF - 4, 100, 128, 256, 4096, 0x7fffffff, 0x80000000, 0xfff00000, 0xffe00000, 0xfffffffc, 0xffffffff]);
        foreach (var c in codes)
            foreach (var k in offsets)
            {
                yield return new("load-offsets", [Stmt(c, k), RetA]);
                yield return new("load-offsets", [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Stmt(c, k), Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), RetAllow, RetK(0)]);
            }
    }

    /// <summary>JA and conditional jumps at, just inside and just past the end, for several lengths and positions.</summary>
    public IEnumerable<GeneratedProgram> JumpBoundaries()
    {
        foreach (int len in new[] { 2, 3, 4, 6, 17, 258, 300 })
        {
            foreach (int pc in new[] { 0, 1, len / 2, len - 3, len - 2, len - 1 }.Where(p => p >= 0 && p < len).Distinct())
            {
                int room = len - pc - 1; // instructions after pc
                foreach (long k in new long[] { 0, room - 2, room - 1, room, room + 1, 0x7fffffff, 0x80000000, 0xffffffff, uint.MaxValue - (uint)pc })
                {
                    if (k < 0) continue;
                    yield return new("jump-ja", Filled(len, pc, Stmt(BPF_JMP | BPF_JA, (uint)k)));
                }
                foreach (int t in new[] { 0, room - 2, room - 1, room, 255 }.Where(v => v is >= 0 and <= 255).Distinct())
                    foreach (int f in new[] { 0, room - 1, room, 255 }.Where(v => v is >= 0 and <= 255).Distinct())
                        foreach (var code in ConditionalJumps)
                            yield return new("jump-cond", Filled(len, pc, Jump(code, 0, t, f)));
            }
        }

        static Instruction[] Filled(int len, int pc, Instruction at)
        {
            var p = new Instruction[len];
            for (int i = 0; i < len; i++) p[i] = RetK(SeccompReturn.SECCOMP_RET_ERRNO | (uint)i);
            p[pc] = at;
            return p;
        }
    }

    /// <summary>DIV/MOD by constants, shifts by 0..33 and huge constants, with K and X forms.</summary>
    public IEnumerable<GeneratedProgram> Arithmetic()
    {
        ushort[] ops = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0];
        uint[] ks = [0, 1, 2, 30, 31, 32, 33, 63, 64, 0x80000000, 0xffffffff];
        foreach (var op in ops)
            foreach (var src in new[] { BPF_K, BPF_X })
                foreach (var k in ks)
                {
                    yield return new("alu-constants", [Stmt(BPF_LD | BPF_W | BPF_ABS, 16), Stmt((ushort)(BPF_ALU | op | src), k), RetA]);
                    yield return new("alu-constants", [Stmt((ushort)(BPF_ALU | op | src), k), RetAllow]);
                }
    }

    /// <summary>Scratch memory: indexes 0..17 and huge, and the kernel's mask quirks (a RET does not reset the mask).</summary>
    public IEnumerable<GeneratedProgram> MemoryRules()
    {
        uint[] cells = [.. Enumerable.Range(0, 18).Select(i => (uint)i), 31, 32, 0x80000000, 0xffffffff];
        foreach (var k in cells)
        {
            yield return new("memory-index", [Stmt(BPF_ST, k), RetAllow]);
            yield return new("memory-index", [Stmt(BPF_STX, k), RetAllow]);
            yield return new("memory-index", [Stmt(BPF_ST, k), Stmt(BPF_LD | BPF_MEM, k), RetA]);
            yield return new("memory-index", [Stmt(BPF_STX, k), Stmt(BPF_LDX | BPF_MEM, k), Stmt(BPF_MISC | BPF_TXA, 0), RetA]);
            yield return new("memory-index", [Stmt(BPF_LD | BPF_MEM, k), RetA]);
            yield return new("memory-index", [Stmt(BPF_ST, (k + 1) & 15), Stmt(BPF_LDX | BPF_MEM, k), RetA]);
        }
        // The quirk from the issue: M[0] is written on every path that reaches pc 4, yet the kernel
        // refuses, because the mask carried past the RET at pc 3 is the one from the JEQ's false edge.
        yield return new("memory-quirk", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2), // pc0: to pc1 or pc3
            Stmt(BPF_ST, 0),                          // pc1: M[0] = A
            Stmt(BPF_JMP | BPF_JA, 1),                // pc2: to pc4
            RetK(SeccompReturn.SECCOMP_RET_ERRNO | 1),// pc3
            Stmt(BPF_LD | BPF_MEM, 0),                // pc4: read M[0]
            RetA,                                     // pc5
        ]);
        yield return new("memory-quirk", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
            Stmt(BPF_ST, 0),
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 1), // pc2: both edges to pc4
            RetK(SeccompReturn.SECCOMP_RET_ERRNO | 1),
            Stmt(BPF_LD | BPF_MEM, 0),
            RetA,
        ]);
        // The same with the store before the branch: accepted.
        yield return new("memory-quirk", [
            Stmt(BPF_ST, 0),
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
            Stmt(BPF_ST, 1),
            Stmt(BPF_JMP | BPF_JA, 1),
            RetK(SeccompReturn.SECCOMP_RET_ERRNO | 1),
            Stmt(BPF_LD | BPF_MEM, 0),
            RetA,
        ]);
        // A store after a RET reached by no jump still counts (straight-line fall-through after RET).
        yield return new("memory-quirk", [RetAllow, Stmt(BPF_ST, 3), Stmt(BPF_LD | BPF_MEM, 3), RetA]);
        yield return new("memory-quirk", [Stmt(BPF_ST, 3), RetAllow, Stmt(BPF_LD | BPF_MEM, 3), RetA]);
        yield return new("memory-quirk", [Stmt(BPF_ST, 3), Stmt(BPF_JMP | BPF_JA, 0), Stmt(BPF_LD | BPF_MEM, 3), RetA]);
        yield return new("memory-quirk", [Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0), Stmt(BPF_LD | BPF_MEM, 3), RetA]);
    }

    /// <summary>Small random programs over stores, MEM loads, jumps and RETs with cells 0..3: the mask analysis under stress.</summary>
    public IEnumerable<GeneratedProgram> MemoryMazes(int count)
    {
        for (int n = 0; n < count; n++)
        {
            int len = _rng.Next(2, 13);
            var p = new Instruction[len];
            for (int pc = 0; pc < len - 1; pc++)
            {
                int room = len - pc - 1;
                uint cell = (uint)_rng.Next(4);
                p[pc] = _rng.Next(10) switch
                {
                    0 or 1 => Stmt(_rng.Next(2) == 0 ? BPF_ST : BPF_STX, cell),
                    2 or 3 => Stmt(_rng.Next(2) == 0 ? (ushort)(BPF_LD | BPF_MEM) : (ushort)(BPF_LDX | BPF_MEM), cell),
                    4 or 5 => Jump(ConditionalJumps[_rng.Next(ConditionalJumps.Length)], (uint)_rng.Next(3), _rng.Next(room), _rng.Next(room)),
                    6 => Stmt(BPF_JMP | BPF_JA, (uint)_rng.Next(room)),
                    7 => RetK(SeccompReturn.SECCOMP_RET_ERRNO | (uint)pc),
                    8 => Stmt(BPF_LD | BPF_IMM, (uint)_rng.Next(3)),
                    _ => Stmt(BPF_MISC | BPF_TAX, 0),
                };
            }
            p[len - 1] = _rng.Next(2) == 0 ? RetA : RetAllow;
            yield return new("memory-maze", p);
        }
    }

    /// <summary>Lengths 0, 1, 2, 4095, 4096, 4097 and 65535, valid and not, including a JA over 4094 DIV X.</summary>
    public IEnumerable<GeneratedProgram> Lengths()
    {
        foreach (int len in new[] { 0, 1, 2, 4095, 4096, 4097, 65535 })
        {
            var p = Enumerable.Repeat(RetAllow, len).ToArray();
            yield return new("length", p);
            if (len >= 2)
            {
                var q = (Instruction[])p.Clone();
                q[^1] = Stmt(BPF_LD | BPF_IMM, 0);
                yield return new("length-last-not-ret", q);
                var d = Enumerable.Repeat(Stmt(BPF_ALU | BPF_DIV | BPF_X, 0), len).ToArray();
                d[0] = Stmt(BPF_JMP | BPF_JA, (uint)(len - 2));
                d[^1] = RetA;
                yield return new("length-long-jump", d);
            }
        }
        yield return new("length", [RetA]);
        yield return new("length", [Stmt(BPF_LD | BPF_W | BPF_ABS, 0)]);
    }

    /// <summary>Random instruction soup: mostly classic opcodes, some seccomp-only, some arbitrary 16-bit codes.</summary>
    public IEnumerable<GeneratedProgram> RandomPrograms(int count)
    {
        for (int n = 0; n < count; n++)
        {
            int len = _rng.Next(1, 24);
            var p = new Instruction[len];
            for (int pc = 0; pc < len; pc++)
                p[pc] = RandomInstruction(len - pc - 1);
            if (_rng.Next(4) != 0) p[^1] = _rng.Next(2) == 0 ? RetA : RetK(RandomK());
            yield return new("random", p);
        }
    }

    /// <summary>Valid programs with one to three random edits (opcode, k, jt/jf, insert, delete, swap, truncate).</summary>
    public IEnumerable<GeneratedProgram> Mutations(int count)
    {
        for (int n = 0; n < count; n++)
        {
            var seed = _rng.Next(3) switch
            {
                0 => MemoryMazes(40).Select(g => g.Instructions).FirstOrDefault(p => Validator.Validate(p) is null) ?? [RetAllow],
                _ => ErrnoProgram(100, RandomPool([]), allowKill: true, allowUnknownActions: true),
            };
            var p = seed.ToList();
            int edits = _rng.Next(1, 4);
            for (int e = 0; e < edits && p.Count > 0; e++)
            {
                int pc = _rng.Next(p.Count);
                var ins = p[pc];
                int room = p.Count - pc - 1;
                switch (_rng.Next(12))
                {
                    case 0: p[pc] = ins with { Code = SeccompOpcodes[_rng.Next(SeccompOpcodes.Length)] }; break;
                    case 1: p[pc] = ins with { Code = ClassicOpcodes[_rng.Next(ClassicOpcodes.Length)] }; break;
                    case 2: p[pc] = ins with { Code = (ushort)_rng.Next(0x10000) }; break;
                    case 3: p[pc] = ins with { K = unchecked(ins.K + (uint)_rng.Next(-2, 3)) }; break;
                    case 4: p[pc] = ins with { K = RandomK() }; break;
                    case 5: p[pc] = ins with { Jt = (byte)Pick(room - 1, room, _rng.Next(256), ins.Jt + 1) }; break;
                    case 6: p[pc] = ins with { Jf = (byte)Pick(room - 1, room, _rng.Next(256), ins.Jf + 1) }; break;
                    case 7: p.Insert(pc, RandomInstruction(room + 1)); break;
                    case 8: p.RemoveAt(pc); break;
                    case 9: { int o = _rng.Next(p.Count); (p[pc], p[o]) = (p[o], p[pc]); break; }
                    case 10: p.RemoveRange(pc, p.Count - pc); break;
                    default: p[pc] = ins with { Code = (ushort)(ins.Code ^ (1 << _rng.Next(16))) }; break;
                }
            }
            yield return new("mutation", [.. p]);
        }

        int Pick(params int[] choices) => Math.Clamp(choices[_rng.Next(choices.Length)], 0, 255);
    }

    private Instruction RandomInstruction(int room)
    {
        int r = _rng.Next(100);
        ushort code = r < 65 ? SeccompOpcodes[_rng.Next(SeccompOpcodes.Length)]
            : r < 90 ? ClassicOpcodes[_rng.Next(ClassicOpcodes.Length)]
            : (ushort)_rng.Next(0x10000);
        uint k = BPF_CLASS(code) switch
        {
            BPF_LD when BPF_MODE(code) == BPF_ABS => _rng.Next(3) == 0 ? RandomK() : (uint)_rng.Next(0, 70),
            BPF_LD or BPF_LDX or BPF_ST or BPF_STX when BPF_MODE(code) == BPF_MEM || BPF_CLASS(code) is BPF_ST or BPF_STX => (uint)_rng.Next(0, 18),
            BPF_JMP when BPF_OP(code) == BPF_JA => (uint)Math.Max(0, room - _rng.Next(0, 3)),
            _ => RandomK(),
        };
        int jt = _rng.Next(3) == 0 ? _rng.Next(256) : Math.Max(0, room - _rng.Next(0, 3));
        int jf = _rng.Next(3) == 0 ? _rng.Next(256) : _rng.Next(Math.Max(1, room + 1));
        return Jump(code, k, Math.Min(jt, 255), Math.Min(jf, 255));
    }

    private uint RandomK() => _rng.Next(3) == 0 ? (uint)_rng.NextInt64(0, 1L << 32) : InterestingK[_rng.Next(InterestingK.Length)];

    // ---------------------------------------------------------------------------------------------
    // Errno programs for the interpreter.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// A pool of 32-bit values that both the program's constants and the inputs draw from, so that
    /// JEQ/JGT/JSET branches go both ways. <paramref name="extra"/> adds e.g. instruction-pointer halves.
    /// </summary>
    public uint[] RandomPool(IEnumerable<uint> extra)
    {
        var pool = new List<uint> { 0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 32, 33, 0xc000003e, 0x40000003, 0x40000000 };
        for (int i = 0; i < 6; i++) pool.Add((uint)_rng.NextInt64(0, 1L << 32));
        for (int i = 0; i < 4; i++) pool.Add((uint)_rng.Next(0, 512));
        pool.AddRange(extra);
        return [.. pool];
    }

    private sealed class Node(Instruction ins, bool targetable)
    {
        public Instruction Ins = ins;
        public bool Targetable = targetable;
        public bool IsConditional;
        public bool IsJa;
    }

    /// <summary>
    /// A valid program in which every exit is ERRNO (each <c>RET K</c> a distinct
    /// <c>ERRNO(firstErrno + i)</c>), KILL_THREAD / KILL_PROCESS (with <paramref name="allowKill"/>) or an
    /// unknown action (with <paramref name="allowUnknownActions"/>, which the kernel treats as KILL_PROCESS),
    /// so no probed system call ever runs.
    /// </summary>
    public Instruction[] ErrnoProgram(int firstErrno, uint[] pool, bool allowKill, bool allowUnknownActions = false)
    {
        for (int attempt = 0; ; attempt++)
        {
            var p = TryErrnoProgram(firstErrno, pool, allowKill, allowUnknownActions);
            if (Validator.Validate(p) is null) return p;
            if (attempt > 1000) throw new InvalidOperationException("the errno program generator produced 1000 invalid programs in a row");
        }
    }

    /// <summary>How many distinct errno values <see cref="ErrnoProgram"/> may use from its first one.</summary>
    public const int MaxErrnosPerProgram = 400;

    private Instruction[] TryErrnoProgram(int firstErrno, uint[] pool, bool allowKill, bool allowUnknownActions)
    {
        var nodes = new List<Node>();
        uint nextErrno = (uint)firstErrno;
        var written = new List<uint>();

        // Straight-line prologue: cells written here are readable everywhere below.
        int cells = _rng.Next(0, 5);
        for (int i = 0; i < cells; i++)
        {
            uint cell = (uint)_rng.Next(16);
            if (_rng.Next(2) == 0)
            {
                Add(Stmt(BPF_LD | BPF_W | BPF_ABS, RandomDataOffset()));
                Add(Stmt(BPF_ST, cell));
            }
            else
            {
                Add(Stmt(BPF_LDX | BPF_IMM, pool[_rng.Next(pool.Length)]));
                Add(Stmt(BPF_STX, cell));
            }
            written.Add(cell);
        }

        int target = nodes.Count + _rng.Next(3, 45);
        while (nodes.Count < target)
        {
            int r = _rng.Next(100);
            if (r < 58) Add(BodyInstruction(pool, written));
            else if (r < 76) AddConditional(ConditionalJumps[_rng.Next(ConditionalJumps.Length)], PoolValue(pool));
            else if (r < 80) nodes.Add(new Node(Stmt(BPF_JMP | BPF_JA, 0), true) { IsJa = true });
            else AddExit();
        }
        AddExit();

        // Resolve jumps forward to targetable nodes, mostly near ones, within the u8 offset range.
        for (int j = 0; j < nodes.Count; j++)
        {
            var n = nodes[j];
            if (!n.IsConditional && !n.IsJa) continue;
            var candidates = new List<int>();
            for (int t = j + 1; t < nodes.Count && t - j - 1 <= 255 && candidates.Count < 10; t++)
                if (nodes[t].Targetable) candidates.Add(t);
            int Off() => candidates[_rng.Next(candidates.Count)] - j - 1;
            n.Ins = n.IsJa ? n.Ins with { K = (uint)Off() } : n.Ins with { Jt = (byte)Off(), Jf = (byte)Off() };
        }
        if (nextErrno - (uint)firstErrno > MaxErrnosPerProgram)
            throw new InvalidOperationException("errno program used too many distinct errno values");
        return [.. nodes.Select(n => n.Ins)];

        void Add(Instruction ins) => nodes.Add(new Node(ins, true));

        void AddConditional(ushort code, uint k) => nodes.Add(new Node(Jump(code, k, 0, 0), true) { IsConditional = true });

        void AddExit()
        {
            int r = _rng.Next(100);
            if (r < 42)
                Add(RetK(SeccompReturn.SECCOMP_RET_ERRNO | nextErrno++));
            else if (r < 80)
            {
                // Force A into ERRNO: mask 0xfff mostly; 0xffff exercises the cap at 4095; 0 gives ERRNO(0).
                uint mask = _rng.Next(10) switch { 0 => 0xffff, 1 => 0, _ => 0xfff };
                Add(Stmt(BPF_ALU | BPF_AND | BPF_K, mask));
                nodes.Add(new Node(Stmt(BPF_ALU | BPF_OR | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO), false));
                nodes.Add(new Node(RetA, false));
            }
            else if (r < 84)
                Add(RetK(SeccompReturn.SECCOMP_RET_ERRNO | (uint)(_rng.Next(2) == 0 ? 0 : _rng.Next(4095, 0x10000))));
            else if (allowKill && r < 94)
                Add(RetK(_rng.Next(2) == 0 ? SeccompReturn.SECCOMP_RET_KILL_THREAD : SeccompReturn.SECCOMP_RET_KILL_PROCESS));
            else if (allowUnknownActions && r < 100)
                Add(RetK(UnknownActions[_rng.Next(UnknownActions.Length)] | (uint)_rng.Next(0x10000)));
            else
                Add(RetK(SeccompReturn.SECCOMP_RET_ERRNO | nextErrno++));
        }
    }

    /// <summary>Action parts the kernel does not know (acted on as KILL_PROCESS; they rank by their signed value).</summary>
    private static readonly uint[] UnknownActions = [0x00010000, 0x00020000, 0x00040000, 0x00060000, 0x12340000, 0x7ffe0000, 0x80010000, 0xfff00000];

    private uint PoolValue(uint[] pool) => _rng.Next(5) == 0 ? RandomK() : pool[_rng.Next(pool.Length)];

    private uint RandomDataOffset() => _rng.Next(4) switch
    {
        0 => 0,  // nr
        1 => 4,  // arch
        _ => (uint)(4 * _rng.Next(16)),
    };

    private Instruction BodyInstruction(uint[] pool, List<uint> written)
    {
        uint xValue = _rng.Next(6) switch { 0 => 0, 1 => (uint)_rng.Next(32, 70), 2 => (uint)_rng.Next(0, 32), _ => PoolValue(pool) };
        switch (_rng.Next(26))
        {
            case 0: case 1: case 2: case 3: return Stmt(BPF_LD | BPF_W | BPF_ABS, RandomDataOffset());
            case 4: return Stmt(BPF_LD | BPF_W | BPF_LEN, 0);
            case 5: return Stmt(BPF_LDX | BPF_W | BPF_LEN, 0);
            case 6: return Stmt(BPF_LD | BPF_IMM, PoolValue(pool));
            case 7: case 8: return Stmt(BPF_LDX | BPF_IMM, xValue);
            case 9: return Stmt(BPF_MISC | BPF_TAX, 0);
            case 10: return Stmt(BPF_MISC | BPF_TXA, 0);
            case 11: return Stmt(BPF_ALU | BPF_NEG, 0);
            case 12: return Stmt(BPF_ST, (uint)_rng.Next(16));
            case 13: return Stmt(BPF_STX, (uint)_rng.Next(16));
            case 14:
            case 15:
                // Mostly cells the prologue wrote; sometimes any cell (rejection sampling keeps only valid programs).
                uint cell = written.Count > 0 && _rng.Next(6) != 0 ? written[_rng.Next(written.Count)] : (uint)_rng.Next(16);
                return Stmt(_rng.Next(2) == 0 ? (ushort)(BPF_LD | BPF_MEM) : (ushort)(BPF_LDX | BPF_MEM), cell);
            case 16: return Stmt(BPF_ALU | BPF_DIV | BPF_X, 0);
            case 17: return Stmt(_rng.Next(2) == 0 ? (ushort)(BPF_ALU | BPF_LSH | BPF_X) : (ushort)(BPF_ALU | BPF_RSH | BPF_X), 0);
            case 18: return Stmt(_rng.Next(2) == 0 ? (ushort)(BPF_ALU | BPF_LSH | BPF_K) : (ushort)(BPF_ALU | BPF_RSH | BPF_K), (uint)_rng.Next(32));
            case 19: return Stmt(BPF_ALU | BPF_DIV | BPF_K, Math.Max(1u, PoolValue(pool)));
            case 20: return Stmt((ushort)(BPF_ALU | BPF_MUL | (_rng.Next(2) == 0 ? BPF_K : BPF_X)), _rng.Next(2) == 0 ? 0x9e3779b9 : PoolValue(pool));
            default:
                ushort[] ops = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR];
                return Stmt((ushort)(BPF_ALU | ops[_rng.Next(ops.Length)] | (_rng.Next(2) == 0 ? BPF_K : BPF_X)), PoolValue(pool));
        }
    }

    /// <summary>
    /// The instructions put in front of every older filter of a stack: they let the helper's own install
    /// call (<see cref="ProbeAddresses.Install"/>) through, or the next filter could not be installed.
    /// Probed calls come from other addresses, so for them control falls through to <paramref name="body"/>.
    /// </summary>
    public static Instruction[] WithInstallEscape(Instruction[] body, ulong installIp) =>
    [
        Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetInstructionPointer),       // A = ip low
        Jump(BPF_JMP | BPF_JEQ | BPF_K, (uint)installIp, 0, 3),                      // not the install call: body
        Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetInstructionPointer + 4),   // A = ip high
        Jump(BPF_JMP | BPF_JEQ | BPF_K, (uint)(installIp >> 32), 0, 1),              // not the install call: body
        RetAllow,                                                                   // the helper's seccomp() call
        .. body,
    ];
}
