"""Benchmark this template's config against stock `spacy init config` configs.

Trains and scores, in one run and on the same corpus, with the same training
budget and the same seeds: (a) `spacy init config --pipeline ner --optimize
efficiency`, (b) the same with `--optimize accuracy` (CPU, no vectors), (c) this
template's config (the base config with its overlays, and the static vectors of
train-vectors if it made any), and any extra systems given as NAME=OVERLAY, the
base config with that overlay or with several applied in order (e.g. the tuned
config; `spancat_20=configs/architecture/spancat.cfg,benchmarks/levers/suggester_20.cfg`).

Reads: CORPUS_DIR/{train,dev,test}.spacy, the base config and overlays.
Writes: OUTPUT_DIR/results.json and OUTPUT_DIR/results.md: test F1 (overall and
per label, mean ± std over seeds), precision, recall, training wall time and
words/second, inference words/second (`nlp.pipe` batched, and one text at a
time), model size, peak training memory, and ratios against stock efficiency;
with the machine and versions that produced them. Models, logs and configs of
each run go to RUNS_DIR (default OUTPUT_DIR/runs, git-ignored). A finished run
whose config, corpus, seed, budget and static vectors are unchanged is reused,
not retrained, so an interrupted benchmark resumes and benchmarks can share runs.
"""

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Collection, Dict, List, Mapping, Optional, Tuple

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from scripts.lib.configs import check_unseen_seeds, generate, read_budget, stock_config
from scripts.lib.errors import UserError, exit_on_user_error
from scripts.lib.files import md5_file
from scripts.lib.pretrained import PRETRAIN_RECORD, VECTORS_RECORD, pretrained_weights, static_vectors
from scripts.lib.provenance import environment_info, utc_now
from scripts.lib.raw_text import total_words
from scripts.lib.run_record import (
    MODEL_BEST,
    config_inputs,
    read_run,
    read_test_scores,
    run_figures,
    same_training,
    with_silver,
)
from scripts.lib.runs import stop_running
from scripts.lib.scored_runs import train_and_evaluate, train_logged
from scripts.lib.seeds import mean_std, parse_seeds, welch_t_test
from scripts.lib.tables import markdown_table, write_json_and_markdown
from scripts.lib.timing import best_of_rounds_speeds

STOCK = {"stock-efficiency": "efficiency", "stock-accuracy": "accuracy"}
BASELINE = "stock-efficiency"
TEMPLATE = "template"
DEFAULT_SYSTEMS = (BASELINE, "stock-accuracy", TEMPLATE)
RATIOS_KEY = "vs_" + BASELINE.replace("-", "_")


def split_named(item: str, option: str, form: str) -> Tuple[str, str]:
    """`NAME=VALUE` → (NAME, VALUE), both stripped and non-empty, or a message
    naming the option and the form it takes."""
    name, sep, value = (part.strip() for part in item.partition("="))
    if not sep or not name or not value:
        raise UserError(f"{option} takes {form}, got {item!r}")
    return name, value


def parse_extra(items: List[str]) -> Dict[str, List[Path]]:
    """`--extra tuned=configs/optimize/tuned.cfg` → {"tuned": [Path(...)]}; several
    overlays, comma-separated, are applied in order."""
    extra: Dict[str, List[Path]] = {}
    for item in items:
        form = "NAME=OVERLAY_PATH[,OVERLAY_PATH...]"
        name, paths = split_named(item, "--extra", form)
        if name in STOCK or name == TEMPLATE:
            raise UserError(f"--extra name {name!r} is taken by a built-in system")
        overlays = [Path(path.strip()) for path in paths.split(",") if path.strip()]
        if not overlays:
            raise UserError(f"--extra takes {form}, got {item!r}")
        for overlay in overlays:
            if not overlay.is_file():
                raise UserError("overlay not found", overlay)
        extra[name] = overlays
    return extra


