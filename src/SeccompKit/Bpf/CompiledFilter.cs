using System.Diagnostics.CodeAnalysis;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace SeccompKit.Bpf;

/// <summary>
/// A second engine beside <see cref="Interpreter"/>: compiles a <see cref="BpfProgram"/> once into a .NET
/// method (IL emitted with <see cref="DynamicMethod"/>, then JIT-compiled to machine code), much as the kernel
/// JIT-compiles seccomp filters. <see cref="Evaluate"/> returns exactly what
/// <see cref="Interpreter.Evaluate(BpfProgram, SeccompData)"/> returns; the interpreter stays the reference
/// (with tracing, <see cref="Interpreter.Run(BpfProgram, SeccompData, bool)"/>) and this engine is tested against it.
/// </summary>
/// <remarks>
/// Compiling costs far more than one evaluation (roughly what the JIT takes for a method of the program's size),
/// so it pays off for a filter evaluated many times. Where the runtime cannot generate code
/// (<see cref="RuntimeFeature.IsDynamicCodeSupported"/> is false, e.g. Native AOT) <see cref="Compile"/> returns
/// a filter that runs the interpreter, and <see cref="IsCompiled"/> says so. Instances are immutable and
/// thread-safe.
/// </remarks>
public sealed class CompiledFilter
{
    /// <summary>The generated method: the 16 words of seccomp_data arrive as arguments, so LD W ABS k is
    /// <c>ldarg k/4</c> and the generated code touches no memory but its own locals (memory-safe by construction).</summary>
    private delegate uint Body(uint w0, uint w1, uint w2, uint w3, uint w4, uint w5, uint w6, uint w7,
        uint w8, uint w9, uint w10, uint w11, uint w12, uint w13, uint w14, uint w15);

    private readonly Body? _body;

    private CompiledFilter(BpfProgram program, Body? body)
    {
        Program = program;
        _body = body;
    }

    /// <summary>The program this filter runs.</summary>
    public BpfProgram Program { get; }

    /// <summary>True when the program runs as generated code; false when the runtime has no dynamic code and the interpreter runs it.</summary>
    public bool IsCompiled => _body is not null;

    /// <summary>Compiles <paramref name="program"/> (already validated, as every <see cref="BpfProgram"/> is).</summary>
    public static CompiledFilter Compile(BpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return new CompiledFilter(program, RuntimeFeature.IsDynamicCodeSupported ? Emit(program) : null);
    }

