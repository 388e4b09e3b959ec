"""Runs trained and then scored on the test split, for the steps that compare
runs (train-seeds, benchmark-configs), or trained only, for those that score
them on held-out parts of train and dev (benchmark-crossval). Kept apart from
`runs` so that the steps that only train (tune) do not depend on the evaluate
step."""

from pathlib import Path
from typing import Optional

from .run_record import MODEL_BEST
from .runs import run_checked, step_command, train_run


def train_logged(config: Path, corpus_dir: Path, run_dir: Path, seed: int, gpu_id: int,
                 log: Optional[Path] = None, silver: Optional[Path] = None) -> None:
    """`train_run`, its console output in `log` (if given) from a fresh file: the
    run's run.json records time, speed and peak memory of the training process."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("", encoding="utf8")
    train_run(config, corpus_dir, run_dir, seed, gpu_id, log, silver=silver)


def train_and_evaluate(config: Path, corpus_dir: Path, run_dir: Path, seed: int, gpu_id: int,
                       speed_seconds: float, log: Optional[Path] = None, silver: Optional[Path] = None) -> None:
    """`train_logged`, then `scripts.evaluate` on the test split (its words/second
    measured for `speed_seconds`)."""
    train_logged(config, corpus_dir, run_dir, seed, gpu_id, log, silver)
    run_checked(step_command("evaluate", run_dir / MODEL_BEST, corpus_dir / "test.spacy", run_dir,
                             f"--gpu-id={gpu_id}", f"--speed-seconds={speed_seconds}"), log)
