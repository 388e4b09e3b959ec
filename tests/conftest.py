"""Shared fixtures: the project root, a throwaway copy of the project, and a
runner for workflow steps as subprocesses (as weasel runs them)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {"corpus", "training", "packages", "project.lock", ".git", ".pytest_cache",
             "__pycache__", "benchmarks"}


def copy_project(dest: Path) -> Path:
    """Copy the project's source (no generated outputs, no downloaded assets)."""
    def ignore(folder: str, names: List[str]) -> List[str]:
        skipped = [n for n in names if n in GENERATED or n.endswith(".pyc")]
        if Path(folder) == ROOT / "assets":
            skipped += [n for n in names if n not in ("sample", ".gitattributes")]
        return skipped

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def run(args: Sequence[str], cwd: Path, check: bool = False,
        timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command with this Python's environment; output captured as text."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "PYTHONIOENCODING": "utf8"}
    command = [sys.executable if a == "python" else a for a in args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            encoding="utf8", timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def weasel(args: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(["python", "-m", "weasel", *args], cwd, check=check)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path
