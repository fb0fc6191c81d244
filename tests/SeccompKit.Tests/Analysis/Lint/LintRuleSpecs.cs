using SeccompKit.Analysis.Lint;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Tests.Analysis.Lint;

/// <summary>Every rule of the catalog, each with a policy that has the finding and a close one that does not.</summary>
public sealed class LintRuleSpecs
{
    private static readonly OciTarget Runc = OciTarget.Get("runc", "1.1.5");

    /// <summary>Lints policy-language text as the file t.policy.</summary>
    internal static LintReport Lint(string text, LintOptions? options = null) =>
        PolicyLinter.Lint(new LintInput(PolicyLanguage.Parse(text, "t.policy")) { SourceKind = LintSourceKind.PolicyLanguage, FileName = "t.policy", Text = text }, options);

    public static TheoryData<string, string, string, string> Cases => new()
    {
        // id, what the pair shows, a policy with the finding, a policy without it
        { "SK001", "a comment that suppresses nothing", "default errno(EPERM)\nenosys-above x86_64 460\n# lint: ignore SK301 (debugger)\nallow { read }", "default errno(EPERM)\nenosys-above x86_64 460\n# lint: ignore SK301 (debugger)\nallow { ptrace }" },
        { "SK101", "an allowing bad-arch action next to refusals", "default allow\non-bad-arch allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }", "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }" },
        { "SK102", "socket refused, socketcall open on x86", "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { socket }", "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { socket, socketcall }" },
        { "SK102", "mmap refused, mmap2 open on x86", "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { mmap }", "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { mmap, mmap2 }" },
        { "SK103", "x86 without x86_64", "default errno(EPERM)\narchitectures x86\nallow { read }", "default errno(EPERM)\narchitectures x86_64, x86\nallow { read }" },
        { "SK104", "a deny-list on x86_64 only", "default allow\nerrno(EPERM) { ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }", "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }" },
        { "SK201", "execve refused, execveat open", "default allow\nerrno(EPERM) { execve }", "default allow\nerrno(EPERM) { execve, execveat }" },
        { "SK202", "open and openat refused, openat2 open", "default allow\nerrno(EPERM) { open, openat }", "default allow\nerrno(EPERM) { open, openat, openat2, creat }" },
        { "SK203", "io_uring next to a refused write", "default errno(EPERM)\nallow { io_uring_setup, io_uring_enter, read }", "default errno(EPERM)\nallow { read, write }" },
        { "SK204", "ptrace refused, process_vm_writev open", "default allow\nerrno(EPERM) { ptrace }", "default allow\nerrno(EPERM) { ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }" },
        { "SK205", "rename refused, renameat2 open", "default allow\nerrno(EPERM) { rename }", "default allow\nerrno(EPERM) { rename, renameat, renameat2 }" },
        { "SK205", "an ENOSYS refusal is no gap", "default allow\nerrno(EPERM) { dup2 }", "default allow\nerrno(ENOSYS) { dup2 }" },
        { "SK301", "ptrace allowed", "default errno(EPERM)\nallow { ptrace }", "default errno(EPERM)\nallow { read }" },
        { "SK302", "bpf allowed", "default errno(EPERM)\nallow { bpf }", "default errno(EPERM)\nallow { read }" },
        { "SK303", "userfaultfd allowed", "default errno(EPERM)\nallow { userfaultfd }", "default errno(EPERM)\nallow { read }" },
        { "SK304", "keyctl allowed", "default errno(EPERM)\nallow { keyctl }", "default errno(EPERM)\nallow { read }" },
        { "SK305", "perf_event_open allowed", "default errno(EPERM)\nallow { perf_event_open }", "default errno(EPERM)\nallow { read }" },
        { "SK306", "kexec_file_load allowed by a deny-list that forgot it", "default allow\nerrno(EPERM) { kexec_load }", "default allow\nerrno(EPERM) { kexec_load, kexec_file_load }" },
        { "SK307", "finit_module allowed", "default errno(EPERM)\nallow { finit_module }", "default errno(EPERM)\nallow { read }" },
        { "SK308", "the new mount API allowed while mount is refused", "default allow\nerrno(EPERM) { mount, umount2, pivot_root }", "default allow\nerrno(EPERM) { mount, umount2, pivot_root, fsopen, fsconfig, fsmount, fspick, move_mount, open_tree, open_tree_attr, mount_setattr }" },
        { "SK309", "unshare with any flags", "default errno(EPERM)\nallow { unshare }", "default errno(EPERM)\nallow { unshare(arg0 & 0x7e0200a0 == 0) }" },
        { "SK309", "clone with any flags", "default errno(EPERM)\nallow { clone }\nerrno(ENOSYS) { clone3 }", "default errno(EPERM)\nallow { clone(arg0 & 0x7e020000 == 0) }\nerrno(ENOSYS) { clone3 }" },
        { "SK309", "clone3 allowed", "default errno(EPERM)\nallow { clone3 }", "default errno(EPERM)\nerrno(ENOSYS) { clone3 }" },
        { "SK310", "personality with any persona", "default errno(EPERM)\nallow { personality }", "default errno(EPERM)\nallow { personality(arg0 == 0x8) }" },
        { "SK311", "open_by_handle_at allowed", "default errno(EPERM)\nallow { open_by_handle_at }", "default errno(EPERM)\nallow { openat }" },
        { "SK312", "reboot allowed", "default errno(EPERM)\nallow { reboot }", "default errno(EPERM)\nallow { adjtimex }" },
        { "SK401", "socket's int family compared as 64 bits", "default errno(EPERM)\nallow { socket(arg0:64 == 2) }", "default errno(EPERM)\nallow { socket(arg0 == 2) }" },
        { "SK501", "a LOG rule under an unconditional ERRNO", "default allow\nerrno(EPERM) { kill }\nlog { kill(arg1 == 9) }", "default allow\nerrno(EPERM) { kill(arg1 == 9) }\nlog { kill }" },
        { "SK502", "two values for one argument", "default allow\nerrno(EPERM) { kill(arg1 == 9 && arg1 == 15) }", "default allow\nerrno(EPERM) { kill(arg1 == 9 && arg0 == 1) }" },
        { "SK502", "a range that is empty", "default allow\nerrno(EPERM) { kill(arg1 < 3 && arg1 > 5) }", "default allow\nerrno(EPERM) { kill(arg1 > 3 && arg1 < 5) }" },
        { "SK503", "a rule above the ENOSYS cutoff", "default allow\nenosys-above x86_64 100\nerrno(EPERM) { execveat }", "default allow\nenosys-above x86_64 400\nerrno(EPERM) { execveat }" },
        { "SK504", "a rule with the default action", "default errno(EPERM)\nerrno(EPERM) { ptrace }\nallow { read }", "default errno(EPERM)\nallow { read }" },
        { "SK601", "EPERM default without a cutoff", "default errno(EPERM)\nallow { read }", "default errno(EPERM)\nenosys-above x86_64 400\nallow { read }" },
        { "SK602", "clone3 answered EPERM", "default errno(EPERM)\nallow { clone(arg0 & 0x7e020000 == 0) }", "default errno(EPERM)\nallow { clone(arg0 & 0x7e020000 == 0) }\nerrno(ENOSYS) { clone3 }" },
        { "SK603", "KILL_THREAD default", "default kill-thread\nallow { read }", "default kill-process\nallow { read }" },
        { "SK604", "runc's write notified", "default allow\nlistener \"/run/agent.sock\"\nnotify { write }", "default allow\nlistener \"/run/agent.sock\"\nnotify { mount }" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_rule_finds_its_case_and_not_the_close_one_without_it(string id, string desc, string with, string without)
    {
        var options = new LintOptions { Runtime = Runc };
        var found = Lint(with, options).Findings.Where(f => f.Id == id).ToList();
        Assert.True(found.Count > 0, $"{desc}: expected {id} in:\n{string.Join("\n", Lint(with, options).Findings)}");
        Assert.All(found, f => Assert.Equal(LintRules.All.Single(r => r.Id == id), f.Rule));
        var absent = Lint(without, options).Findings.Where(f => f.Id == id).ToList();
        Assert.True(absent.Count == 0, $"{desc}: did not expect {id}:\n{string.Join("\n", absent)}");
    }

    [Fact]
    public void Every_rule_of_the_catalog_has_a_case_a_unique_id_a_summary_help_and_a_source()
    {
        var tested = Cases.Select(row => row.Data.Item1).ToHashSet();
        Assert.All(LintRules.All, r => Assert.Contains(r.Id, tested));
        Assert.Equal(LintRules.All.Length, LintRules.All.Select(r => r.Id).Distinct().Count());
        Assert.All(LintRules.All, r =>
        {
            Assert.Matches(@"^SK\d{3}$", r.Id);
            Assert.Matches(@"^[a-z0-9-]+$", r.Name);
            Assert.NotEmpty(r.Summary);
            Assert.NotEmpty(r.Help);
            Assert.NotEmpty(r.Reference);
        });
    }

    [Fact]
    public void Without_a_runtime_NOTIFY_on_the_runtimes_syscalls_is_not_checked()
    {
        var text = "default allow\nlistener \"/run/agent.sock\"\nnotify { write }";
        Assert.DoesNotContain(Lint(text).Findings, f => f.Id == "SK604");
    }

    [Fact]
    public void NOTIFY_as_the_default_is_an_error_for_runc_but_not_for_crun_which_starts_such_containers()
    {
        var text = "default notify\nlistener \"/run/agent.sock\"\nallow { write, read }";
        Assert.Contains(Lint(text, new LintOptions { Runtime = Runc }).Findings, f => f.Id == "SK604" && f.Why.Contains("default", StringComparison.Ordinal));
        Assert.DoesNotContain(Lint(text, new LintOptions { Runtime = OciTarget.Get("crun", "1.8.1") }).Findings, f => f.Id == "SK604");
    }

    [Fact]
    public void The_fix_of_a_gap_is_a_policy_statement_that_removes_the_finding()
    {
        const string text = "default allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { execve, ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }";
        var gap = Assert.Single(Lint(text).Findings, f => f.Id == "SK201");
        Assert.Equal("errno(EPERM) { execveat }", gap.Fix);
        Assert.DoesNotContain(Lint(text + "\n" + gap.Fix).Findings, f => f.Id == "SK201");
    }
}