def parse_cannot_run(items: List[str], running: List[str]) -> Dict[str, str]:
    """`--cannot-run "transformer=no GPU"` → {"transformer": "no GPU"}; none of
    them may be among the systems that do run."""
    reasons: Dict[str, str] = {}
    for item in items:
        name, reason = split_named(item, "--cannot-run", "NAME=REASON")
        if name in running:
            raise UserError(f"{name!r} is given to --cannot-run and is also run")
        reasons[name] = reason
    return reasons


@dataclass(frozen=True)
class LeverInputs:
    """What an --extra system (a lever) learns from besides the gold corpus and
    its overlays, each None when not given: static vectors read instead of the
    template's, a silver corpus trained on beside gold with distill's report on
    it, and pretrain's folder with the tok2vec weights it starts from."""

    vectors: Optional[Path] = None
    silver: Optional[Path] = None
    silver_report: Optional[Path] = None
    pretrained: Optional[Path] = None

    @property
    def weights(self) -> Optional[Path]:
        return pretrained_weights(self.pretrained) if self.pretrained is not None else None


# Each --extra system's inputs, by name; a system not in it has none.
Levers = Mapping[str, LeverInputs]
NO_INPUTS = LeverInputs()
NO_LEVERS: Levers = MappingProxyType({})


def named_paths(items: List[str], option: str, extra: Collection[str]) -> Dict[str, Path]:
    """`--extra-vectors PATH` (for every --extra system) or `NAME=PATH` (for that
    one, the option repeated per system) → each --extra system's path."""
    paths: Dict[str, Path] = {}
    for item in items:
        if "=" in item:
            name, value = split_named(item, option, "PATH or NAME=PATH")
            if name not in extra:
                raise UserError(f"{option} names {name!r}, which is not an --extra system")
            paths[name] = Path(value)
        else:
            paths.update({name: Path(item) for name in extra if name not in paths})
    return paths


def lever_inputs(extra: Collection[str], vectors: List[str], silver: List[str], silver_report: List[str],
                 pretrained: List[str]) -> Dict[str, LeverInputs]:
    """Each --extra system's inputs from the --extra-* options, checked: vectors
    and weights must be there (their steps can write only a record), and so
    must a silver corpus's report."""
    by_input = {key: named_paths(items, f"--extra-{key.replace('_', '-')}", extra) for key, items in
                (("vectors", vectors), ("silver", silver), ("silver_report", silver_report),
                 ("pretrained", pretrained))}
    levers = {}
    for name in extra:
        paths = {key: given[name] for key, given in by_input.items() if name in given}
        if "vectors" in paths and static_vectors(paths["vectors"]) is None:
            raise UserError("no static vectors here (train-vectors ran with method none?)", paths["vectors"])
        if "silver_report" in paths and not paths["silver_report"].is_file():
            raise UserError("silver corpus report not found", paths["silver_report"])
        inputs = LeverInputs(**paths)
        if inputs.pretrained is not None and inputs.weights is None:
            raise UserError("no pretrained weights here (pretrain ran with pretrain_words 0?)", inputs.pretrained)
        if inputs != NO_INPUTS:
            levers[name] = inputs
    return levers


def system_vectors(system: str, vectors: Optional[Path], lever_vectors: Optional[Path]) -> Optional[Path]:
    """The static vectors a system reads: none for the stock configs, the
    template's own for the template, the levers' (`--extra-vectors`) or else
    the template's for an extra system."""
    if system in STOCK:
        return None
    if system == TEMPLATE or lever_vectors is None:
        return vectors
    return lever_vectors


def write_configs(systems: List[str], extra: Dict[str, List[Path]], base: Path, overlays: List[Path],
                  lang: str, config_dir: Path, budget: Dict[str, int],
                  transformer_model: Optional[str] = None, vectors: Optional[Path] = None,
                  levers: Levers = NO_LEVERS) -> Dict[str, Path]:
    """Each system's config in `config_dir`: the template's reads `vectors`, each
    --extra system's reads its lever's vectors and starts from its weights."""
    configs = {}
    for system in systems:
        path = configs[system] = config_dir / f"{system}.cfg"
        inputs = levers.get(system, NO_INPUTS)
        if system in STOCK:
            path.parent.mkdir(parents=True, exist_ok=True)
            stock_config(lang, STOCK[system], budget).to_disk(path)
        else:
            path.unlink(missing_ok=True)
            generate(base, overlays if system == TEMPLATE else extra[system], lang, path, budget,
                     transformer_model, system_vectors(system, vectors, inputs.vectors),
                     init_tok2vec=inputs.weights)
    return configs


