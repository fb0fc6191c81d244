namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// A fake runtime for the agent's refusal tests: a Python program (Debian's /usr/bin/python3, which has python3-seccomp)
/// that installs a filter notifying mkdir on itself (libseccomp, so no managed code ever runs under it or after a fork),
/// connects to the agent (after setuid/setgid when asked: a separate process, never a forked .NET one), and sends the
/// payload and descriptors it is told to. It then tries <c>mkdir</c> and prints what happened, so a test sees whether
/// the agent served it (mkdir ok), closed its listener (ENOSYS), or never got it.
/// </summary>
internal static class AgentPeer
{
    public const string Python = "/usr/bin/python3";

    /// <summary>A valid payload for this peer: "{pid}" and "{id}" are replaced by the script.</summary>
    public const string ValidPayload = """{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":{pid},"metadata":"learn","state":{"ociVersion":"1.0.2","id":"{id}","status":"creating","pid":{pid},"bundle":"/nonexistent"}}""";

    private const string Script = """
import argparse, array, os, socket, sys, time
p = argparse.ArgumentParser()
p.add_argument("socket")
p.add_argument("--payload", default="")
p.add_argument("--id", default="peer")
p.add_argument("--pid", type=int, default=0)
p.add_argument("--fds", default="notify")        # comma list of notify, pipe; "" for none
p.add_argument("--uid", type=int, default=-1)
p.add_argument("--silent", type=float, default=0)
p.add_argument("--mkdir", default="")
p.add_argument("--mkdir-after", type=float, default=0)
a = p.parse_args()
kinds = [k for k in a.fds.split(",") if k]
notify = -1
if "notify" in kinds:
    import seccomp
    f = seccomp.SyscallFilter(seccomp.ALLOW)
    f.add_rule(seccomp.NOTIFY, "mkdir")
    f.add_rule(seccomp.NOTIFY, "mkdirat")
    f.load()
    notify = f.get_notify_fd()
if a.uid >= 0:
    os.setgroups([]); os.setgid(a.uid); os.setuid(a.uid)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(a.socket)
except OSError as e:
    print(f"connect failed errno {e.errno}", flush=True); sys.exit(3)
print("connected", flush=True)
if a.silent:
    s.settimeout(a.silent)
    try:
        data = s.recv(1)
        print("agent closed the connection" if data == b"" else "agent sent data", flush=True)
    except socket.timeout:
        print("still open", flush=True)
    sys.exit(0)
fds = []
for k in kinds:
    if k == "notify": fds.append(notify)
    elif k == "pipe": r, w = os.pipe(); fds.append(r)
pid = a.pid or os.getpid()
payload = a.payload.replace("{pid}", str(pid)).replace("{id}", a.id).encode("utf-8", "surrogatepass")
anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
s.sendmsg([payload], anc)
# Like a runtime, keep no copy of the listener: only the agent's copy answers, and its close means ENOSYS.
if notify >= 0: os.close(notify)
print("sent", flush=True)
if a.mkdir:
    time.sleep(a.mkdir_after)
    try:
        os.mkdir(a.mkdir); print("mkdir ok", flush=True)
    except OSError as e:
        print(f"mkdir errno {e.errno}", flush=True)
""";

    private static readonly Lazy<string> ScriptPath = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), $"seccompkit-agent-peer-{Environment.ProcessId}.py");
        File.WriteAllText(path, Script);
        return path;
    });

    /// <summary>Runs the peer to its end.</summary>
    public static ProcessResult Run(string socket, params string[] args) =>
        ChildProcess.Run(Python, [ScriptPath.Value, socket, .. args], new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>Starts the peer (for peers that must run alongside something else).</summary>
    public static ChildProcess Start(string socket, params string[] args) =>
        ChildProcess.Start(Python, [ScriptPath.Value, socket, .. args], new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>Why these tests cannot run here (empty when they can).</summary>
    public static string WhyMissing =>
        File.Exists(Python) && ChildProcess.Run(Python, ["-c", "import seccomp"]).Exit == 0 ? "" : $"{Python} with the seccomp module is missing: apt-get install -y python3-seccomp";
}
