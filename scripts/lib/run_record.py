"""What a finished training run recorded in its run.json, and whether it can be
reused: the one place that decides when a run is "the same run"."""

from pathlib import Path
from typing import Any, Dict, Optional

import srsly

from .files import md5_file

TRAIN_OUTPUTS = ("model-best", "model-last", "train_log.jsonl", "run.json")


def read_run(run_dir: Path) -> Optional[Dict[str, Any]]:
    """run.json of a complete run folder (all training outputs present), else None."""
    if not all((run_dir / name).exists() for name in TRAIN_OUTPUTS):
        return None
    try:
        return srsly.read_json(run_dir / "run.json")
    except ValueError:
        return None


def same_training(run: Optional[Dict[str, Any]], config: Path, corpus_md5: Dict[str, str],
                  seed: int, settings: Dict[str, Any], spacy_version: Optional[str] = None) -> bool:
    """Whether `run` (a run.json) trained this config on this corpus (MD5 of train
    and dev) with this seed and these training settings (budget, GPU)."""
    if run is None:
        return False
    try:
        return (run["config"]["md5"] == md5_file(config) and run["seed"] == seed
                and all(run["training"].get(key, run.get(key)) == value
                        for key, value in settings.items())
                and all(run["corpus"][split]["md5"] == corpus_md5[split] for split in ("train", "dev"))
                and (spacy_version is None
                     or run["environment"]["versions"].get("spacy") == spacy_version))
    except (KeyError, TypeError):
        return False
