"""Train and evaluate runs as subprocesses, as the workflow does: shared by the
steps that make several runs (train-seeds, benchmark-configs)."""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from .util import UserError


def run_measured(command: List[str]) -> Dict[str, float]:
    """Run a command; return its wall time and peak resident memory (MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    if returncode != 0:
        raise UserError(f"run failed (exit code {returncode}): {' '.join(command)}")
    return {"seconds": time.perf_counter() - start, "peak_memory_mib": usage.ru_maxrss / 1024}


def train_and_evaluate(config: Path, corpus_dir: Path, run_dir: Path, seed: int,
                       budget: Dict[str, int], gpu_id: int, latest: Path) -> Dict[str, float]:
    """`scripts.train` then `scripts.evaluate` (test split) for one run; returns
    the training process's wall time and peak memory."""
    options = [f"--{key.replace('_', '-')}={value}" for key, value in budget.items()]
    usage = run_measured([sys.executable, "-m", "scripts.train", str(config), str(corpus_dir),
                          str(run_dir), "--latest", str(latest), f"--seed={seed}",
                          f"--gpu-id={gpu_id}", *options])
    run_measured([sys.executable, "-m", "scripts.evaluate", str(run_dir / "model-best"),
                  str(corpus_dir / "test.spacy"), str(run_dir), f"--gpu-id={gpu_id}"])
    return usage
