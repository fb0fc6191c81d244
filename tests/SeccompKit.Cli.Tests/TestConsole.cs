using System.Text;
using SeccompKit.Cli;
using SeccompKit.Cli.Io;

namespace SeccompKit.Cli.Tests;

/// <summary>Runs seccompkit in-process with captured streams.</summary>
internal sealed class TestConsole : ICliConsole
{
    private readonly MemoryStream _stdout = new();
    private readonly byte[] _stdin;

    public TestConsole(byte[]? stdin = null, bool terminal = false)
    {
        _stdin = stdin ?? [];
        IsOutputTerminal = terminal;
        Out = new StreamWriter(_stdout, new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
    }

    public TextWriter Out { get; }
    public StringWriter ErrorWriter { get; } = new();
    public TextWriter Error => ErrorWriter;
    public bool IsOutputTerminal { get; }
    public Stream OpenStandardOutput() => new NonClosing(_stdout);
    public Stream OpenStandardInput() => new MemoryStream(_stdin);

    public byte[] StdoutBytes => _stdout.ToArray();
    public string StdoutText => Encoding.UTF8.GetString(_stdout.ToArray());
    public string StderrText => ErrorWriter.ToString();

    public static (int Exit, TestConsole Console) Run(params string[] args) => RunWith(null, args);

    public static (int Exit, TestConsole Console) RunWith(byte[]? stdin, params string[] args)
    {
        var c = new TestConsole(stdin);
        int exit = CliApp.Run(args, c);
        return (exit, c);
    }

    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}

/// <summary>A temporary directory removed after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(PathName = Path.Combine(Path.GetTempPath(), "seccompkit-cli-" + Guid.NewGuid().ToString("n")));
    public string PathName { get; }
    public string File(string name) => Path.Combine(PathName, name);
    public void Dispose() { try { Directory.Delete(PathName, true); } catch (IOException) { } }
}
