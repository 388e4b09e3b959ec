"""Benchmark this template's config against stock `spacy init config` configs.

Trains and scores, in one run and on the same corpus, with the same training
budget and the same seeds: (a) `spacy init config --pipeline ner --optimize
efficiency`, (b) the same with `--optimize accuracy` (CPU, no vectors), and
(c) this template's config (the base config with its optimize overlay).

Reads: CORPUS_DIR/{train,dev,test}.spacy, the base config and overlays.
Writes: OUTPUT_DIR/results.json and OUTPUT_DIR/results.md: test F1 (overall and
per label, mean ± std over seeds), precision, recall, training wall time and
words/second, inference words/second (`nlp.pipe` batched, and one text at a
time), model size, peak training memory, and ratios against stock efficiency;
with the machine and versions that produced them. Models, logs and configs of
each run go to OUTPUT_DIR/runs/ (git-ignored).
"""

import statistics
from pathlib import Path
from typing import Any, Dict, List

import spacy
import srsly
import typer
from spacy.cli.init_config import init_config
from spacy.tokens import DocBin
from wasabi import msg

from .create_config import generate
from .runs import train_and_evaluate
from .util import UserError, environment_info, exit_on_user_error, markdown_table, utc_now
from .util import words_per_second, write_json_and_markdown

SYSTEMS = ("stock-efficiency", "stock-accuracy", "template")
BASELINE = "stock-efficiency"


def stock_config(lang: str, optimize: str, path: Path) -> None:
    """`spacy init config` for a CPU NER pipeline, without pretrained vectors."""
    config = init_config(lang=lang, pipeline=["ner"], optimize=optimize, gpu=False, silent=True)
    config["paths"]["vectors"] = None
    config["initialize"]["vectors"] = None
    embed = config["components"]["tok2vec"]["model"]["embed"]
    if "include_static_vectors" in embed:
        embed["include_static_vectors"] = False
    path.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(path)


def inference_speed(model: Path, texts: List[str], min_seconds: float) -> Dict[str, float]:
    """Words/second with batched `nlp.pipe` and with one `nlp(text)` call per text."""
    nlp = spacy.load(model)
    list(nlp.pipe(texts[:50]))  # warm-up
    batch = lambda: sum(len(doc) for doc in nlp.pipe(texts, batch_size=256))  # noqa: E731
    single = lambda: sum(len(nlp(text)) for text in texts)  # noqa: E731
    return {"batch": words_per_second(batch, min_seconds)[0],
            "single": words_per_second(single, min_seconds)[0]}


def dir_size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def one_run(system: str, config: Path, corpus_dir: Path, run_dir: Path, seed: int,
            budget: Dict[str, int], texts: List[str], gpu_id: int, min_seconds: float) -> Dict[str, Any]:
    msg.divider(f"{system}, seed {seed}")
    train_and_evaluate(config, corpus_dir, run_dir, seed, budget, gpu_id, latest=run_dir.parent / "latest")
    manifest = srsly.read_json(run_dir / "run.json")
    metrics = srsly.read_json(run_dir / "metrics.json")
    return {
        "system": system,
        "seed": seed,
        "f": metrics["overall"]["f"], "p": metrics["overall"]["p"], "r": metrics["overall"]["r"],
        "per_label": {label: v["f"] for label, v in metrics["per_label"].items()},
        "train_seconds": manifest["wall_time_seconds"],
        "train_words_per_second": manifest["training"]["words_per_second"],
        "steps": manifest["training"]["steps"],
        "best_step": manifest["training"]["best_step"],
        "peak_memory_mib": manifest["peak_memory_mib"],
        "inference_words_per_second": inference_speed(run_dir / "model-best", texts, min_seconds),
        "model_size_mib": round(dir_size_mib(run_dir / "model-best"), 2),
    }


