using SeccompKit.Linux.Launch;

// Started by seccompkit (StageCommand.Default) with StageTwo.Marker first: installs the filter and becomes the program,
// or reports the failed step to its launcher and exits. Anything else is a person running it by hand.
if (StageTwo.RunIfRequested(args)) return 70;
Console.Error.WriteLine("seccompkit-stage: the second stage of `seccompkit run` and `seccompkit learn`, which start it themselves; it is not run by hand (try: seccompkit run --help)");
return 64;
