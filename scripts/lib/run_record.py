"""What a finished training run recorded in its run.json, and whether it can be
reused: the one place that decides when a run is "the same run"."""

from pathlib import Path
from typing import Any, Dict, Optional

import srsly

from .files import md5_file

TRAIN_LOG = "train_log.jsonl"
TRAIN_OUTPUTS = ("model-best", "model-last", TRAIN_LOG, "run.json")


def staging_dir(run_dir: Path, pid: int) -> Path:
    """Where the training process `pid` builds a run before it replaces the run's
    outputs; its TRAIN_LOG there grows one line per dev evaluation."""
    return run_dir / f".staging-{pid}"


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


def run_figures(run_dir: Path) -> Dict[str, Any]:
    """The figures tables compare, from a run folder's run.json and metrics.json:
    the one reader of both files' keys outside the steps that write them."""
    run = srsly.read_json(run_dir / "run.json")
    metrics = srsly.read_json(run_dir / "metrics.json")
    overall, training = metrics["overall"], run["training"]
    return {
        "created": run["created"],
        "seed": run["seed"],
        "config_md5": run["config"]["md5"],
        "train_md5": run["corpus"]["train"]["md5"],
        "dev_md5": run["corpus"]["dev"]["md5"],
        "test_md5": metrics["test"]["md5"],
        "f": overall["f"], "p": overall["p"], "r": overall["r"],
        "per_label_f": {label: scores["f"] for label, scores in metrics["per_label"].items()},
        "train_seconds": run["wall_time_seconds"],
        "train_words_per_second": training["words_per_second"],
        "steps": training["steps"],
        "best_step": training["best_step"],
        "peak_memory_mib": run["peak_memory_mib"],
        "inference_words_per_second": metrics["speed"]["words_per_second"],
    }
