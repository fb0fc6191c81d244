namespace SeccompKit.Linux.Kernel;

/// <summary>
/// Writes a file so that a reader, a crash, a full disk or a signal never leaves a partial one: the bytes go to a
/// temporary file in the same directory (same filesystem, so rename(2) is atomic), are flushed to disk (fsync), and the
/// temporary file is renamed over the target. A failed write leaves the old file as it was and removes the temporary.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> atomically. An existing file is replaced only when
    /// <paramref name="overwrite"/> (without it, a file that appeared meanwhile makes the rename fail: link + unlink,
    /// EEXIST); the replaced file's permissions are kept.
    /// </summary>
    /// <exception cref="IOException">The write or the rename failed (nothing was changed).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(path);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.seccompkit-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            // Keep the permissions of the file being replaced (a profile made read-only for others stays so).
            if (!OperatingSystem.IsWindows() && File.Exists(path)) File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
            File.Move(temp, path, overwrite);
        }
        catch
        {
            try { File.Delete(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }
}
