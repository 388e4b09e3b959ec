"""Train and evaluate runs as subprocesses, as the workflow does: shared by the
steps that make several runs (train-seeds, benchmark-configs)."""

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from .util import UserError


def run_checked(command: List[str], log: Optional[Path] = None) -> None:
    """Run a command, stopping on failure. With `log`, the command's output is
    appended to that file instead of the console."""
    if log is None:
        returncode = subprocess.run(command).returncode
    else:
        with log.open("a", encoding="utf8") as out:
            returncode = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
    if returncode != 0:
        where = f" (output in {log})" if log else ""
        raise UserError(f"run failed (exit code {returncode}){where}: {' '.join(command)}")


def train_and_evaluate(config: Path, corpus_dir: Path, run_dir: Path, seed: int,
                       budget: Dict[str, int], gpu_id: int, latest: Path,
                       log: Optional[Path] = None) -> None:
    """`scripts.train` then `scripts.evaluate` (test split) for one run; the run's
    run.json records time, speed and peak memory of the training process."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("", encoding="utf8")
    options = [f"--{key.replace('_', '-')}={value}" for key, value in budget.items()]
    run_checked([sys.executable, "-m", "scripts.train", str(config), str(corpus_dir),
                 str(run_dir), "--latest", str(latest), f"--seed={seed}", f"--gpu-id={gpu_id}",
                 *options], log)
    run_checked([sys.executable, "-m", "scripts.evaluate", str(run_dir / "model-best"),
                 str(corpus_dir / "test.spacy"), str(run_dir), f"--gpu-id={gpu_id}"], log)
