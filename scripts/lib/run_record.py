"""A run folder's records: run.json (written by train) and metrics.json (written
by evaluate). The one place that knows their keys for other steps, and that
decides when a run is "the same run" and can be reused."""

import glob
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, TypedDict

import srsly
from confection import Config
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from .entities import score_prefix
from .errors import UserError
from .files import md5_file, md5_path
from .pretrained import PRETRAIN_RECORD, VECTORS_RECORD
from .provenance import cpu_kind, environment_info, peak_memory_mib, utc_now

# The files of a run folder.
MODEL_BEST, MODEL_LAST = "model-best", "model-last"
TRAIN_LOG = "train_log.jsonl"
RUN_JSON = "run.json"
METRICS_JSON = "metrics.json"
TRAIN_OUTPUTS = (MODEL_BEST, MODEL_LAST, TRAIN_LOG, RUN_JSON)


class Scores(TypedDict):
    p: float
    r: float
    f: float


class TestScores(TypedDict):
    """What a run scored on the held-out test split, and on which test file."""
    overall: Scores
    per_label: Dict[str, Scores]
    test_corpus_md5: str
    words_per_second: int


class Provenance(TypedDict):
    """Where a run's model came from: enough to retrain it."""
    run: str
    created: str
    seed: int
    config_md5: str
    corpus_md5: Dict[str, str]
    versions: Dict[str, str]
    git: Optional[Dict[str, Any]]
    inputs: Dict[str, Dict[str, Any]]  # vectors and pretrained weights, and the text they were learnt from


def read_log(path: Path) -> List[Dict[str, Any]]:
    """A training log (TRAIN_LOG): one entry per dev evaluation, in step order."""
    return list(srsly.read_jsonl(path)) if path.exists() else []


