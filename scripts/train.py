"""Train one versioned run of the NER pipeline with `spacy train`.

Reads: CONFIG (the generated training/<run>/config.cfg), CORPUS_DIR/{train,dev}
.spacy (dev is used for model selection and early stopping, never test), the
static vectors CONFIG names, if any, the pretrain step's weights and the distill
step's silver corpus (trained on beside the training split), if given.
Writes into RUN_DIR: model-best/, model-last/, train_log.jsonl (one line per
evaluation) and run.json (seed, checksums of the config, corpus, static vectors,
pretrained weights and silver corpus, versions, git commit, wall time,
words/second); with --latest, a one-line file naming the run; with --progress,
each dev evaluation as it happens.
Training happens in a staging folder: the four outputs replace the previous
ones only when training succeeds, so a failed or interrupted run loses nothing.
A lock file keeps a second process from training the same run folder; staging
folders left by a killed run are removed; a run folder that already holds a
finished run of the same config, corpus, seed, settings and spaCy version is
reused rather than retrained (`--force`, or deleting the folder, retrains).
"""

import fcntl
import io
import os
import shutil
import sys
import time
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, TextIO

import srsly
import typer
from confection import Config
from spacy.cli.train import train as spacy_train
from wasabi import msg

from .lib.configs import read_budget, seeds_chosen_on, warn_if_chosen_on
from .lib.errors import UserError, check_plain_path, exit_on_user_error
from .lib.files import atomic_outputs, remove_leftovers, staging_folder, write_text
from .lib.pretrained import has_pretraining, pretrained_weights
from .lib.provenance import package_versions, utc_now
from .lib.run_record import (
    TRAIN_LOG,
    best_entry,
    config_inputs,
    corpus_summary,
    patience_needed,
    read_log,
    read_run,
    run_record,
    same_training,
    with_silver,
)
from .lib.run_record import TRAIN_OUTPUTS as OUTPUTS
from .lib.train_logger import LOGGER_NAME

LOCK_NAME = ".train.lock"


def restore_logger(model_dir: Path, logger: Dict[str, Any]) -> None:
    """Give a saved pipeline back the config's own logger, so that its config
    does not depend on this project's code."""
    config_path = model_dir / "config.cfg"
    config = Config().from_disk(config_path, interpolate=False)
    config["training"]["logger"] = logger
    config.to_disk(config_path, interpolate=False)


class RenamingStream(io.TextIOBase):
    """A text stream that writes `old` as `new`."""

    def __init__(self, stream: TextIO, old: str, new: str) -> None:
        self.stream, self.old, self.new = stream, old, new

    def write(self, text: str) -> int:
        self.stream.write(text.replace(self.old, self.new))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold RUN_DIR/.train.lock, or stop at once if another process holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / LOCK_NAME).open("a+", encoding="utf8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise UserError(f"already being trained by {holder}; wait for it to finish, or "
                            "set another 'run' var", run_dir) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {utc_now()}\n")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)