def mean_std(values: List[float]) -> Dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarise(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    summary: Dict[str, Any] = {}
    for system in SYSTEMS:
        own = [r for r in runs if r["system"] == system]
        labels = sorted({label for r in own for label in r["per_label"]})
        summary[system] = {
            "seeds": [r["seed"] for r in own],
            **{key: mean_std([r[key] for r in own]) for key in
               ("f", "p", "r", "train_seconds", "train_words_per_second", "peak_memory_mib",
                "model_size_mib")},
            "inference_batch": mean_std([r["inference_words_per_second"]["batch"] for r in own]),
            "inference_single": mean_std([r["inference_words_per_second"]["single"] for r in own]),
            "per_label_f": {label: mean_std([r["per_label"].get(label, 0.0) for r in own])
                            for label in labels},
        }
    base = summary[BASELINE]
    for system, values in summary.items():
        values["vs_" + BASELINE.replace("-", "_")] = {
            "f_points": 100 * (values["f"]["mean"] - base["f"]["mean"]),
            "train_time_ratio": values["train_seconds"]["mean"] / base["train_seconds"]["mean"],
            "inference_batch_ratio": values["inference_batch"]["mean"] / base["inference_batch"]["mean"],
            "inference_single_ratio": values["inference_single"]["mean"] / base["inference_single"]["mean"],
        }
    return summary


def to_markdown(results: Dict[str, Any]) -> str:
    def pm(value: Dict[str, float], scale: float = 1.0, digits: int = 2) -> str:
        return f"{scale * value['mean']:.{digits}f} ± {scale * value['std']:.{digits}f}"

    summary = results["summary"]
    key = "vs_" + BASELINE.replace("-", "_")
    main = [(f"`{system}`", pm(v["f"], 100), pm(v["p"], 100), pm(v["r"], 100),
             f"{v[key]['f_points']:+.2f}", pm(v["train_seconds"], digits=0),
             f"{v[key]['train_time_ratio']:.2f}×", pm(v["train_words_per_second"], digits=0),
             pm(v["inference_batch"], digits=0), f"{v[key]['inference_batch_ratio']:.2f}×",
             pm(v["inference_single"], digits=0), f"{v['model_size_mib']['mean']:.1f}",
             f"{v['peak_memory_mib']['mean']:.0f}")
            for system, v in summary.items()]
    labels = sorted({label for v in summary.values() for label in v["per_label_f"]})
    per_label = [(label, *(pm(summary[s]["per_label_f"].get(label, {"mean": 0, "std": 0}), 100)
                           for s in SYSTEMS)) for label in labels]
    env = results["environment"]
    budget = ", ".join(f"{k} {v}" for k, v in results["budget"].items())
    return (
        f"# Benchmark: {results['dataset']}\n\n"
        f"Test split of `{results['corpus_dir']}` ({results['test_words']:,} words). "
        f"Seeds {', '.join(map(str, results['seeds']))}; same budget for every system ({budget}). "
        f"Mean ± standard deviation over seeds; ratios against `{BASELINE}`. Timings are for "
        "comparison within this run only: the machine is shared and noisy.\n\n"
        + markdown_table(("system", "F1", "P", "R", "ΔF1 (points)", "train s", "train time",
                          "train words/s", "infer words/s (pipe)", "infer speed", "infer words/s (single)",
                          "model MiB", "peak MiB"), main)
        + "\n## F1 per label\n\n"
        + markdown_table(("label", *(f"`{s}`" for s in SYSTEMS)), per_label)
        + f"\nProduced {results['created']} on {env['platform']} ({env['cpu_count']} CPUs), "
        f"Python {env['versions']['python']}, spaCy {env['versions']['spacy']}, "
        f"thinc {env['versions']['thinc']}; git {(env.get('git') or {}).get('commit', 'n/a')}.\n"
    )


@exit_on_user_error
def main(
    # fmt: off
    corpus_dir: Path = typer.Argument(..., help="Folder with train/dev/test.spacy"),
    output_dir: Path = typer.Argument(..., help="Where to write results.json, results.md and runs/"),
    lang: str = typer.Option("pt", help="spaCy language code"),
    base: Path = typer.Option(Path("configs/base.cfg"), help="The template's base config"),
    overlay: List[Path] = typer.Option([], help="The template's overlay config(s)"),
    seeds: str = typer.Option("0,1,2", help="Comma-separated training seeds"),
    max_epochs: int = typer.Option(0, help="Training budget: epochs (0: no limit)"),
    max_steps: int = typer.Option(20000, help="Training budget: updates (0: no limit)"),
    eval_frequency: int = typer.Option(200, help="Evaluate on dev every N updates"),
    patience: int = typer.Option(1600, help="Stop after N updates without dev improvement"),
    gpu_id: int = typer.Option(-1, help="GPU id, or -1 for CPU"),
    speed_seconds: float = typer.Option(2.0, help="Minimum seconds per inference-speed measurement"),
    # fmt: on
) -> None:
    seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    if not seed_list:
        raise UserError("no seeds given")
    test_path = corpus_dir / "test.spacy"
    if not test_path.is_file():
        raise UserError("corpus not found (run the 'preprocess' step first)", test_path)
    test_docs = list(DocBin().from_disk(test_path).get_docs(spacy.blank(lang).vocab))
    texts = [doc.text for doc in test_docs]
    runs_dir = output_dir / "runs"
    configs = {system: runs_dir / "configs" / f"{system}.cfg" for system in SYSTEMS}
    stock_config(lang, "efficiency", configs["stock-efficiency"])
    stock_config(lang, "accuracy", configs["stock-accuracy"])
    configs["template"].unlink(missing_ok=True)
    generate(base, overlay, lang, configs["template"])
    budget = {"max_epochs": max_epochs, "max_steps": max_steps, "eval_frequency": eval_frequency,
              "patience": patience}
    runs = [one_run(system, configs[system], corpus_dir, runs_dir / f"{system}-s{seed}", seed,
                    budget, texts, gpu_id, speed_seconds)
            for seed in seed_list for system in SYSTEMS]
    results = {
        "dataset": output_dir.name,
        "corpus_dir": corpus_dir.as_posix(),
        "test_words": sum(len(doc) for doc in test_docs),
        "seeds": seed_list,
        "budget": budget,
        "created": utc_now(),
        "environment": environment_info(),
        "summary": summarise(runs),
        "runs": runs,
    }
    markdown = to_markdown(results)
    write_json_and_markdown(output_dir / "results", results, markdown)
    print(markdown)
    msg.good(f"Saved {output_dir}/results.json and results.md")


if __name__ == "__main__":
    typer.run(main)
