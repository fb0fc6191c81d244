using System.Globalization;
using System.Text;

namespace SeccompKit;

/// <summary>
/// Reads every input file seccompkit is given (profiles, policies, includes, BPF programs and listings, agent
/// configurations), bounded in size and in time, with errors that name the file and say what to do:
/// <list type="bullet">
/// <item>at most <see cref="MaxBytes"/> bytes: a file (or device, such as <c>/dev/zero</c>) that goes on longer is refused
/// as soon as the limit is passed, so an endless input never fills memory;</item>
/// <item>a directory is refused as a directory (the runtime would say "access denied");</item>
/// <item>a file whose size is not known in advance (a FIFO, a character device, a <c>/proc</c> file, an empty file) must
/// reach its end within <see cref="SpecialFileTimeLimit"/>: a FIFO nobody writes to is refused instead of waited on
/// forever. Standard input has no time limit (it is what pipes are for), only the size limit;</item>
/// <item>too many open files (EMFILE, ENFILE) is an input error naming the file and the limit to raise.</item>
/// </list>
/// </summary>
public static class InputFile
{
    /// <summary>
    /// The largest input read: 64 MiB. The largest real inputs are far smaller: Docker's default profile is about
    /// 20 KB, a raw BPF program at most 32 KiB (BPF_MAXINSNS = 4096 instructions of 8 bytes) and its text form about
    /// 250 KB; a generated profile listing every syscall of every architecture with argument rules stays under a few MB.
    /// 64 MiB leaves a large margin for generated inputs while bounding memory (the text is held twice, as bytes and
    /// as UTF-16) to a few hundred MB.
    /// </summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>
    /// How long a file whose size is not known in advance (a FIFO, a device, a <c>/proc</c> file) may take to reach
    /// its end: 10 seconds. A process substitution such as <c>&lt;(seccompkit compile ...)</c> finishes well within
    /// it; a slower writer should pipe into standard input ("-"), which has no time limit.
    /// </summary>
    public static readonly TimeSpan SpecialFileTimeLimit = TimeSpan.FromSeconds(10);

    // errno values (asm-generic/errno-base.h) the runtime keeps in IOException.HResult on Unix.
    private const int ENFILE = 23, EMFILE = 24;

    /// <summary>Reads <paramref name="path"/> as bytes, bounded by <see cref="MaxBytes"/> and <see cref="SpecialFileTimeLimit"/>.</summary>
    /// <exception cref="InputFileException">It does not exist, is a directory, may not be read, is too large, did not end in time, or reading failed; the message names it and says which.</exception>
    public static byte[] ReadAllBytes(string path) => ReadAllBytes(path, MaxBytes, SpecialFileTimeLimit);

