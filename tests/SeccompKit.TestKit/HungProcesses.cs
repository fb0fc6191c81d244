using System.Text;

namespace SeccompKit.TestKit;

/// <summary>
/// What a hung process tree is doing, for a timeout's message: every descendant of a pid with its command, state, the
/// kernel function it sleeps in (<c>wchan</c>), the syscall it is in (<c>/proc/PID/syscall</c>: number and arguments, or
/// "running") and its seccomp mode. Read before the tree is killed, so that a hang seen once in CI says where it was.
/// </summary>
public static class HungProcesses
{
    /// <summary>One line per process of the tree rooted at <paramref name="root"/> (the root first); "" when it is gone.</summary>
    public static string Describe(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            int ppid = ParentOf(pid);
            if (ppid <= 0) continue;
            if (!children.TryGetValue(ppid, out var list)) children[ppid] = list = [];
            list.Add(pid);
        }
        var text = new StringBuilder();
        var pending = new Stack<(int Pid, int Depth)>();
        pending.Push((root, 0));
        while (pending.Count > 0)
        {
            var (pid, depth) = pending.Pop();
            string line = DescribeOne(pid);
            if (line.Length == 0) continue;
            text.Append(' ', 2 * depth).AppendLine(line);
            foreach (int child in children.GetValueOrDefault(pid, []).OrderDescending()) pending.Push((child, depth + 1));
        }
        return text.ToString();
    }

    private static int ParentOf(int pid)
    {
        string? stat = Read($"/proc/{pid}/stat");
        if (stat is null) return -1;
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 1 && int.TryParse(fields[1], out int ppid) ? ppid : -1;
    }

    private static string DescribeOne(int pid)
    {
        string? status = Read($"/proc/{pid}/status");
        if (status is null) return "";
        string Field(string name) =>
            status.Split('\n').FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))?[(name.Length + 1)..].Trim() ?? "?";
        var threads = new StringBuilder();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task").Take(16))
            {
                string tid = Path.GetFileName(task);
                threads.Append($" [{tid} {Read($"{task}/wchan")?.Trim() ?? "?"} syscall {Read($"{task}/syscall")?.Trim() ?? "?"}]");
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{pid} {Field("Name")} {Field("State")} seccomp {Field("Seccomp")} filters {Field("Seccomp_filters")}{threads}";
    }

    private static string? Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