def best_entry(log: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The evaluation whose model is in model-best: spaCy saves it again on every
    tie with the best score, so the last of the best."""
    return max(log, key=lambda entry: (entry["score"], entry["step"]), default=None)


def patience_needed(log: List[Dict[str, Any]]) -> int:
    """The smallest `patience` that would have ended the same training with the
    same model-best: the longest wait for the next best dev score, up to the last.

    spaCy counts patience from the earliest step with the best score, and saves
    model-best again on a tie, so a tie must be reached but does not restart
    the count. Training is deterministic, so a shorter patience replays the
    same log and stops `patience` steps after a best."""
    needed = 0
    best_score, best_step = None, 0
    for entry in log:
        score, step = entry["score"], entry["step"]
        if best_score is not None and score >= best_score:
            needed = max(needed, step - best_step)
        if best_score is None or score > best_score:
            best_score, best_step = score, step
    return needed


def corpus_summary(path: Path) -> Dict[str, Any]:
    """A corpus as run.json records it: path, MD5, docs and words."""
    if not path.is_file():
        raise UserError("corpus not found (run the 'preprocess' step first)", path)
    docs = DocBin().from_disk(path).get_docs(Vocab())
    n_docs = n_words = 0
    for doc in docs:
        n_docs += 1
        n_words += len(doc)
    return {"path": path.as_posix(), "md5": md5_file(path), "docs": n_docs, "words": n_words}


def run_record(run_dir: Path, seed: int, gpu_id: int, config: Path, corpora: Dict[str, Dict[str, Any]],
               inputs: Dict[str, Dict[str, Any]], budget: Dict[str, int], log: List[Dict[str, Any]],
               wall_time: float, chosen_on_seeds: List[int]) -> Dict[str, Any]:
    """run.json of a finished training: what it learned from (config, corpus and
    input checksums, and the seeds the config was chosen on, if tune chose it),
    with which seed and budget, how it went (from its log), on which machine and
    versions."""
    best, last = best_entry(log), (log[-1] if log else {})
    return {
        "run": run_dir.name,
        "created": utc_now(),
        "seed": seed,
        "gpu_id": gpu_id,
        "config": {"path": config.as_posix(), "md5": md5_file(config), "settings_md5": settings_md5(config),
                   "chosen_on_seeds": chosen_on_seeds},
        "corpus": corpora,
        "inputs": inputs,
        "training": {
            **budget,
            "steps": last.get("step"),
            "epochs": last.get("epoch"),
            "best_step": best and best["step"],
            "best_dev_score": best and best["score"],
            "patience_needed": patience_needed(log),
            "words_seen": last.get("words"),
            "words_per_second": round(last["words"] / last["seconds"]) if last.get("seconds") else None,
        },
        "wall_time_seconds": round(wall_time, 2),
        "peak_memory_mib": peak_memory_mib(),
        "environment": environment_info(),
    }


def model_runs(spec: str) -> List[Path]:
    """The run folders `spec` names: the folder itself if it holds a model-best,
    else every folder below it that does (the runs of a seeds workflow), or
    those a pattern matches (`training/lener_br-cnn-efficiency-s*`)."""
    folder = Path(spec)
    if (folder / MODEL_BEST).is_dir():
        return [folder]
    matches = sorted(map(Path, glob.glob(spec))) if glob.has_magic(spec) else sorted(folder.glob("*"))
    runs = [path for path in matches if (path / MODEL_BEST).is_dir()]
    if not runs:
        raise UserError(f"no trained model here: expected a run folder with {MODEL_BEST}, a folder of them or a "
                        "pattern matching them (run `weasel run seeds`, or `weasel run all` with the vars of the "
                        "runs you mean, first)", folder)
    return runs


def read_metrics(run_dir: Path) -> Optional[Dict[str, Any]]:
    """metrics.json of an evaluated run (written by evaluate), else None."""
    path = run_dir / METRICS_JSON
    return srsly.read_json(path) if path.is_file() else None


def read_run(run_dir: Path) -> Optional[Dict[str, Any]]:
    """run.json of a complete run folder (all training outputs present), else None."""
    if not all((run_dir / name).exists() for name in TRAIN_OUTPUTS):
        return None
    try:
        return srsly.read_json(run_dir / RUN_JSON)
    except ValueError:
        return None


def read_test_scores(run_dir: Path) -> Optional[TestScores]:
    """The run's test scores from its metrics.json, or None before evaluate ran."""
    metrics = read_metrics(run_dir)
    if metrics is None:
        return None
    return {"overall": _scores(metrics["overall"]),
            "per_label": {label: _scores(scores) for label, scores in metrics["per_label"].items()},
            "test_corpus_md5": metrics["test"]["md5"],
            "words_per_second": metrics["speed"]["words_per_second"]}


def read_dev_scores(run_dir: Path) -> Optional[Dict[str, Any]]:
    """What a run's model-best scored on its dev split when train chose it
    (spaCy's "performance" in its meta.json): "overall" and "per_label" P, R and
    F, or None before training finished."""
    path = run_dir / MODEL_BEST / "meta.json"
    return performance_scores(srsly.read_json(path)) if path.is_file() else None


def performance_scores(meta: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The entity scores of a pipeline's meta.json "performance" (overall and per
    label), or None when it holds none."""
    performance = meta.get("performance", {})
    prefix = score_prefix(meta.get("pipeline", []))
    if f"{prefix}_f" not in performance:
        return None
    return {"overall": _scores({key: performance[f"{prefix}_{key}"] for key in "prf"}),
            "per_label": {label: _scores(values)
                          for label, values in performance.get(f"{prefix}_per_type", {}).items()}}


def _scores(values: Dict[str, Any]) -> Scores:
    return {"p": values["p"], "r": values["r"], "f": values["f"]}


def read_provenance(run_dir: Path) -> Optional[Provenance]:
    """Provenance from the run's run.json, or None when there is none."""
    path = run_dir / RUN_JSON
    if not path.is_file():
        return None
    run = srsly.read_json(path)
    return {"run": run["run"], "created": run["created"], "seed": run["seed"],
            "config_md5": run["config"]["md5"],
            "corpus_md5": {split: corpus["md5"] for split, corpus in run["corpus"].items()},
            "versions": run["environment"]["versions"], "git": run["environment"].get("git"),
            "inputs": run.get("inputs", {})}


def records_from_meta(meta: Dict[str, Any], model_dir: Optional[Path]
                      ) -> "tuple[Optional[TestScores], Optional[Provenance]]":
    """A model's test scores and provenance: from the run's records beside a
    model-best folder (`model_dir`), else from the package meta that `package`
    wrote into an installed pipeline (its "performance" and "ner_template")."""
    if model_dir is not None and (model_dir.parent / RUN_JSON).is_file():
        return read_test_scores(model_dir.parent), read_provenance(model_dir.parent)
    packaged, performance = meta.get("ner_template"), meta.get("performance", {})
    if not packaged:
        return None, None
    scores: Optional[TestScores] = None
    entity_scores = performance_scores(meta)
    if entity_scores is not None:
        scores = {**entity_scores, "test_corpus_md5": packaged["test_corpus_md5"],
                  "words_per_second": performance.get("speed", 0)}
    # A package built before a key was recorded lacks it.
    provenance: Provenance = {key: packaged.get(key) for key in Provenance.__annotations__}  # type: ignore
    return scores, provenance


# [paths] of a training config that name files the run learns from besides the
# corpus: static vectors and pretrained tok2vec weights.
INPUT_PATHS = ("vectors", "init_tok2vec")


def config_inputs(config: Path, overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Dict[str, Any]]:
    """The vectors and pretrained weights a run of `config` reads (with
    `overrides` of its [paths], as train passes them), each with its MD5 (the
    same path with new contents is a different run) and the text it was learnt
    from. A name that is no file (an installed package) is kept with no checksum."""
    paths = Config().from_disk(config, interpolate=False).get("paths", {})
    paths = {**paths, **{key.split(".", 1)[1]: value for key, value in (overrides or {}).items()
                         if key.startswith("paths.")}}
    inputs = {}
    for key in INPUT_PATHS:
        value = paths.get(key)
        if value:
            inputs[key] = {"path": str(value),
                           "md5": md5_path(value) if Path(value).exists() else None,
                           **learnt_from(Path(value))}
    return inputs


def with_silver(inputs: Dict[str, Dict[str, Any]], silver: Optional[Path]) -> Dict[str, Dict[str, Any]]:
    """`inputs` and the distill step's silver corpus, if it holds any docs: a new
    silver corpus is a new run."""
    summary = corpus_summary(silver) if silver is not None else None
    return {**inputs, "silver": summary} if summary and summary["docs"] else inputs


def learnt_from(path: Path) -> Dict[str, Any]:
    """The text that train-vectors or pretrain learned the input at `path` from
    (the MD5, size and word counts of the training split and the prepared
    unlabelled text, from the step's record), or nothing for another input."""
    for record in (path / VECTORS_RECORD, path.parent / PRETRAIN_RECORD):
        if record.is_file():
            written = srsly.read_json(record)
            learnt = {"inputs": written["inputs"], "counts": written["counts"]}
            if "budget_words" in written:  # pretraining's (vectors' settings are in their folder's MD5)
                learnt["budget_words"] = written["budget_words"]
            return {"learnt_from": learnt}
    return {}


def settings_md5(config: Path) -> str:
    """MD5 of a config's settings, blind to comments, header and section order:
    one set of settings generated from different overlays (a lever adopted into
    the base config) is the same training."""
    settings = Config().from_disk(config, interpolate=False)
    return hashlib.md5(json.dumps(settings, sort_keys=True).encode("utf8")).hexdigest()


def same_config(recorded: Dict[str, Any], config: Path) -> bool:
    """Whether run.json's "config" record describes `config`: by its settings,
    or by the file's bytes for a run recorded before settings_md5 existed."""
    if "settings_md5" in recorded:
        return recorded["settings_md5"] == settings_md5(config)
    return recorded["md5"] == md5_file(config)


def same_training(run: Optional[Dict[str, Any]], config: Path, corpus_md5: Dict[str, str],
                  seed: int, settings: Dict[str, Any], spacy_version: Optional[str] = None,
                  inputs: Optional[Dict[str, Dict[str, Any]]] = None) -> bool:
    """Whether `run` (a run.json) trained this config on this corpus (MD5 of train
    and dev) with this seed, these training settings (budget, GPU) and these
    vectors and pretrained weights (`config_inputs`; default: the config's own)."""
    if run is None:
        return False
    if inputs is None:
        inputs = config_inputs(config)
    try:
        return (same_config(run["config"], config) and run["seed"] == seed
                and _files_read(run.get("inputs", {})) == _files_read(inputs)
                and all(run["training"].get(key, run.get(key)) == value
                        for key, value in settings.items())
                and all(run["corpus"][split]["md5"] == corpus_md5[split] for split in ("train", "dev"))
                and (spacy_version is None
                     or run["environment"]["versions"].get("spacy") == spacy_version))
    except (KeyError, TypeError):
        return False


def _files_read(inputs: Dict[str, Dict[str, Any]]) -> Dict[str, Tuple[Any, Any]]:
    """The path and MD5 of each input: what a training reads, so what decides
    whether it is the same training. Where an input was learnt from is a record
    of it, which may gain keys without making finished runs look new."""
    return {name: (record.get("path"), record.get("md5")) for name, record in inputs.items()}


def inputs_md5(inputs: Dict[str, Dict[str, Any]]) -> str:
    """One MD5 for what a run learnt from besides its config and corpus: the
    vectors' and the silver corpus's own checksums, and for pretrained weights,
    which the pretrain step makes anew for every seed, how they were made: the
    text they were learnt from and the word budget (a run recorded before the
    budget was has none, so groups apart). Runs that differ only by seed have
    the same value."""
    identity = {}
    for name, record in sorted(inputs.items()):
        learnt = record.get("learnt_from") if name == "init_tok2vec" else None
        identity[name] = ({key: value for key, value in learnt.items() if key != "counts"}  # counts follow from inputs
                          if learnt else record.get("md5"))
    return hashlib.md5(json.dumps(identity, sort_keys=True).encode("utf8")).hexdigest()


def run_figures(run_dir: Path) -> Dict[str, Any]:
    """The figures tables compare, from a run folder's run.json and metrics.json:
    the one reader of both files' keys outside the steps that write them."""
    run = srsly.read_json(run_dir / RUN_JSON)
    metrics = srsly.read_json(run_dir / METRICS_JSON)
    overall, training = metrics["overall"], run["training"]
    return {
        "created": run["created"],
        "seed": run["seed"],
        # A seed its config was chosen on (tune's best trial) scores the draw it was picked for.
        "seed_chose_config": run["seed"] in run["config"].get("chosen_on_seeds", []),
        # Runs with the same settings are one config, whatever their comments.
        "config_md5": run["config"].get("settings_md5", run["config"]["md5"]),
        "inputs_md5": inputs_md5(run.get("inputs", {})),
        "train_md5": run["corpus"]["train"]["md5"],
        "dev_md5": run["corpus"]["dev"]["md5"],
        "test_md5": metrics["test"]["md5"],
        # The score model-best was chosen by (score_weights of the config: NER's F1 on dev).
        "dev_score": training["best_dev_score"],
        "f": overall["f"], "p": overall["p"], "r": overall["r"],
        "per_label_f": {label: scores["f"] for label, scores in metrics["per_label"].items()},
        "train_seconds": run["wall_time_seconds"],
        "train_words_per_second": training["words_per_second"],
        "steps": training["steps"],
        "best_step": training["best_step"],
        "peak_memory_mib": run["peak_memory_mib"],
        "inference_words_per_second": metrics["speed"]["words_per_second"],
        "cpu_kind": cpu_kind(run.get("environment", {})),
    }
