"""The benchmark: aggregation over seeds, the stock configs, and a small real run."""

from pathlib import Path

import pytest
import srsly
from confection import Config

from scripts.benchmark import SYSTEMS, stock_config, summarise, to_markdown

from .conftest import copy_project, weasel


def fake_run(system: str, seed: int, f: float, seconds: float, batch: int) -> dict:
    return {"system": system, "seed": seed, "f": f, "p": f, "r": f, "per_label": {"PER": f},
            "train_seconds": seconds, "train_words_per_second": 1000, "steps": 10, "best_step": 10,
            "peak_memory_mib": 300.0, "inference_words_per_second": {"batch": batch, "single": batch / 2},
            "model_size_mib": 5.0}


def test_summary_gives_mean_std_and_ratios_against_stock_efficiency() -> None:
    runs = [fake_run("stock-efficiency", 0, 0.70, 100, 10000),
            fake_run("stock-efficiency", 1, 0.72, 120, 10000),
            fake_run("stock-accuracy", 0, 0.74, 300, 2000), fake_run("stock-accuracy", 1, 0.74, 300, 2000),
            fake_run("template", 0, 0.75, 150, 9000), fake_run("template", 1, 0.77, 170, 9000)]
    summary = summarise(runs)
    template = summary["template"]
    assert template["f"]["mean"] == pytest.approx(0.76)
    assert template["f"]["std"] == pytest.approx(0.01414, abs=1e-4)
    assert template["vs_stock_efficiency"]["f_points"] == pytest.approx(5.0)
    assert template["vs_stock_efficiency"]["train_time_ratio"] == pytest.approx(160 / 110)
    assert template["vs_stock_efficiency"]["inference_batch_ratio"] == pytest.approx(0.9)
    assert summary["stock-accuracy"]["f"]["std"] == 0.0
    results = {"dataset": "x", "corpus_dir": "corpus/x", "test_words": 1234, "seeds": [0, 1],
               "budget": {"max_steps": 10}, "created": "now", "summary": summary,
               "environment": {"platform": "p", "cpu_count": 2, "git": None,
                               "versions": {"python": "3", "spacy": "3.8", "thinc": "8"}}}
    table = to_markdown(results)
    assert "| `template` | 76.00 ± 1.41 |" in table and "+5.00" in table and "0.90×" in table


def test_stock_accuracy_config_has_no_vectors(tmp_path: Path) -> None:
    stock_config("pt", "accuracy", tmp_path / "acc.cfg")
    config = Config().from_disk(tmp_path / "acc.cfg", interpolate=False)
    assert config["paths"]["vectors"] is None
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is False
    assert config["components"]["tok2vec"]["model"]["encode"]["width"] == 256


@pytest.mark.slow
def test_benchmark_workflow_writes_the_table_on_the_sample(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    weasel(["run", "benchmark", ".", "--vars.bench_seeds", "0,1", "--vars.max_steps", "20",
            "--vars.eval_frequency", "10", "--vars.patience", "0", "--vars.bench_speed_seconds", "0.2"],
           project)
    results = srsly.read_json(project / "benchmarks" / "sample" / "results.json")
    assert [(r["system"], r["seed"]) for r in results["runs"]] == \
        [(s, seed) for seed in (0, 1) for s in SYSTEMS]
    for system in SYSTEMS:
        values = results["summary"][system]
        assert set(values["f"]) == {"mean", "std"} and values["seeds"] == [0, 1]
        assert set(values["per_label_f"]) == {"PER", "ORG", "LOC", "MISC"}
        assert values["inference_batch"]["mean"] > 0 and values["peak_memory_mib"]["mean"] > 0
        assert set(values["vs_stock_efficiency"]) == {
            "f_points", "train_time_ratio", "inference_batch_ratio", "inference_single_ratio"}
    assert results["budget"] == {"max_epochs": 0, "max_steps": 20, "eval_frequency": 10, "patience": 0}
    table = (project / "benchmarks" / "sample" / "results.md").read_text()
    assert "| system | F1 | P | R | ΔF1 (points) |" in table and "## F1 per label" in table
    assert all(f"\n| `{s}` | " in table for s in SYSTEMS)
    assert all((project / "benchmarks" / "sample" / "runs" / f"{s}-s1" / "metrics.json").exists()
               for s in SYSTEMS)