@exit_on_user_error
def main(
    # fmt: off
    config_path: Path = typer.Argument(..., help="Generated training config", exists=True, dir_okay=False),
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy and dev.spacy"),
    run_dir: Path = typer.Argument(..., help="Run folder, e.g. training/sample-cnn-efficiency-s0"),
    latest: Optional[Path] = typer.Option(None, help="Also write this one-line file naming the run (e.g. training/latest)"),
    progress: Optional[Path] = typer.Option(None, help="Also write each dev evaluation to this file as it happens, for a parent process to follow"),
    seed: int = typer.Option(..., help="Random seed for initialisation and batching"),
    gpu_id: int = typer.Option(..., help="GPU id, or -1 for CPU"),
    pretrained: Optional[Path] = typer.Option(None, help="Folder written by the pretrain step: its tok2vec.bin, if any, initialises the tok2vec"),
    silver: Optional[Path] = typer.Option(None, help="Silver corpus written by the distill step: its docs, if any, are trained on beside the training split", exists=True, dir_okay=False),
    force: bool = typer.Option(False, "--force", help="Retrain even if RUN_DIR holds a finished run of the same inputs"),
    # fmt: on
) -> None:
    check_plain_path(run_dir, "run")
    weights = pretrained_weights(pretrained) if pretrained is not None else None
    if weights and not has_pretraining(Config().from_disk(config_path, interpolate=False)):
        # spaCy would load [initialize] init_tok2vec nowhere, silently.
        raise UserError("has no [pretraining] block, so spaCy would not load the pretrained "
                        f"weights in {weights}; generate it with create-config --pretrain-words",
                        config_path)
    path_overrides = {"paths.init_tok2vec": str(weights)} if weights else {}
    inputs = with_silver(config_inputs(config_path, path_overrides), silver)
    corpora = {split: corpus_summary(corpus_dir / f"{split}.spacy") for split in ("train", "dev")}
    settings = read_budget(config_path)  # set by create-config from the vars
    warn_if_chosen_on(config_path, [seed])
    with run_lock(run_dir):
        for name in remove_leftovers(run_dir):
            msg.info(f"Removed {run_dir / name}, left by a step that was killed")
        spacy_version = package_versions("spacy")["spacy"]
        corpus_md5 = {split: info["md5"] for split, info in corpora.items()}
        if not force and same_training(read_run(run_dir), config_path, corpus_md5, seed,
                                       {**settings, "gpu_id": gpu_id}, spacy_version, inputs):
            if latest:
                write_text(latest, run_dir.name + "\n")
            msg.good(f"{run_dir} already holds this run (same config, corpus, seed, settings "
                     "and spaCy version): reused, not retrained (delete the folder to retrain)")
            return
        if weights:
            msg.info(f"The tok2vec starts from pretrained weights: {weights}")
        if "silver" in inputs:
            msg.info(f"Training on gold and silver: {corpora['train']['docs']:,} docs of {corpus_dir / 'train.spacy'} "
                     f"and {inputs['silver']['docs']:,} of {silver}")
        train(config_path, corpora, run_dir, seed, gpu_id, settings, path_overrides, inputs, progress)
    if latest:
        write_text(latest, run_dir.name + "\n")


def train(config_path: Path, corpora: Dict[str, Dict[str, Any]], run_dir: Path, seed: int,
          gpu_id: int, settings: Dict[str, int], path_overrides: Dict[str, str],
          inputs: Dict[str, Dict[str, Any]], progress: Optional[Path] = None) -> None:
    base_config = Config().from_disk(config_path, interpolate=False)
    staging = staging_folder(run_dir)
    overrides: Dict[str, Any] = {
        "paths.train": corpora["train"]["path"],
        "paths.dev": corpora["dev"]["path"],
        "system.seed": seed,
        "training.logger.@loggers": LOGGER_NAME,
        "training.logger.log_path": str(staging / TRAIN_LOG),
        "training.logger.progress_path": str(progress) if progress else None,
        **path_overrides,
    }
    start = time.perf_counter()
    with atomic_outputs(*(run_dir / name for name in OUTPUTS)) as temps:
        try:
            staging.mkdir(parents=True)
            if "silver" in inputs:
                # spaCy reads every .spacy file of a folder, sorted: gold and silver, shuffled together.
                mixed = staging / "train_corpus"
                mixed.mkdir()
                (mixed / "gold.spacy").symlink_to(Path(corpora["train"]["path"]).resolve())
                (mixed / "silver.spacy").symlink_to(Path(inputs["silver"]["path"]).resolve())
                overrides["paths.train"] = str(mixed)
            # spaCy names the staging folder in its messages; show the run folder it becomes.
            with redirect_stdout(RenamingStream(sys.stdout, str(staging), str(run_dir))):
                spacy_train(config_path, staging, use_gpu=gpu_id, overrides=overrides)
            wall_time = time.perf_counter() - start
            for name, tmp in zip(OUTPUTS[:3], temps):
                os.replace(staging / name, tmp)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for model_dir in temps[:2]:
            restore_logger(model_dir, dict(base_config["training"]["logger"]))
        log = read_log(temps[2])
        best, needed = best_entry(log), patience_needed(log)
        srsly.write_json(temps[3], run_record(run_dir, seed, gpu_id, config_path, corpora, inputs, settings,
                                              log, wall_time, seeds_chosen_on(config_path)))
    msg.good(f"Run saved to {run_dir} in {wall_time:.0f}s (best dev score "
             f"{best['score'] if best else float('nan'):.3f} at step {best and best['step']})")
    # The figure to set the patience var from: a smaller one ends training sooner
    # with a worse model-best, a larger one only spends more steps.
    msg.text(f"Patience needed for this model-best: {needed} steps "
             f"(patience was {settings['patience']})")


if __name__ == "__main__":
    typer.run(main)
