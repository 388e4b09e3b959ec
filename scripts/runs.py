"""Train and evaluate runs as subprocesses, as the workflow does: shared by the
steps that make several runs (train-seeds, benchmark-configs)."""

import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from .util import UserError


def run_checked(command: List[str]) -> float:
    """Run a command, stopping on failure; return its wall time."""
    start = time.perf_counter()
    returncode = subprocess.run(command).returncode
    if returncode != 0:
        raise UserError(f"run failed (exit code {returncode}): {' '.join(command)}")
    return time.perf_counter() - start


def train_and_evaluate(config: Path, corpus_dir: Path, run_dir: Path, seed: int,
                       budget: Dict[str, int], gpu_id: int, latest: Path) -> None:
    """`scripts.train` then `scripts.evaluate` (test split) for one run; the run's
    run.json records time, speed and peak memory of the training process."""
    options = [f"--{key.replace('_', '-')}={value}" for key, value in budget.items()]
    run_checked([sys.executable, "-m", "scripts.train", str(config), str(corpus_dir),
                          str(run_dir), "--latest", str(latest), f"--seed={seed}",
                          f"--gpu-id={gpu_id}", *options])
    run_checked([sys.executable, "-m", "scripts.evaluate", str(run_dir / "model-best"),
                 str(corpus_dir / "test.spacy"), str(run_dir), f"--gpu-id={gpu_id}"])
