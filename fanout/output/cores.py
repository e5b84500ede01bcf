"""How many cores fanout may use, and how it starts processes on them: the render workers
(``fanout.output.parallel``) and the stat checks (``fanout.output.verify``) ask the same questions."""

from __future__ import annotations

import os
import sys


def default_jobs() -> int:
    """Every core this process may run on (a container's CPU set, not the whole host's, where known)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def start_method() -> str:
    # fork shares the parsed inputs with the workers for free; where it is unsafe or missing, spawn.
    return "fork" if sys.platform.startswith("linux") else "spawn"