    /// <summary>The filter's return value for <paramref name="data"/>, equal to <see cref="Interpreter.Evaluate(BpfProgram, SeccompData)"/>.</summary>
    public uint Evaluate(SeccompData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (_body is null) return Interpreter.Evaluate(Program, data);
        Span<uint> w = stackalloc uint[SeccompData.Size / 4];
        data.WriteWords(w);
        return _body(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12], w[13], w[14], w[15]);
    }

    /// <summary>
    /// One IL block per instruction, labelled by pc. A and X are locals starting at 0 (as the kernel clears
    /// them), M[0..15] are sixteen locals, the input's 16 words are the arguments, so LD W ABS k
    /// loads argument k/4. Arithmetic is the IL's wrapping 32-bit arithmetic; comparisons and division are
    /// the unsigned forms; shifts by X mask X to its low 5 bits (as the kernel's interpreter does); DIV X
    /// with X == 0 returns 0.
    /// </summary>
    [RequiresDynamicCode("Emits IL with DynamicMethod")]
    private static Body Emit(BpfProgram program)
    {
        var code = program.Decoded; // absolute targets, and bounds re-checked by the decoder
        var method = new DynamicMethod($"seccomp_filter_{code.Length}", typeof(uint), Enumerable.Repeat(typeof(uint), SeccompData.Size / 4).ToArray(),
            typeof(CompiledFilter).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        var a = il.DeclareLocal(typeof(uint));
        var x = il.DeclareLocal(typeof(uint));
        var mem = new LocalBuilder[BpfOpcodes.BPF_MEMWORDS];
        for (int i = 0; i < mem.Length; i++) mem[i] = il.DeclareLocal(typeof(uint));
        var labels = new Label[code.Length];
        for (int i = 0; i < labels.Length; i++) labels[i] = il.DefineLabel();
        Label? returnZero = null;

        for (int pc = 0; pc < code.Length; pc++)
        {
            il.MarkLabel(labels[pc]);
            var ins = code[pc];
            switch (ins.Op)
            {
                case DecodedOp.LdAbs:
                    il.Emit(OpCodes.Ldarg, (short)ins.K); // the decoder turned the byte offset into a word index < 16
                    il.Emit(OpCodes.Stloc, a);
                    break;
                case DecodedOp.LdLen: Constant(SeccompData.Size, a); break;
                case DecodedOp.LdxLen: Constant(SeccompData.Size, x); break;
                case DecodedOp.LdImm: Constant(ins.K, a); break;
                case DecodedOp.LdxImm: Constant(ins.K, x); break;
                case DecodedOp.LdMem: Move(mem[ins.K], a); break;
                case DecodedOp.LdxMem: Move(mem[ins.K], x); break;
                case DecodedOp.St: Move(a, mem[ins.K]); break;
                case DecodedOp.Stx: Move(x, mem[ins.K]); break;
                case DecodedOp.Tax: Move(a, x); break;
                case DecodedOp.Txa: Move(x, a); break;
                case DecodedOp.AddK: AluK(OpCodes.Add, ins.K); break;
                case DecodedOp.AddX: AluX(OpCodes.Add); break;
                case DecodedOp.SubK: AluK(OpCodes.Sub, ins.K); break;
                case DecodedOp.SubX: AluX(OpCodes.Sub); break;
                case DecodedOp.MulK: AluK(OpCodes.Mul, ins.K); break;
                case DecodedOp.MulX: AluX(OpCodes.Mul); break;
                case DecodedOp.DivK: AluK(OpCodes.Div_Un, ins.K); break; // K != 0 (validated)
                case DecodedOp.DivX:
                    returnZero ??= il.DefineLabel();
                    il.Emit(OpCodes.Ldloc, x);
                    il.Emit(OpCodes.Brfalse, returnZero.Value);
                    AluX(OpCodes.Div_Un);
                    break;
                case DecodedOp.AndK: AluK(OpCodes.And, ins.K); break;
                case DecodedOp.AndX: AluX(OpCodes.And); break;
                case DecodedOp.OrK: AluK(OpCodes.Or, ins.K); break;
                case DecodedOp.OrX: AluX(OpCodes.Or); break;
                case DecodedOp.XorK: AluK(OpCodes.Xor, ins.K); break;
                case DecodedOp.XorX: AluX(OpCodes.Xor); break;
                case DecodedOp.LshK: AluK(OpCodes.Shl, ins.K); break;      // K < 32 (validated)
                case DecodedOp.LshX: ShiftX(OpCodes.Shl); break;
                case DecodedOp.RshK: AluK(OpCodes.Shr_Un, ins.K); break;
                case DecodedOp.RshX: ShiftX(OpCodes.Shr_Un); break;
                case DecodedOp.Neg:
                    il.Emit(OpCodes.Ldloc, a);
                    il.Emit(OpCodes.Neg);
                    il.Emit(OpCodes.Stloc, a);
                    break;
                case DecodedOp.Ja:
                    if (ins.True != pc + 1) il.Emit(OpCodes.Br, labels[ins.True]);
                    break;
                case DecodedOp.JeqK or DecodedOp.JeqKFall or DecodedOp.JneKFall: Branch(pc, ins, OpCodes.Beq, ins.K, useX: false); break;
                case DecodedOp.JeqX: Branch(pc, ins, OpCodes.Beq, 0, useX: true); break;
                case DecodedOp.JgtK: Branch(pc, ins, OpCodes.Bgt_Un, ins.K, useX: false); break;
                case DecodedOp.JgtX: Branch(pc, ins, OpCodes.Bgt_Un, 0, useX: true); break;
                case DecodedOp.JgeK: Branch(pc, ins, OpCodes.Bge_Un, ins.K, useX: false); break;
                case DecodedOp.JgeX: Branch(pc, ins, OpCodes.Bge_Un, 0, useX: true); break;
                case DecodedOp.JsetK: BranchSet(pc, ins, useX: false); break;
                case DecodedOp.JsetX: BranchSet(pc, ins, useX: true); break;
                case DecodedOp.RetK:
                    il.Emit(OpCodes.Ldc_I4, unchecked((int)ins.K));
                    il.Emit(OpCodes.Ret);
                    break;
                case DecodedOp.RetA:
                    il.Emit(OpCodes.Ldloc, a);
                    il.Emit(OpCodes.Ret);
                    break;
                default:
                    throw new InvalidOperationException($"pc {pc}: decoded operation {ins.Op} is unknown to the compiler");
            }
        }
        if (returnZero is { } zero)
        {
            il.MarkLabel(zero);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Ret);
        }
        return method.CreateDelegate<Body>();

        void Constant(uint value, LocalBuilder to)
        {
            il.Emit(OpCodes.Ldc_I4, unchecked((int)value));
            il.Emit(OpCodes.Stloc, to);
        }

        void Move(LocalBuilder from, LocalBuilder to)
        {
            il.Emit(OpCodes.Ldloc, from);
            il.Emit(OpCodes.Stloc, to);
        }

        void AluK(OpCode op, uint k)
        {
            il.Emit(OpCodes.Ldloc, a);
            il.Emit(OpCodes.Ldc_I4, unchecked((int)k));
            il.Emit(op);
            il.Emit(OpCodes.Stloc, a);
        }

        void AluX(OpCode op)
        {
            il.Emit(OpCodes.Ldloc, a);
            il.Emit(OpCodes.Ldloc, x);
            il.Emit(op);
            il.Emit(OpCodes.Stloc, a);
        }

        void ShiftX(OpCode op)
        {
            il.Emit(OpCodes.Ldloc, a);
            il.Emit(OpCodes.Ldloc, x);
            il.Emit(OpCodes.Ldc_I4, 31);
            il.Emit(OpCodes.And);
            il.Emit(op);
            il.Emit(OpCodes.Stloc, a);
        }

        // if (A op operand) goto True else goto False, the fall-through side without a branch.
        void Branch(int pc, DecodedInstruction ins, OpCode op, uint k, bool useX)
        {
            if (ins.True == ins.False)
            {
                if (ins.True != pc + 1) il.Emit(OpCodes.Br, labels[ins.True]);
                return;
            }
            il.Emit(OpCodes.Ldloc, a);
            if (useX) il.Emit(OpCodes.Ldloc, x);
            else il.Emit(OpCodes.Ldc_I4, unchecked((int)k));
            il.Emit(op, labels[ins.True]);
            if (ins.False != pc + 1) il.Emit(OpCodes.Br, labels[ins.False]);
        }

        void BranchSet(int pc, DecodedInstruction ins, bool useX)
        {
            if (ins.True == ins.False)
            {
                if (ins.True != pc + 1) il.Emit(OpCodes.Br, labels[ins.True]);
                return;
            }
            il.Emit(OpCodes.Ldloc, a);
            if (useX) il.Emit(OpCodes.Ldloc, x);
            else il.Emit(OpCodes.Ldc_I4, unchecked((int)ins.K));
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Brtrue, labels[ins.True]);
            if (ins.False != pc + 1) il.Emit(OpCodes.Br, labels[ins.False]);
        }
    }
}