def corpus_md5s(corpus_dir: Path) -> Dict[str, str]:
    return {split: md5_file(corpus_dir / f"{split}.spacy") for split in ("train", "dev", "test")}


def finished_run(run_dir: Path, config: Path, corpus_md5: Dict[str, str], seed: int,
                 budget: Dict[str, int], silver: Optional[Path] = None) -> bool:
    """Whether `run_dir` holds a complete, evaluated run of this config, corpus
    (MD5 of each split, from `corpus_md5s`), seed, budget and silver corpus."""
    try:
        scores = read_test_scores(run_dir)
    except (ValueError, KeyError):  # cut short, or written by an older version
        return False
    return (scores is not None and scores["test_corpus_md5"] == corpus_md5["test"]
            and same_training(read_run(run_dir), config, corpus_md5, seed, budget,
                              inputs=with_silver(config_inputs(config), silver)))


def training_job(system: str, seed: int, config: Path, runs_dir: Path, corpus_md5: Dict[str, str],
                 budget: Dict[str, int], silver: Optional[Path] = None) -> Dict[str, Any]:
    """One run of `train_all`: RUNS_DIR/<system>-s<seed>, marked "reused" when it
    is already finished with this config, corpus, seed, budget and silver corpus."""
    run_dir = runs_dir / f"{system}-s{seed}"
    return {"system": system, "seed": seed, "config": config, "run_dir": run_dir, "silver": silver,
            "reused": finished_run(run_dir, config, corpus_md5, seed, budget, silver)}


def train_all(jobs: List[Dict[str, Any]], corpus_dir: Path, gpu_id: int, parallel: int,
              speed_seconds: float, evaluate: bool = True) -> None:
    """Train and evaluate every job not already finished, `parallel` at a time, on
    its own "corpus_dir" if it has one, else on `corpus_dir`; evaluate measures
    words/second for `speed_seconds`. Without `evaluate`, the runs only train
    (their test split is not read).
    Parallel runs write their console output to RUNS_DIR/<run>.log."""
    todo = [job for job in jobs if not job["reused"]]
    for job in jobs:
        if job["reused"]:
            msg.info(f"Reusing finished run {job['run_dir']}")

    failed = threading.Event()

    def run(job: Dict[str, Any]) -> None:
        if failed.is_set():  # a run failed: start no more
            return
        log = job["run_dir"].parent / f"{job['run_dir'].name}.log" if parallel > 1 else None
        msg.divider(f"{job['system']}, seed {job['seed']}" + (f" (log: {log})" if log else ""))
        corpus = job.get("corpus_dir", corpus_dir)
        try:
            if evaluate:
                train_and_evaluate(job["config"], corpus, job["run_dir"], job["seed"], gpu_id, speed_seconds,
                                   log=log, silver=job.get("silver"))
            else:
                train_logged(job["config"], corpus, job["run_dir"], job["seed"], gpu_id, log, job.get("silver"))
        except BaseException:
            failed.set()
            raise
        msg.good(f"Finished {job['system']}, seed {job['seed']}")

    # The slowest systems start first, so that parallel workers finish together.
    todo.sort(key=lambda job: job["system"] != "stock-accuracy")
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        try:
            for future in as_completed([pool.submit(run, job) for job in todo]):
                future.result()
        except (KeyboardInterrupt, SystemExit):
            # Stopped (Ctrl-C, SIGTERM): runs in other threads would go on training.
            failed.set()
            stop_running()
            raise


