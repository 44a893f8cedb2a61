"""Facts about the machine that every benchmark prints with its figures."""

import platform


def cpu_model():
    """Return the CPU model name from /proc/cpuinfo, if available."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
