using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace SeccompKit.Linux.Graphviz;

/// <summary>Graphviz could not render a graph: it is not installed, it failed, or it ran past its time.</summary>
public sealed class GraphvizException(string message) : SeccompException(message);

/// <summary>
/// Renders Graphviz DOT text with Graphviz's <c>dot</c> program (Debian package <c>graphviz</c>), which is run with the
/// text on its standard input and a time limit: a layout that does not finish is killed, not waited for.
/// </summary>
public static class GraphvizRenderer
{
    /// <summary>How long <c>dot</c> may run by default: a 4096-instruction filter lays out in a few seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <c>dot -T<paramref name="format"/></c> on <paramref name="dot"/> and returns what it wrote (an SVG document
    /// for <c>svg</c>, PNG bytes for <c>png</c>).
    /// </summary>
    /// <param name="dot">The graph, in the DOT language.</param>
    /// <param name="format">A Graphviz output format: <c>svg</c>, <c>png</c>, <c>pdf</c>, <c>plain</c>, <c>json</c>...</param>
    /// <param name="timeout">How long it may run (default <see cref="DefaultTimeout"/>).</param>
    /// <param name="program">The program to run, <c>dot</c> from PATH unless given (tests point it elsewhere).</param>
    /// <exception cref="GraphvizException">dot is not installed, failed (its messages are included), or ran out of time (it was killed).</exception>
    public static byte[] Render(string dot, string format = "svg", TimeSpan? timeout = null, string program = "dot")
    {
        ArgumentNullException.ThrowIfNull(dot);
        ArgumentException.ThrowIfNullOrEmpty(format);
        var limit = timeout ?? DefaultTimeout;
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-T" + format);
        Process? p;
        try { p = Process.Start(psi); }
        catch (Win32Exception e)
        {
            throw new GraphvizException($"cannot run Graphviz's '{program}' ({e.Message}): install Graphviz (Debian/Ubuntu: apt-get install graphviz), or write the DOT text with --format dot and render it elsewhere");
        }
        if (p is null) throw new GraphvizException($"cannot run Graphviz's '{program}'; install Graphviz (apt-get install graphviz)");
        using (p)
        {
            // Read both pipes while writing the input: dot may fill one before it has read all of its input.
            using var stdout = new MemoryStream();
            var copyOut = p.StandardOutput.BaseStream.CopyToAsync(stdout);
            var readErr = p.StandardError.ReadToEndAsync();
            try
            {
                var bytes = new UTF8Encoding(false).GetBytes(dot);
                p.StandardInput.BaseStream.Write(bytes);
                p.StandardInput.Close();
            }
            catch (IOException)
            {
                // dot exited before reading everything; its exit status and messages say why.
            }
            if (!p.WaitForExit(limit))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* it exited meanwhile */ }
                p.WaitForExit();
                throw new GraphvizException($"Graphviz's '{program}' did not finish within {limit.TotalSeconds:0.#} s and was stopped; give it more time (--timeout SECONDS), or write the graph with --format dot and render it with dot yourself");
            }
            p.WaitForExit();
            copyOut.GetAwaiter().GetResult();
            string errors = readErr.GetAwaiter().GetResult().Trim();
            if (p.ExitCode != 0)
                throw new GraphvizException($"Graphviz's '{program} -T{format}' failed (exit status {p.ExitCode}){(errors.Length > 0 ? ": " + errors : "")}");
            return stdout.ToArray();
        }
    }
}