def dir_size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def run_result(job: Dict[str, Any], speed: Dict[str, float]) -> Dict[str, Any]:
    run_dir = job["run_dir"]
    figures = run_figures(run_dir)
    return {
        "system": job["system"],
        "seed": job["seed"],
        "reused": job["reused"],
        # The settings it trained (blind to comments): ties a table to the base config of its day.
        "config_md5": figures["config_md5"],
        **{key: figures[key] for key in ("dev_score", "f", "p", "r", "train_seconds",
                                         "train_words_per_second", "steps", "best_step", "peak_memory_mib")},
        "corpus_md5": {split: figures[f"{split}_md5"] for split in ("train", "dev", "test")},
        "per_label": figures["per_label_f"],
        "inference_words_per_second": speed,
        "model_size_mib": round(dir_size_mib(run_dir / MODEL_BEST), 2),
    }


def summarise(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    summary: Dict[str, Any] = {}
    for system in dict.fromkeys(r["system"] for r in runs):
        own = [r for r in runs if r["system"] == system]
        labels = sorted({label for r in own for label in r["per_label"]})
        summary[system] = {
            "seeds": [r["seed"] for r in own],
            **{key: mean_std([r[key] for r in own]) for key in
               ("dev_score", "f", "p", "r", "train_seconds", "train_words_per_second", "peak_memory_mib",
                "model_size_mib", "steps", "best_step")},
            "inference_batch": mean_std([r["inference_words_per_second"]["batch"] for r in own]),
            "inference_single": mean_std([r["inference_words_per_second"]["single"] for r in own]),
            "per_label_f": {label: mean_std([r["per_label"].get(label, 0.0) for r in own])
                            for label in labels},
        }
    base = summary[BASELINE]
    test_f = {system: [r["f"] for r in runs if r["system"] == system] for system in summary}
    for system, values in summary.items():
        # Welch's t on the seeds' test F1, against each reference system with two seeds or more.
        values["welch_p"] = {reference: welch_t_test(test_f[system], test_f[reference])["p"]
                             for reference in (BASELINE, TEMPLATE)
                             if reference in test_f and reference != system
                             and min(len(test_f[system]), len(test_f[reference])) >= 2}
        values[RATIOS_KEY] = {
            "f_points": 100 * (values["f"]["mean"] - base["f"]["mean"]),
            "train_time_ratio": values["train_seconds"]["mean"] / base["train_seconds"]["mean"],
            "inference_batch_ratio": values["inference_batch"]["mean"] / base["inference_batch"]["mean"],
            "inference_single_ratio": values["inference_single"]["mean"] / base["inference_single"]["mean"],
        }
    return summary


def not_run_note(not_run: List[Dict[str, Any]]) -> str:
    """The line under the table that names the runs a partial table lacks."""
    if not not_run:
        return ""
    seeds: Dict[str, List[str]] = {}
    for run in not_run:
        seeds.setdefault(run["system"], []).append(str(run["seed"]))
    runs = "; ".join(f"`{system}` seed(s) {', '.join(s)}" for system, s in seeds.items())
    return (f"\nNot run yet (a benchmark spanning several sittings; rows above average the "
            f"seeds they list): {runs}.\n")


def cannot_run_note(cannot_run: Dict[str, str]) -> str:
    """The line under the table that names the systems this machine cannot run, and why."""
    if not cannot_run:
        return ""
    systems = "; ".join(f"`{system}` ({reason})" for system, reason in cannot_run.items())
    return f"\nNot run on this machine: {systems}.\n"


def results_markdown(results: Dict[str, Any]) -> str:
    def pm(value: Dict[str, float], scale: float = 1.0, digits: int = 2) -> str:
        return f"{scale * value['mean']:.{digits}f} ± {scale * value['std']:.{digits}f}"

    summary = results["summary"]
    systems = list(summary)
    def p_value(values: Dict[str, Any], reference: str) -> str:
        p = values.get("welch_p", {}).get(reference)
        return "" if p is None else f"{p:.3f}"

    main = [(f"`{system}`", ", ".join(map(str, v["seeds"])), pm(v["dev_score"], 100), pm(v["f"], 100),
             pm(v["p"], 100), pm(v["r"], 100), f"{v[RATIOS_KEY]['f_points']:+.2f}",
             p_value(v, BASELINE), p_value(v, TEMPLATE), pm(v["train_seconds"], digits=0),
             f"{v[RATIOS_KEY]['train_time_ratio']:.2f}×", pm(v["train_words_per_second"], digits=0),
             pm(v["inference_batch"], digits=0), f"{v[RATIOS_KEY]['inference_batch_ratio']:.2f}×",
             pm(v["inference_single"], digits=0), f"{v[RATIOS_KEY]['inference_single_ratio']:.2f}×",
             f"{v['model_size_mib']['mean']:.1f}", f"{v['peak_memory_mib']['mean']:.0f}",
             f"{v['best_step']['mean']:.0f} / {v['steps']['mean']:.0f}")
            for system, v in summary.items()]
    labels = sorted({label for v in summary.values() for label in v["per_label_f"]})
    per_label = [(label, *(pm(summary[s]["per_label_f"].get(label, {"mean": 0, "std": 0}), 100)
                           for s in systems)) for label in labels]
    configs = [(f"`{system}`", source) for system, source in results["configs"].items()]
    budget = ", ".join(f"{k} {v}" for k, v in results["budget"].items())
    return (
        f"# Benchmark: {results['dataset']}\n\n"
        f"Test split of `{results['corpus_dir']}` ({results['test_words']:,} words). "
        f"Seeds {', '.join(map(str, results['seeds']))}; same budget for every system ({budget}); "
        f"{results['parallel']} training run(s) at a time. Mean ± standard deviation over seeds; "
        f"ratios against `{BASELINE}`; dev score: the dev F1 that chose model-best; p: Welch's t-test "
        "of the seeds' test F1 (two-sided). Timings are for comparison within this run only: the "
        "machine is shared and noisy. Inference speed is the best of "
        f"{results['speed_rounds']} interleaved rounds.\n\n"
        + markdown_table(("system", "seeds", "dev score", "F1", "P", "R", "ΔF1 (points)",
                          f"p vs `{BASELINE}`", f"p vs `{TEMPLATE}`", "train s", "train time",
                          "train words/s", "infer words/s (pipe)", "infer speed (pipe)",
                          "infer words/s (single)", "infer speed (single)", "model MiB", "peak MiB",
                          "best step / steps"), main)
        + not_run_note(results.get("not_run", []))
        + cannot_run_note(results.get("cannot_run", {}))
        + "\n## F1 per label\n\n"
        + markdown_table(("label", *(f"`{s}`" for s in systems)), per_label)
        + "\n## Configs\n\n"
        + markdown_table(("system", "config"), configs)
        + one_off_section(results.get("one_off", {}))
        + produced_note(results)
    )


def produced_note(results: Dict[str, Any]) -> str:
    """A table's footer: when, on what machine and versions, and what that means for reproducing it."""
    env = results["environment"]
    return (f"\nProduced {results['created']} on {env['platform']} ({env['cpu_count']} CPUs"
            f"{machine_note(env)}), Python {env['versions']['python']}, spaCy {env['versions']['spacy']}, "
            f"thinc {env['versions']['thinc']}; git {(env.get('git') or {}).get('commit', 'n/a')}. "
            "Training is deterministic for one seed, corpus, config and kind of CPU (its instruction "
            "sets choose the BLAS kernels): another CPU gives other weights and scores.\n")


def one_off_costs(systems: List[str], vectors: Optional[Path], levers: Levers = NO_LEVERS) -> Dict[str, Dict[str, Any]]:
    """What each system's static vectors (from train-vectors' record: seconds, peak
    memory, words learnt from), silver corpus (from distill's report: the teacher's
    annotating time and memory, words read and kept) and pretrained tok2vec weights
    (from pretrain's record: seconds, peak memory, words spaCy read, epochs) cost
    to make once, reused by every seed."""
    costs: Dict[str, Dict[str, Any]] = {}
    for system in systems:
        inputs = levers.get(system, NO_INPUTS)
        folder = system_vectors(system, vectors, inputs.vectors)
        if folder is not None:
            record = srsly.read_json(folder / VECTORS_RECORD)
            costs[system] = {"vectors_seconds": record.get("seconds"),
                             "vectors_peak_memory_mib": record.get("peak_memory_mib"),
                             "vectors_words": total_words(record),
                             "vectors_settings": record["settings"]}
        if inputs.silver_report is not None:
            report = srsly.read_json(inputs.silver_report)
            costs.setdefault(system, {}).update({
                "silver_seconds": report.get("seconds"), "silver_peak_memory_mib": report.get("peak_memory_mib"),
                "silver_teachers": len(report["key"]["teacher"] or []), "silver_words_read": report["read"]["words"],
                "silver_sentences": report["kept"]["sentences"], "silver_words": report["kept"]["words"]})
        if inputs.pretrained is not None:
            record = srsly.read_json(inputs.pretrained / PRETRAIN_RECORD)
            costs.setdefault(system, {}).update({
                "pretrain_seconds": record.get("seconds"), "pretrain_peak_memory_mib": record.get("peak_memory_mib"),
                "pretrain_text_words": total_words(record), "pretrain_epochs": record["epochs"],
                # spaCy's own count: its pretraining corpus skips texts outside its length limits.
                "pretrain_words": record["log"][-1]["nr_word"] if record["log"] else 0})
    return costs


def one_off_section(costs: Dict[str, Dict[str, Any]]) -> str:
    """The tables of what each system's static vectors, silver corpus and pretrained
    weights cost once, if any has some."""
    vectors = [(f"`{system}`", f"{cost['vectors_words']:,}", f"{cost['vectors_seconds'] or 0:,.0f}",
                f"{cost['vectors_peak_memory_mib'] or 0:,.0f}",
                ", ".join(f"{key} {value}" for key, value in cost["vectors_settings"].items()))
               for system, cost in costs.items() if "vectors_words" in cost]
    silver = [(f"`{system}`", str(cost["silver_teachers"]), f"{cost['silver_words_read']:,}",
               f"{cost['silver_sentences']:,}", f"{cost['silver_words']:,}", f"{cost['silver_seconds'] or 0:,.0f}",
               f"{cost['silver_peak_memory_mib'] or 0:,.0f}")
              for system, cost in costs.items() if "silver_words" in cost]
    pretrained = [(f"`{system}`", f"{cost['pretrain_text_words']:,}", f"{cost['pretrain_words']:,}",
                   str(cost["pretrain_epochs"]), f"{cost['pretrain_seconds'] or 0:,.0f}",
                   f"{cost['pretrain_peak_memory_mib'] or 0:,.0f}")
                  for system, cost in costs.items() if "pretrain_words" in cost]
    section = ""
    if vectors:
        section += ("\n## One-off cost (static vectors, made once and reused by every seed)\n\n"
                    + markdown_table(("system", "words learnt from", "seconds", "peak MiB", "floret settings"), vectors))
    if silver:
        section += ("\n## One-off cost (silver corpus, annotated once and reused by every seed)\n\n"
                    + markdown_table(("system", "teacher models", "words annotated", "sentences kept", "words kept",
                                      "seconds", "peak MiB"), silver))
    if pretrained:
        section += ("\n## One-off cost (pretrained tok2vec, `spacy pretrain` once, reused by every seed)\n\n"
                    + markdown_table(("system", "words of text", "words read (spaCy's count)", "epochs", "seconds",
                                      "peak MiB"), pretrained))
    return section


def machine_note(env: Dict[str, Any]) -> str:
    """", CPU (its vector instruction sets), BLAS" for a table's footer, from what was recorded."""
    parts = []
    if env.get("cpu"):
        parts.append(f"{env['cpu']} ({', '.join(env.get('cpu_flags') or []) or 'flags unknown'})")
    if env.get("blas"):
        parts.append(f"numpy BLAS {env['blas']}")
    if env.get("versions", {}).get("blis"):
        parts.append(f"BLIS {env['versions']['blis']}")
    return "".join(f", {part}" for part in parts)


def config_sources(systems: List[str], extra: Dict[str, List[Path]], base: Path,
                   overlays: List[Path], vectors: Optional[Path] = None,
                   levers: Levers = NO_LEVERS) -> Dict[str, str]:
    sources = {}
    for system in systems:
        inputs = levers.get(system, NO_INPUTS)
        if system in STOCK:
            sources[system] = f"`spacy init config --pipeline ner --optimize {STOCK[system]}` (CPU, no vectors)"
        else:
            parts = [base, *(overlays if system == TEMPLATE else extra[system])]
            sources[system] = " + ".join(f"`{p.as_posix()}`" for p in parts)
            own_vectors = system_vectors(system, vectors, inputs.vectors)
            if own_vectors is not None:
                sources[system] += f" + static vectors `{own_vectors.as_posix()}`"
            if inputs.silver is not None:
                sources[system] += f" + silver training data `{inputs.silver.as_posix()}`"
            if inputs.weights is not None:
                sources[system] += f" + pretrained tok2vec `{inputs.weights.as_posix()}`"
    return sources


def save_results(output_dir: Path, results: Dict[str, Any], markdown: str) -> None:
    """A benchmark's table: OUTPUT_DIR/results.json and results.md, written together, and shown."""
    write_json_and_markdown(output_dir / "results", results, markdown)
    print(markdown)
    msg.good(f"Saved {output_dir}/results.json and results.md")


@exit_on_user_error
def main(
    # fmt: off
    corpus_dir: Path = typer.Argument(..., help="Folder with train/dev/test.spacy"),
    output_dir: Path = typer.Argument(..., help="Where to write results.json and results.md"),
    lang: str = typer.Option("pt", help="spaCy language code"),
    base: Path = typer.Option(Path("configs/base.cfg"), help="The template's base config"),
    overlay: List[Path] = typer.Option([], help="The template's overlay config(s)"),
    transformer_model: Optional[str] = typer.Option(None, help="Hugging Face model name or folder, for a transformer overlay"),
    systems: str = typer.Option(",".join(DEFAULT_SYSTEMS), help="Comma-separated built-in systems to train"),
    extra: List[str] = typer.Option([], help="Also train NAME=OVERLAY[,OVERLAY...]: the base config with those overlays, in order"),
    vectors: Optional[Path] = typer.Option(None, help="Folder written by train-vectors: its static vectors, if any, are read by the template's systems (never the stock ones)", file_okay=False),
    extra_vectors: List[str] = typer.Option([], help="[NAME=]FOLDER written by train-vectors whose static vectors the --extra system NAME (without it: every one) reads instead (a lever), its cost in the table"),
    extra_silver: List[str] = typer.Option([], help="[NAME=]silver corpus written by distill that the --extra system NAME (without it: every one) trains on beside gold (a lever), its cost in the table"),
    extra_silver_report: List[str] = typer.Option([], help="[NAME=]distill's report on that silver corpus: what annotating it cost, for the table"),
    extra_pretrained: List[str] = typer.Option([], help="[NAME=]FOLDER written by pretrain whose tok2vec weights the --extra system NAME (without it: every one) starts from (a lever), its cost in the table"),
    runs_dir: Optional[Path] = typer.Option(None, help="Where runs go (default OUTPUT_DIR/runs)"),
    seeds: str = typer.Option("0,1,2", help="Comma-separated training seeds"),
    budget_config: Path = typer.Option(..., help="A generated run config whose training budget every system gets", exists=True, dir_okay=False),
    gpu_id: int = typer.Option(-1, help="GPU id, or -1 for CPU"),
    parallel: int = typer.Option(1, help="Training runs at a time (at most one per CPU core)"),
    speed_seconds: float = typer.Option(2.0, help="Minimum seconds per inference-speed measurement"),
    speed_rounds: int = typer.Option(3, help="Interleaved inference-speed rounds (the best counts)"),
    finished_only: bool = typer.Option(False, "--finished-only", help="Train nothing: tabulate the runs finished so far and list those still to run"),
    cannot_run: List[str] = typer.Option([], "--cannot-run", help="NAME=REASON: a system this machine cannot run (no GPU, no model hub), listed under the table with its reason"),
    # fmt: on
) -> None:
    seed_list = parse_seeds(seeds)
    builtin = [s.strip() for s in systems.split(",") if s.strip()]
    unknown = [s for s in builtin if s not in DEFAULT_SYSTEMS]
    if unknown or BASELINE not in builtin:
        raise UserError(f"--systems takes {', '.join(DEFAULT_SYSTEMS)} and must include {BASELINE}; "
                        f"got {systems!r}")
    extra_overlays = parse_extra(extra)
    check_unseen_seeds([*overlay, *(path for paths in extra_overlays.values() for path in paths)], seed_list)
    cannot_run_reasons = parse_cannot_run(cannot_run, builtin + list(extra_overlays))
    system_list = builtin + list(extra_overlays)
    test_path = corpus_dir / "test.spacy"
    if not test_path.is_file():
        raise UserError("corpus not found (run the 'preprocess' step first)", test_path)
    test_docs = list(DocBin().from_disk(test_path).get_docs(spacy.blank(lang).vocab))
    texts = [doc.text for doc in test_docs]
    runs_dir = runs_dir or output_dir / "runs"
    budget = read_budget(budget_config)
    vectors_dir = static_vectors(vectors) if vectors is not None else None
    levers = lever_inputs(extra_overlays, extra_vectors, extra_silver, extra_silver_report, extra_pretrained)
    configs = write_configs(system_list, extra_overlays, base, overlay, lang, runs_dir / "configs",
                            budget, transformer_model, vectors_dir, levers)
    corpus_md5 = corpus_md5s(corpus_dir)
    jobs = [training_job(system, seed, configs[system], runs_dir, corpus_md5, budget,
                         levers.get(system, NO_INPUTS).silver)
            for seed in seed_list for system in system_list]
    not_run = [{"system": job["system"], "seed": job["seed"]} for job in jobs if not job["reused"]]
    if finished_only:
        jobs = [job for job in jobs if job["reused"]]
        if not any(job["system"] == BASELINE for job in jobs):
            raise UserError(f"no finished {BASELINE} run to compare with in {runs_dir}")
        for missing in not_run:
            msg.warn(f"Not run yet: {missing['system']}, seed {missing['seed']}")
    else:
        not_run = []
    train_all(jobs, corpus_dir, gpu_id, parallel, speed_seconds)
    msg.info(f"Measuring inference speed of {len(jobs)} models ({speed_rounds} rounds)")
    models = {(job["system"], job["seed"]): spacy.load(job["run_dir"] / MODEL_BEST) for job in jobs}
    speeds = best_of_rounds_speeds(models, texts, speed_seconds, speed_rounds)
    runs = [run_result(job, speeds[(job["system"], job["seed"])]) for job in jobs]
    results = {
        "dataset": corpus_dir.name,
        "corpus_dir": corpus_dir.as_posix(),
        "test_words": sum(len(doc) for doc in test_docs),
        "seeds": seed_list,
        "budget": budget,
        "parallel": parallel,
        "speed_rounds": speed_rounds,
        "configs": config_sources(system_list, extra_overlays, base, overlay, vectors_dir, levers),
        "one_off": one_off_costs(system_list, vectors_dir, levers),
        "created": utc_now(),
        "environment": environment_info(),
        "summary": summarise(runs),
        "not_run": not_run,
        "cannot_run": cannot_run_reasons,
        "runs": runs,
    }
    save_results(output_dir, results, results_markdown(results))


if __name__ == "__main__":
    typer.run(main)
