"""What machine this is, for the lines benchmarks and result files print (conclusions from one
machine say which one)."""
from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``'s "model name"), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_line() -> str:
    """``CPU: <model>, <n> cores``."""
    return f"CPU: {cpu_name()}, {os.cpu_count()} cores"
