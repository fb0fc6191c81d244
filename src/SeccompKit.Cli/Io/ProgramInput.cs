using SeccompKit.Bpf;

namespace SeccompKit.Cli.Io;

/// <summary>How a program file is encoded.</summary>
public enum InputFormat
{
    /// <summary>Decide from the content: NUL bytes mean raw, otherwise text.</summary>
    Auto,
    /// <summary>An array of 8-byte <c>struct sock_filter</c>, as <c>seccomp_export_bpf</c> writes.</summary>
    Raw,
    /// <summary>The text <c>seccompkit disasm</c> writes (readable or raw form).</summary>
    Text,
}

/// <summary>Reads program files for the commands.</summary>
public static class ProgramInput
{
    /// <summary>Reads a file ("-" = standard input) into instructions, without validating them.</summary>
    public static Instruction[] Read(string path, InputFormat format, ICliConsole console, IBpfSymbols? symbols)
    {
        byte[] bytes = ReadBytes(path, console);
        if (bytes.Length == 0)
            throw new CliInputException($"{path}: the file is empty; expected a raw BPF program (8-byte struct sock_filter entries) or its text form");
        var fmt = format;
        if (fmt == InputFormat.Auto) fmt = Array.IndexOf(bytes, (byte)0) >= 0 ? InputFormat.Raw : InputFormat.Text;
        try
        {
            if (fmt == InputFormat.Raw) return BpfProgram.ParseRaw(bytes);
            string text;
            try { text = new System.Text.UTF8Encoding(false, true).GetString(bytes); }
            catch (System.Text.DecoderFallbackException)
            {
                throw new CliInputException($"{path}: not UTF-8 text and contains no NUL byte; if it is a raw BPF program, pass --input-format raw");
            }
            return Assembler.Assemble(text, symbols);
        }
        catch (BpfFormatException e)
        {
            string hint = fmt == InputFormat.Raw && format == InputFormat.Auto ? " (read as raw because it contains NUL bytes; pass --input-format text if it is text)" : "";
            throw new CliInputException($"{path}: {e.Message}{hint}");
        }
    }

    /// <summary>
    /// Reads a file ("-" = standard input) as bytes, within the limits of <see cref="InputFile"/> (size; time for FIFOs
    /// and devices); a missing, unreadable, too large or endless file is a <see cref="CliInputException"/> naming it.
    /// </summary>
    public static byte[] ReadBytes(string path, ICliConsole console)
    {
        try
        {
            if (path == "-")
            {
                using var stdin = console.OpenStandardInput();
                return InputFile.ReadStream(stdin, PolicyInput.StandardInputName);
            }
            // The variadic FILE argument swallows unknown options; say what the user most likely meant.
            if (path.StartsWith('-') && !File.Exists(path) && !Directory.Exists(path))
                throw new CliInputException($"unknown option '{path}' (or no such file); run with --help for the options, or write ./{path} for a file", ExitCodes.Usage);
            return InputFile.ReadAllBytes(path);
        }
        catch (InputFileException e) { throw new CliInputException(e.Message); }
    }

    /// <summary>Reads and validates a program; a refusal becomes exit code <see cref="ExitCodes.FilterRefused"/>.</summary>
    public static BpfProgram ReadValid(string path, InputFormat format, ICliConsole console, IBpfSymbols? symbols)
    {
        var ins = Read(path, format, console, symbols);
        if (!BpfProgram.TryCreate(ins, out var program, out var error))
            throw new CliInputException($"{path}: the kernel would refuse this filter: {error}", ExitCodes.FilterRefused);
        return program!;
    }
}