    /// <summary>Reads <paramref name="path"/> as bytes with the given limits (<see cref="ReadAllBytes(string)"/> uses the documented ones).</summary>
    /// <exception cref="InputFileException">See <see cref="ReadAllBytes(string)"/>.</exception>
    public static byte[] ReadAllBytes(string path, int maxBytes, TimeSpan timeLimit)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(maxBytes, Array.MaxLength);
        if (Directory.Exists(path))
            throw new InputFileException(path, "is a directory; give a file");
        long known;
        try { known = new FileInfo(path).Length; }
        catch (FileNotFoundException) { known = 0; } // the open below reports it
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Failure(path, e); }
        if (known > maxBytes) throw TooLarge(path, maxBytes);
        if (known > 0) return ReadOpened(path, maxBytes, (int)known);

        // Size unknown: a FIFO blocks in open(2) until a writer comes and in read(2) until it writes or closes, and the
        // runtime cannot open it O_NONBLOCK; so the read runs on its own thread and the caller waits at most timeLimit.
        // On time-out that thread stays blocked until a writer comes (it is a background thread: it does not keep the
        // process alive), and the caller gets the error now.
        byte[]? result = null;
        Exception? error = null;
        var reader = new Thread(() =>
        {
            try { result = ReadOpened(path, maxBytes, 0); }
            catch (Exception e) { error = e; }
        })
        { IsBackground = true, Name = "seccompkit input " + path };
        reader.Start();
        if (!reader.Join(timeLimit))
            throw new InputFileException(path, string.Create(CultureInfo.InvariantCulture,
                $"did not reach its end within {timeLimit.TotalSeconds:0.#} s (a FIFO or device nobody writes to?); pass a regular file, or pipe the content into standard input with FILE '-', which has no time limit"));
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return result!;
    }

    /// <summary>Reads <paramref name="path"/> as text (UTF-8, or the encoding its byte-order mark names, as <see cref="File.ReadAllText(string)"/>), with the limits of <see cref="ReadAllBytes(string)"/>.</summary>
    /// <exception cref="InputFileException">See <see cref="ReadAllBytes(string)"/>.</exception>
    public static string ReadAllText(string path) => Decode(ReadAllBytes(path));

    /// <summary>
    /// Reads <paramref name="stream"/> (standard input) to its end, at most <paramref name="maxBytes"/> bytes; no time limit.
    /// <paramref name="name"/> names it in errors.
    /// </summary>
    /// <exception cref="InputFileException">It is longer than <paramref name="maxBytes"/>, or reading failed.</exception>
    public static byte[] ReadStream(Stream stream, string name, int maxBytes = MaxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(maxBytes, Array.MaxLength);
        try { return ReadBounded(stream, name, maxBytes, 0); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Failure(name, e); }
    }

    /// <summary>Reads <paramref name="stream"/> as text with the limits of <see cref="ReadStream"/>.</summary>
    /// <exception cref="InputFileException">See <see cref="ReadStream"/>.</exception>
    public static string ReadStreamText(Stream stream, string name, int maxBytes = MaxBytes) => Decode(ReadStream(stream, name, maxBytes));

    private static string Decode(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    private static byte[] ReadOpened(string path, int maxBytes, int sizeHint)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            return ReadBounded(stream, path, maxBytes, sizeHint);
        }
        catch (InputFileException) { throw; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Failure(path, e); }
    }

    private static byte[] ReadBounded(Stream stream, string name, int maxBytes, int sizeHint)
    {
        // One byte more than the limit tells "exactly at the limit" from "over it" without reading on.
        long limit = (long)maxBytes + 1;
        var buffer = new byte[sizeHint > 0 ? Math.Min(sizeHint + 1L, limit) : Math.Min(81920, limit)];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length > maxBytes) throw TooLarge(name, maxBytes);
                Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, Math.Min(limit, Array.MaxLength)));
            }
            int n = stream.Read(buffer, length, buffer.Length - length);
            if (n == 0) break;
            length += n;
        }
        if (length > maxBytes) throw TooLarge(name, maxBytes);
        Array.Resize(ref buffer, length);
        return buffer;
    }

    private static InputFileException TooLarge(string name, int maxBytes) =>
        new(name, string.Create(CultureInfo.InvariantCulture,
            $"larger than {Size(maxBytes)}, the most seccompkit reads from one input (real profiles and programs are well under 1 MiB); is it the right file?"));

    private static string Size(int bytes) => bytes % (1024 * 1024) == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024)} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");

    /// <summary>The error for a failed open or read of <paramref name="path"/>, in the words of the command line.</summary>
    internal static InputFileException Failure(string path, Exception e) => e switch
    {
        FileNotFoundException => new(path, "no such file"),
        DirectoryNotFoundException => new(path, "no such file or directory"),
        // The runtime reports EISDIR and EACCES alike; a directory created since the check above is rare but possible.
        UnauthorizedAccessException when Directory.Exists(path) => new(path, "is a directory; give a file"),
        UnauthorizedAccessException => new(path, "permission denied"),
        IOException { HResult: EMFILE } => new(path, "cannot open: too many open files (this process reached its limit, RLIMIT_NOFILE); raise it (ulimit -n) and try again"),
        IOException { HResult: ENFILE } => new(path, "cannot open: too many open files in the system (fs.file-max reached); close some programs and try again"),
        _ => new(path, $"cannot read: {e.Message}"),
    };
}
