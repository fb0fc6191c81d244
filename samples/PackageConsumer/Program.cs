// Uses SeccompKit from its NuGet packages: compiles Docker's default profile (the pure core, any host), then, on an
// x86_64 Linux host, filters this process so that mkdir fails with EPERM (the kernel layer).
using SeccompKit.Compiler;
using SeccompKit.Linux.Kernel;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: PackageConsumer PATH/docker-default.json");
    return 2;
}

var (docker, _) = DockerProfile.Resolve(File.ReadAllText(args[0]));
var compiled = PolicyCompiler.Compile(docker);
Console.WriteLine($"docker-default: {docker.Rules.Length} rules, {compiled.Program.Length} instructions");

if (!HostSupport.IsSupported)
{
    Console.WriteLine("kernel layer: not supported on this host");
    return 0;
}
var policy = new SeccompPolicy(PolicyAction.Allow,
    [new SyscallRule("mkdir", PolicyAction.Errno(1)), new SyscallRule("mkdirat", PolicyAction.Errno(1))]);
SeccompKernel.ApplyToCurrentProcess(PolicyCompiler.Compile(policy).Program);
var dir = Path.Combine(Path.GetTempPath(), $"seccompkit-consumer-{Environment.ProcessId}");
try
{
    Directory.CreateDirectory(dir);
    Directory.Delete(dir);
    Console.WriteLine("kernel layer: mkdir was NOT refused");
    return 1;
}
catch (UnauthorizedAccessException)
{
    // .NET maps EPERM/EACCES from mkdir to UnauthorizedAccessException.
    Console.WriteLine($"kernel layer: filtered this process ({SeccompKernel.Mode}); mkdir refused with EPERM");
    return 0;
}
