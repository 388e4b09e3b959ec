"""What produced a result: time, package versions, machine, git commit, peak memory."""

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List, Optional


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


# The instruction sets that choose BLIS's and OpenBLAS's kernels: trained weights
# are identical only between machines that share them (and the libraries).
VECTOR_FLAGS = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "amx_tile", "neon", "asimd", "sve")
THREAD_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                   "BLIS_ARCH_TYPE")


def cpu_flags() -> List[str]:
    """The CPU's vector instruction sets among VECTOR_FLAGS (Linux /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="utf8") as info:
            line = next((line for line in info if line.startswith(("flags", "Features"))), "")
    except OSError:
        return []
    present = set(line.split(":", 1)[-1].split())
    return [flag for flag in VECTOR_FLAGS if flag in present]


def cpu_kind(environment: Dict[str, Any]) -> Optional[str]:
    """The machine kind an environment_info() record names, as one line: what a
    seed's trained weights depend on besides versions (CPU model, VECTOR_FLAGS
    present, BLAS); None for a record without it."""
    if not environment.get("cpu_flags") and not environment.get("cpu"):
        return None
    flags = " ".join(environment.get("cpu_flags", [])) or "no vector flags recorded"
    return f"{environment.get('cpu') or 'unknown CPU'} ({flags}); BLAS {environment.get('blas') or 'unknown'}"


def numpy_blas() -> Optional[str]:
    """The BLAS numpy was built with (name, version and configuration); thinc's
    own CPU kernels are BLIS (its version is among the package versions)."""
    try:
        import numpy

        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # an old numpy without mode="dicts", or a build without the record
        return None
    return " ".join(str(blas.get(key, "")) for key in ("name", "version", "openblas configuration")).strip()


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
        "versions": package_versions("spacy", "weasel", "thinc", "srsly", "numpy", "blis"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpu_count": os.cpu_count(),
        "blas": numpy_blas(),
        "threads": {name: os.environ[name] for name in THREAD_SETTINGS if name in os.environ},
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
