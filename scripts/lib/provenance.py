"""What produced a result: time, package versions, machine, git commit, peak memory."""

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Optional


def peak_memory_mib() -> Optional[float]:
    """This process's peak resident memory (Linux VmHWM), None where unavailable.

    Not getrusage: on Linux its ru_maxrss also carries the parent's peak across
    fork and exec, which inflates the figure of a child started by a big parent.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def package_versions(*names: str) -> Dict[str, Optional[str]]:
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> Optional[str]:
    """The CPU's model name (Linux), as speeds and trained weights depend on it."""
    try:
        with open("/proc/cpuinfo", encoding="utf8") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                        None)
    except OSError:
        return platform.processor() or None


def environment_info() -> Dict[str, Any]:
    """What produced a result: package versions, machine and git commit."""
    return {
        "versions": package_versions("spacy", "weasel", "thinc", "srsly", "numpy"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "git": git_state(),
    }


def git_state() -> Optional[Dict[str, Any]]:
    """The current commit and whether the work tree has changes, if in git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain"], capture_output=True,
                                text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}
