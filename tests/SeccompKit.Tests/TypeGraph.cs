using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace SeccompKit.Tests;

/// <summary>A top-level type by namespace and name (nested and compiler-generated types count as their outermost type).</summary>
internal readonly record struct TypeName(string Namespace, string Name)
{
    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}.{Name}";
}

/// <summary>
/// Which types each top-level type of an assembly uses, read from the built assembly's metadata and IL with
/// System.Reflection.Metadata (nothing is loaded or run): base types, interfaces, field, method, property and local
/// signatures, attributes, generic constraints, exception handlers and every type, method and field token in method
/// bodies. So a fully qualified name, a <c>using static</c> or an alias counts as surely as a <c>using</c> directive.
/// </summary>
internal sealed class TypeGraph
{
    private static readonly OperandType?[] OneByte = new OperandType?[256];
    private static readonly OperandType?[] TwoByte = new OperandType?[256];

    static TypeGraph()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            ushort v = unchecked((ushort)op.Value);
            if (op.Size == 1) OneByte[v] = op.OperandType;
            else TwoByte[v & 0xff] = op.OperandType;
        }
    }

    private TypeGraph(string assemblyName, ImmutableArray<string> references, ImmutableDictionary<TypeName, ImmutableHashSet<TypeName>> uses,
        bool unverifiable, ImmutableArray<string> nativeImports)
    {
        AssemblyName = assemblyName;
        AssemblyReferences = references;
        Uses = uses;
        HasUnverifiableCode = unverifiable;
        NativeImports = nativeImports;
    }

    public string AssemblyName { get; }

    /// <summary>Names of the assemblies this one references.</summary>
    public ImmutableArray<string> AssemblyReferences { get; }

    /// <summary>Each top-level type defined in a SeccompKit namespace, with the SeccompKit types (of any assembly) it uses.</summary>
    public ImmutableDictionary<TypeName, ImmutableHashSet<TypeName>> Uses { get; }

    /// <summary>Whether the module says it has unverifiable code: the C# compiler marks every assembly built with AllowUnsafeBlocks.</summary>
    public bool HasUnverifiableCode { get; }

    /// <summary>Methods implemented by a native import (DllImport, or the inner stub of a LibraryImport).</summary>
    public ImmutableArray<string> NativeImports { get; }

    public static TypeGraph Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var reader = new Reader(md, pe);
        var uses = new Dictionary<TypeName, HashSet<TypeName>>();
        var imports = new List<string>();
        foreach (var h in md.TypeDefinitions)
        {
            var owner = reader.Outermost(h);
            if (!owner.Namespace.StartsWith("SeccompKit", StringComparison.Ordinal)) continue;
            if (!uses.TryGetValue(owner, out var set)) uses[owner] = set = [];
            reader.Collect(h, set, imports);
            set.Remove(owner);
        }
        bool unverifiable = md.GetModuleDefinition().GetCustomAttributes().Concat(md.GetAssemblyDefinition().GetCustomAttributes())
            .Any(a => reader.AttributeType(a) is { Name: "UnverifiableCodeAttribute" });
        return new TypeGraph(md.GetString(md.GetAssemblyDefinition().Name),
            [.. md.AssemblyReferences.Select(r => md.GetString(md.GetAssemblyReference(r).Name))],
            uses.ToImmutableDictionary(p => p.Key, p => p.Value.ToImmutableHashSet()), unverifiable, [.. imports]);
    }

    private sealed class Reader(MetadataReader md, PEReader pe) : ISignatureTypeProvider<object?, object?>
    {
        private HashSet<TypeName> _into = [];

        public TypeName Outermost(TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            while (t.IsNested) t = md.GetTypeDefinition(t.GetDeclaringType());
            return new TypeName(md.GetString(t.Namespace), md.GetString(t.Name));
        }

        private TypeName Outermost(TypeReferenceHandle h)
        {
            var t = md.GetTypeReference(h);
            while (t.ResolutionScope.Kind == HandleKind.TypeReference) t = md.GetTypeReference((TypeReferenceHandle)t.ResolutionScope);
            return new TypeName(md.GetString(t.Namespace), md.GetString(t.Name));
        }

        public TypeName? AttributeType(CustomAttributeHandle h)
        {
            var ctor = md.GetCustomAttribute(h).Constructor;
            return ctor.Kind switch
            {
                HandleKind.MethodDefinition => Outermost(md.GetMethodDefinition((MethodDefinitionHandle)ctor).GetDeclaringType()),
                HandleKind.MemberReference when md.GetMemberReference((MemberReferenceHandle)ctor).Parent is { Kind: HandleKind.TypeReference } p => Outermost((TypeReferenceHandle)p),
                _ => null,
            };
        }

        private void Add(TypeName t)
        {
            if (t.Namespace.StartsWith("SeccompKit", StringComparison.Ordinal)) _into.Add(t);
        }

        public void Collect(TypeDefinitionHandle h, HashSet<TypeName> into, List<string> imports)
        {
            _into = into;
            var t = md.GetTypeDefinition(h);
            if (!t.BaseType.IsNil) Entity(t.BaseType);
            foreach (var i in t.GetInterfaceImplementations()) Entity(md.GetInterfaceImplementation(i).Interface);
            Attributes(t.GetCustomAttributes());
            Generics(t.GetGenericParameters());
            foreach (var f in t.GetFields())
            {
                var fd = md.GetFieldDefinition(f);
                fd.DecodeSignature(this, null);
                Attributes(fd.GetCustomAttributes());
            }
            foreach (var p in t.GetProperties())
            {
                var pd = md.GetPropertyDefinition(p);
                pd.DecodeSignature(this, null);
                Attributes(pd.GetCustomAttributes());
            }
            foreach (var e in t.GetEvents()) Entity(md.GetEventDefinition(e).Type);
            foreach (var m in t.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                method.DecodeSignature(this, null);
                Attributes(method.GetCustomAttributes());
                Generics(method.GetGenericParameters());
                foreach (var p in method.GetParameters()) Attributes(md.GetParameter(p).GetCustomAttributes());
                if ((method.Attributes & MethodAttributes.PinvokeImpl) != 0)
                    imports.Add($"{Outermost(h)}.{md.GetString(method.Name)}");
                if (method.RelativeVirtualAddress != 0) Body(pe.GetMethodBody(method.RelativeVirtualAddress));
            }
        }

        private void Attributes(CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes) Entity(md.GetCustomAttribute(a).Constructor);
        }

        private void Generics(GenericParameterHandleCollection parameters)
        {
            foreach (var g in parameters)
                foreach (var c in md.GetGenericParameter(g).GetConstraints())
                    Entity(md.GetGenericParameterConstraint(c).Type);
        }

        private void Body(MethodBodyBlock body)
        {
            if (!body.LocalSignature.IsNil)
                md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(this, null);
            foreach (var r in body.ExceptionRegions)
                if (!r.CatchType.IsNil) Entity(r.CatchType);
            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                byte b = il.ReadByte();
                var operand = b == 0xfe ? TwoByte[il.ReadByte()] : OneByte[b];
                switch (operand)
                {
                    case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineType or OperandType.InlineTok:
                        Entity(MetadataTokens.EntityHandle(il.ReadInt32()));
                        break;
                    case OperandType.InlineSwitch:
                        int n = il.ReadInt32();
                        il.Offset += 4 * n;
                        break;
                    case OperandType.InlineI8 or OperandType.InlineR:
                        il.Offset += 8;
                        break;
                    case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.InlineSig or OperandType.InlineString or OperandType.ShortInlineR:
                        il.Offset += 4;
                        break;
                    case OperandType.InlineVar:
                        il.Offset += 2;
                        break;
                    case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                        il.Offset += 1;
                        break;
                    case OperandType.InlineNone:
                        break;
                    default:
                        throw new InvalidOperationException($"unknown IL opcode 0x{b:x2} at offset {il.Offset - 1}");
                }
            }
        }

        private void Entity(EntityHandle h)
        {
            switch (h.Kind)
            {
                case HandleKind.TypeDefinition:
                    Add(Outermost((TypeDefinitionHandle)h));
                    break;
                case HandleKind.TypeReference:
                    Add(Outermost((TypeReferenceHandle)h));
                    break;
                case HandleKind.TypeSpecification:
                    md.GetTypeSpecification((TypeSpecificationHandle)h).DecodeSignature(this, null);
                    break;
                case HandleKind.MethodDefinition:
                    Add(Outermost(md.GetMethodDefinition((MethodDefinitionHandle)h).GetDeclaringType()));
                    break;
                case HandleKind.FieldDefinition:
                    Add(Outermost(md.GetFieldDefinition((FieldDefinitionHandle)h).GetDeclaringType()));
                    break;
                case HandleKind.MethodSpecification:
                    var spec = md.GetMethodSpecification((MethodSpecificationHandle)h);
                    Entity(spec.Method);
                    spec.DecodeSignature(this, null);
                    break;
                case HandleKind.MemberReference:
                    var member = md.GetMemberReference((MemberReferenceHandle)h);
                    if (member.Parent.Kind != HandleKind.ModuleReference) Entity(member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Method) member.DecodeMethodSignature(this, null);
                    else member.DecodeFieldSignature(this, null);
                    break;
            }
        }

        public object? GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) { Add(Outermost(handle)); return null; }
        public object? GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) { Add(Outermost(handle)); return null; }
        public object? GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
        public object? GetArrayType(object? elementType, ArrayShape shape) => null;
        public object? GetByReferenceType(object? elementType) => null;
        public object? GetFunctionPointerType(MethodSignature<object?> signature) => null;
        public object? GetGenericInstantiation(object? genericType, ImmutableArray<object?> typeArguments) => null;
        public object? GetGenericMethodParameter(object? genericContext, int index) => null;
        public object? GetGenericTypeParameter(object? genericContext, int index) => null;
        public object? GetModifiedType(object? modifier, object? unmodifiedType, bool isRequired) => null;
        public object? GetPinnedType(object? elementType) => null;
        public object? GetPointerType(object? elementType) => null;
        public object? GetPrimitiveType(PrimitiveTypeCode typeCode) => null;
        public object? GetSZArrayType(object? elementType) => null;
    }
}
