"""The machine a benchmark ran on, described the same way in every bench/results file."""
import os
import platform


def cpu_model():
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe():
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": " ".join(platform.freedesktop_os_release().get(k, "") for k in ("NAME", "VERSION_ID")).strip()
        if hasattr(platform, "freedesktop_os_release") else platform.platform(),
    }
