"""benchmark-configs: aggregation over seeds, the stock configs, run reuse, speed
rounds, stopping, and a small real run through the benchmark project."""

import gzip
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
import spacy
import srsly
from confection import Config
from spacy.schemas import ConfigSchemaTraining
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import load_model_from_config, registry

from bench import configs as benchmark
from bench.configs import (
    DEFAULT_SYSTEMS,
    best_of_rounds_speeds,
    corpus_md5s,
    finished_run,
    parse_cannot_run,
    parse_extra,
    results_markdown,
    stock_config,
    summarise,
)
from scripts.lib.configs import build_config, read_overlay, seeds_chosen_on
from scripts.lib.errors import UserError
from scripts.lib.files import md5_file
from scripts.lib.run_record import config_inputs, settings_md5
from scripts.lib.seeds import parse_seeds
from scripts.lib.settings import read_settings
from scripts.train_vectors import SETTINGS as VECTORS_SETTINGS

from tests.conftest import ROOT, copy_project, run, set_var_defaults, settings_file, wait_for, weasel, write_lines


def fake_run(system: str, seed: int, f: float, seconds: float, batch: int) -> dict:
    return {"system": system, "seed": seed, "dev_score": f - 0.01, "f": f, "p": f, "r": f, "per_label": {"PER": f},
            "train_seconds": seconds, "train_words_per_second": 1000, "steps": 10, "best_step": 8,
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
    assert list(summary) == ["stock-efficiency", "stock-accuracy", "template"]
    assert template["dev_score"]["mean"] == pytest.approx(0.75)
    # Welch's t on the seeds' test F1: means 0.71 and 0.76, each with std 0.0141 (t 3.54, df 2).
    assert template["welch_p"] == {"stock-efficiency": pytest.approx(0.0714, abs=1e-3)}
    assert summary["stock-efficiency"]["welch_p"] == {"template": pytest.approx(0.0714, abs=1e-3)}
    results = {"dataset": "x", "corpus_dir": "corpus/x", "test_words": 1234, "seeds": [0, 1],
               "budget": {"max_steps": 10}, "created": "now", "summary": summary, "parallel": 2,
               "speed_rounds": 3, "configs": {s: f"{s} source" for s in summary},
               "environment": {"platform": "p", "cpu_count": 2, "git": None, "cpu": "AMD EPYC",
                               "cpu_flags": ["avx2", "fma"], "blas": "scipy-openblas 0.3.31",
                               "versions": {"python": "3", "spacy": "3.8", "thinc": "8", "blis": "1.3.4"}}}
    table = results_markdown(results)
    assert "| `template` | 0, 1 | 75.00 ± 1.41 | 76.00 ± 1.41 |" in table and "+5.00 | 0.072 |  |" in table
    assert "0.90×" in table and "| p vs `stock-efficiency` | p vs `template` |" in table
    assert "(2 CPUs, AMD EPYC (avx2, fma), numpy BLAS scipy-openblas 0.3.31, BLIS 1.3.4)" in table
    assert "Not run yet" not in table
    partial = results_markdown({**results, "not_run": [{"system": "stock-accuracy", "seed": 2},
                                                       {"system": "stock-accuracy", "seed": 3}]})
    assert "Not run yet (a benchmark spanning several sittings" in partial
    assert "`stock-accuracy` seed(s) 2, 3." in partial
    assert "| 8 / 10 |" in table and "| `template` | template source |" in table
    assert "Not run on this machine" not in table
    no_gpu = results_markdown({**results, "cannot_run": {"transformer": "no GPU"}})
    assert "\nNot run on this machine: `transformer` (no GPU).\n" in no_gpu


def test_stock_accuracy_config_has_no_vectors(tmp_path: Path) -> None:
    budget = {"max_epochs": 0, "max_steps": 123, "eval_frequency": 7, "patience": 0}
    stock_config("pt", "accuracy", budget).to_disk(tmp_path / "acc.cfg")
    config = Config().from_disk(tmp_path / "acc.cfg", interpolate=False)
    assert {key: config["training"][key] for key in budget} == budget  # the benchmark's budget
    assert config["paths"]["vectors"] is None
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is False
    assert config["components"]["tok2vec"]["model"]["encode"]["width"] == 256



def test_extra_systems_are_named_overlays(tmp_path: Path) -> None:
    overlay = tmp_path / "tuned.cfg"
    overlay.write_text("[training]\ndropout = 0.2\n")
    second = tmp_path / "wide.cfg"
    second.write_text("[components.tok2vec.model.encode]\nwidth = 64\n")
    assert parse_extra([f"tuned={overlay}"]) == {"tuned": [overlay]}
    assert parse_extra([f"both={overlay},{second}"]) == {"both": [overlay, second]}
    for bad, cause in ((str(overlay), "NAME=OVERLAY_PATH"), ("x=", "NAME=OVERLAY_PATH"),
                       ("x=,", "NAME=OVERLAY_PATH"), (f"template={overlay}", "built-in"),
                       (f"x={overlay},{tmp_path / 'missing.cfg'}", "overlay not found")):
        with pytest.raises(UserError, match=cause):
            parse_extra([bad])



def test_the_tuned_overlay_is_judged_on_seeds_its_search_did_not_score(tmp_path: Path) -> None:
    """benchmark-tuned's seeds are not those the committed tuned.cfg was chosen on; given those, the benchmark stops
    before it writes or trains anything."""
    tuned = ROOT / "configs" / "optimize" / "tuned.cfg"
    chosen = seeds_chosen_on(tuned)
    tuned_seeds = parse_seeds(srsly.read_yaml(ROOT / "benchmarks" / "project.yml")["vars"]["tuned_seeds"])
    assert chosen and not set(chosen) & set(tuned_seeds)
    result = run(["python", "-m", "bench.configs", str(tmp_path / "corpus"), str(tmp_path / "out"),
                  "--extra", f"tuned={tuned}", "--seeds", f"{tuned_seeds[0]},{chosen[-1]}",
                  "--budget-config", str(ROOT / "configs" / "base.cfg")], ROOT / "benchmarks")
    assert result.returncode == 1
    assert f"tuned.cfg: was chosen on seeds {', '.join(map(str, chosen))}; judging it on seed(s) {chosen[-1]} " \
        "would score the draws it was picked for" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_each_lever_gets_the_inputs_named_for_it_or_given_to_all(tmp_path: Path) -> None:
    vectors, pretrained = tmp_path / "vectors", tmp_path / "pretrain"
    (vectors / "vocab").mkdir(parents=True)
    (vectors / "vocab" / "vectors").write_bytes(b"table")
    pretrained.mkdir()
    (pretrained / "tok2vec.bin").write_bytes(b"weights")
    silver, report = tmp_path / "silver.spacy", tmp_path / "silver_report.json"
    report.write_text("{}")
    extra = ["floret", "pretrain", "distill", "floret_distill"]
    levers = benchmark.lever_inputs(
        extra, vectors=[f"floret={vectors}", f"floret_distill={vectors}"], silver=[f"distill={silver}", f"floret_distill={silver}"],
        silver_report=[f"distill={report}", f"floret_distill={report}"], pretrained=[f"pretrain={pretrained}"])
    assert levers == {"floret": benchmark.LeverInputs(vectors=vectors),
                      "pretrain": benchmark.LeverInputs(pretrained=pretrained),
                      "distill": benchmark.LeverInputs(silver=silver, silver_report=report),
                      "floret_distill": benchmark.LeverInputs(vectors=vectors, silver=silver, silver_report=report)}
    # Unnamed: every --extra system's (one lever per table, as benchmark-unlabelled gives it).
    assert benchmark.lever_inputs(["a", "b"], [str(vectors)], [], [], []) == \
        {"a": benchmark.LeverInputs(vectors=vectors), "b": benchmark.LeverInputs(vectors=vectors)}
    assert benchmark.lever_inputs(["a"], [], [], [], []) == {}
    for options, cause in (({"vectors": [f"nope={vectors}"]}, "--extra-vectors names 'nope', which is not an --extra"),
                           ({"vectors": [f"a={tmp_path}"]}, "no static vectors here"),
                           ({"pretrained": [f"a={tmp_path}"]}, "no pretrained weights here"),
                           ({"silver_report": ["a=" + str(tmp_path / "missing.json")]}, "report not found"),
                           ({"silver": ["a="]}, "PATH or NAME=PATH")):
        with pytest.raises(UserError, match=cause):
            benchmark.lever_inputs(["a"], **{"vectors": [], "silver": [], "silver_report": [], "pretrained": [],
                                             **options})

def test_systems_this_machine_cannot_run_come_with_a_reason() -> None:
    running = ["stock-efficiency", "template"]
    assert parse_cannot_run(["transformer = no GPU, no model hub"], running) == \
        {"transformer": "no GPU, no model hub"}
    for bad in ("transformer", "transformer=", "=no GPU"):
        with pytest.raises(UserError, match="NAME=REASON"):
            parse_cannot_run([bad], running)
    with pytest.raises(UserError, match="'template' is given to --cannot-run and is also run"):
        parse_cannot_run(["template=no GPU"], running)


# Levers that refine an architecture's overlay, and go after it (as in NOTES.md).
LEVERS = ROOT / "benchmarks" / "levers"
LEVER_AFTER = {"suggester_20.cfg": ROOT / "configs" / "architecture" / "spancat.cfg",
               "beam_width_2.cfg": ROOT / "configs" / "optimize" / "beam.cfg"}
# Levers whose overlay names code of their own: the folder that registers it.
LEVER_CODE = {"bilstm.cfg": LEVERS / "bilstm"}


def import_lever_code(folder: Path) -> None:
    """Run a lever's sitecustomize in this process, as PYTHONPATH would at start-up."""
    spec = importlib.util.spec_from_file_location(f"lever_{folder.name}", folder / "sitecustomize.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.parametrize("lever", sorted(path.name for path in LEVERS.glob("*.cfg")))
def test_each_committed_lever_still_builds_a_trainable_config(lever: str) -> None:
    """NOTES.md tells readers to rerun these overlays: a base-config change must not
    silently break one (a renamed block, a schedule that no longer resolves)."""
    overlays = [LEVER_AFTER[lever]] if lever in LEVER_AFTER else []
    if lever in LEVER_CODE:
        import_lever_code(LEVER_CODE[lever])
    # The default budget: levers that set a schedule's length set it to this.
    config = build_config(ROOT / "configs" / "base.cfg", [*overlays, LEVERS / lever], "pt", {"max_steps": 20000})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    training = registry.resolve(nlp.config.interpolate()["training"], schema=ConfigSchemaTraining)
    assert training["optimizer"] is not None and callable(training["batcher"])

    # Every value the lever sets reaches the config (not dropped with a component).
    def leaves(block: dict, path: tuple = ()) -> dict:
        return {key: value for name, item in block.items()
                for key, value in (leaves(item, (*path, name)) if isinstance(item, dict)
                                   else {(*path, name): item}).items()}

    built = leaves(config)
    assert {path: built.get(path) for path in leaves(read_overlay(LEVERS / lever))} == \
        leaves(read_overlay(LEVERS / lever))


@pytest.mark.parametrize("settings", sorted(path.name for path in LEVERS.glob("vectors_*.yml")))
def test_each_committed_vectors_setting_is_one_train_vectors_accepts(settings: str) -> None:
    """The floret settings NOTES.md compares: each is read as train-vectors reads
    configs/vectors.yml, with the same keys, so a sweep point differs only in values."""
    values = read_settings(LEVERS / settings, VECTORS_SETTINGS)
    assert set(values) == set(srsly.read_yaml(ROOT / "configs" / "vectors.yml")) and values["minn"] <= values["maxn"]


def write_finished_run(run_dir: Path, config: Path, corpus: Path, seed: int, budget: dict) -> None:
    run_dir.mkdir(parents=True)
    srsly.write_json(run_dir / "run.json", {
        "config": {"md5": md5_file(config), "settings_md5": settings_md5(config)}, "seed": seed,
        "training": {**budget, "steps": 99},
        "inputs": config_inputs(config),
        "corpus": {split: {"md5": md5_file(corpus / f"{split}.spacy")} for split in ("train", "dev")}})
    scores = {"p": 0.5, "r": 0.5, "f": 0.5}
    srsly.write_json(run_dir / "metrics.json", {"test": {"md5": md5_file(corpus / "test.spacy")},
                                                "overall": scores, "per_label": {"PER": scores},
                                                "speed": {"words_per_second": 1000}})
    for model in ("model-best", "model-last"):
        (run_dir / model).mkdir()
    (run_dir / "train_log.jsonl").write_text("")


def test_a_finished_run_is_reused_only_if_config_corpus_seed_and_budget_match(tmp_path: Path) -> None:
    corpus, config = tmp_path / "corpus", tmp_path / "config.cfg"
    corpus.mkdir()
    for split in ("train", "dev", "test"):
        (corpus / f"{split}.spacy").write_bytes(split.encode())
    config.write_text("[training]\n")
    budget = {"max_epochs": 0, "max_steps": 100, "eval_frequency": 10, "patience": 50}
    run_dir = tmp_path / "runs" / "template-s0"
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)  # nothing there yet
    write_finished_run(run_dir, config, corpus, 0, budget)
    assert finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 1, budget)
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, {**budget, "max_steps": 200})
    (corpus / "test.spacy").write_bytes(b"new test data")
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    (corpus / "test.spacy").write_bytes(b"test")
    config.write_text("[training]\ndropout = 0.3\n")
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    config.write_text("[training]\n")
    assert finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    shutil.rmtree(run_dir / "model-best")  # an incomplete run folder is not a finished run
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)


def test_a_run_is_reused_by_its_settings_not_by_comments_or_section_order(tmp_path: Path) -> None:
    # A lever overlay adopted into the base config generates the same settings in
    # another order and under another header: the lever's runs are the default's runs.
    corpus, config = tmp_path / "corpus", tmp_path / "config.cfg"
    corpus.mkdir()
    for split in ("train", "dev", "test"):
        (corpus / f"{split}.spacy").write_bytes(split.encode())
    lever = "# from a lever\n[training]\ndropout = 0.1\n\n[nlp]\nlang = \"pt\"\n"
    config.write_text(lever)
    budget = {"max_epochs": 0, "max_steps": 100, "eval_frequency": 10, "patience": 50}
    run_dir = tmp_path / "runs" / "template-s0"
    write_finished_run(run_dir, config, corpus, 0, budget)
    config.write_text("# from the base config\n[nlp]\nlang = \"pt\"\n\n[training]\ndropout = 0.1\n")
    assert finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    config.write_text("[nlp]\nlang = \"pt\"\n\n[training]\ndropout = 0.2\n")
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    # A run recorded before settings were, by the file's bytes.
    run = srsly.read_json(run_dir / "run.json")
    del run["config"]["settings_md5"]
    srsly.write_json(run_dir / "run.json", run)
    config.write_text(lever)
    assert finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    config.write_text("[nlp]\nlang = \"pt\"\n\n[training]\ndropout = 0.1\n")
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)


def test_a_run_with_static_vectors_is_reused_only_while_the_vectors_are_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # configs name vectors relative to the project folder
    corpus, config, vectors = Path("corpus"), Path("config.cfg"), Path("training/vectors/x")
    corpus.mkdir()
    for split in ("train", "dev", "test"):
        (corpus / f"{split}.spacy").write_bytes(split.encode())
    (vectors / "vocab").mkdir(parents=True)
    (vectors / "vocab" / "vectors").write_bytes(b"table 1")
    config.write_text(f'[paths]\nvectors = "{vectors}"\n\n[training]\n')
    budget = {"max_epochs": 0, "max_steps": 100, "eval_frequency": 10, "patience": 50}
    run_dir = Path("runs/template-s0")
    write_finished_run(run_dir, config, corpus, 0, budget)
    assert srsly.read_json(run_dir / "run.json")["inputs"]["vectors"]["path"] == str(vectors)
    assert finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)
    (vectors / "vocab" / "vectors").write_bytes(b"table 2")  # retrained: same path, new table
    assert not finished_run(run_dir, config, corpus_md5s(corpus), 0, budget)


def test_levers_read_their_own_vectors_and_the_table_states_their_one_off_cost(tmp_path: Path) -> None:
    template_vectors, lever_vectors = tmp_path / "template_vectors", tmp_path / "lever_vectors"
    (lever_vectors / "vocab").mkdir(parents=True)
    (lever_vectors / "vocab" / "vectors").write_bytes(b"table")
    srsly.write_json(lever_vectors / "vectors.json", {
        "counts": {"train": {"texts": 2, "words": 1000}, "unlabelled": {"texts": 5, "words": 2_000_000}},
        "settings": {"dim": 100, "rows": 20000}, "seconds": 612.4, "peak_memory_mib": 880.0})
    extra = {"floret": [ROOT / "configs" / "architecture" / "cnn.cfg"]}
    systems = ["stock-efficiency", "template", "floret"]
    budget = {"max_epochs": 0, "max_steps": 10, "eval_frequency": 5, "patience": 0}
    configs = benchmark.write_configs(systems, extra, ROOT / "configs" / "base.cfg", [], "pt", tmp_path / "configs",
                                      budget, levers={"floret": benchmark.LeverInputs(vectors=lever_vectors)})
    paths = {system: Config().from_disk(path, interpolate=False)["paths"]["vectors"]
             for system, path in configs.items()}
    assert paths == {"stock-efficiency": None, "template": None, "floret": lever_vectors.as_posix()}
    # Without lever vectors, an extra system reads the template's (benchmark-tuned).
    assert benchmark.system_vectors("floret", template_vectors, None) == template_vectors
    costs = benchmark.one_off_costs(systems, None, {"floret": benchmark.LeverInputs(vectors=lever_vectors)})
    assert list(costs) == ["floret"] and costs["floret"]["vectors_words"] == 2_001_000
    section = benchmark.one_off_section(costs)
    assert "| `floret` | 2,001,000 | 612 | 880 | dim 100, rows 20000 |" in section
    assert benchmark.config_sources(systems, extra, ROOT / "configs" / "base.cfg", [], None,
                                    {"floret": benchmark.LeverInputs(vectors=lever_vectors)})["floret"].endswith(f"static vectors `{lever_vectors.as_posix()}`")


def test_a_pretrain_lever_starts_from_its_weights_and_the_table_states_their_one_off_cost(tmp_path: Path) -> None:
    pretrained = tmp_path / "pretrain"
    pretrained.mkdir()
    (pretrained / "tok2vec.bin").write_bytes(b"weights")
    srsly.write_json(pretrained / "pretrain.json", {
        "counts": {"train": {"texts": 2, "words": 1000}, "unlabelled": {"texts": 5, "words": 9_000_000}},
        "epochs": 1, "words_per_epoch": 5_000_123, "seconds": 1234.5, "peak_memory_mib": 640.0,
        "log": [{"nr_word": 4_730_203, "epoch": 0}]})
    levers = {"pretrain": benchmark.LeverInputs(pretrained=pretrained)}
    weights = levers["pretrain"].weights
    assert weights == pretrained / "tok2vec.bin"
    extra = {"pretrain": [ROOT / "configs" / "architecture" / "cnn.cfg"]}
    systems = ["stock-efficiency", "template", "pretrain"]
    budget = {"max_epochs": 0, "max_steps": 10, "eval_frequency": 5, "patience": 0}
    configs = benchmark.write_configs(systems, extra, ROOT / "configs" / "base.cfg", [], "pt", tmp_path / "configs",
                                      budget, levers=levers)
    loaded = {system: Config().from_disk(path, interpolate=False) for system, path in configs.items()}
    assert {system: config["paths"].get("init_tok2vec") for system, config in loaded.items()} == \
        {"stock-efficiency": None, "template": None, "pretrain": weights.as_posix()}
    # Without the [pretraining] block spaCy would silently not load the weights.
    assert loaded["pretrain"]["pretraining"]["component"] == "tok2vec"
    assert not loaded["template"].get("pretraining")
    costs = benchmark.one_off_costs(systems, None, levers)
    assert list(costs) == ["pretrain"] and costs["pretrain"]["pretrain_words"] == 4_730_203  # what spaCy read
    section = benchmark.one_off_section(costs)
    assert "| `pretrain` | 9,001,000 | 4,730,203 | 1 | 1,234 | 640 |" in section
    assert benchmark.config_sources(systems, extra, ROOT / "configs" / "base.cfg", [], levers=levers)[
        "pretrain"].endswith(f"pretrained tok2vec `{weights.as_posix()}`")


class FakeModel:
    """Processes texts as one-word docs, slowly in its first round only."""

    def __init__(self, slow_calls: int) -> None:
        self.slow_calls = slow_calls

    def __call__(self, text: str) -> list:
        if self.slow_calls > 0:
            self.slow_calls -= 1
            time.sleep(0.05)
        return [text]

    def pipe(self, texts: list, batch_size: int) -> list:
        return [self(text) for text in texts]


def test_speed_keeps_the_best_round_of_each_model() -> None:
    models = {"slow-start": FakeModel(slow_calls=4), "steady": FakeModel(slow_calls=0)}
    first = best_of_rounds_speeds({"slow-start": FakeModel(slow_calls=4)}, ["a", "b"], 0.01, rounds=1)
    best = best_of_rounds_speeds(models, ["a", "b"], 0.01, rounds=3)
    assert first["slow-start"]["batch"] < 100  # one slowed round alone
    assert best["slow-start"]["batch"] > 1000 and best["steady"]["single"] > 1000


def run_workflow_after_prepare(project: Path, workflow: str, options: List[str]) -> None:
    """A benchmark workflow's steps after `prepare` (run once, by the first workflow
    of the test), through weasel as the workflow runs them."""
    steps = srsly.read_yaml(project / "benchmarks" / "project.yml")["workflows"][workflow]
    assert steps[0] == "prepare", steps
    for step in steps[1:]:
        weasel(["run", step, "benchmarks", *options], project)


@pytest.mark.slow
def test_benchmark_workflows_write_tables_and_share_finished_runs(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", benchmarks=True)
    # The template's budget, edited where a user edits it: the benchmark trains with it.
    set_var_defaults(project, max_steps=20, eval_frequency=10, patience=0)
    # Unlabelled text for the levers below, in the default folder: the first
    # workflow's `prepare` removes what repeats dev or test.
    unlabelled = write_lines(project / "assets" / "unlabelled" / "news.txt",
                             ["O ministro visitou Coimbra ontem.", "A empresa abriu uma loja em Braga."])
    # Enough of it for static_vectors auto: the benchmarks' template is still the one without vectors.
    settings_file("vectors", project / "configs", auto_min_words=5)
    # One seed: the statistics over seeds are tested in-process (summarise).
    small = ["--vars.dataset", "sample", "--vars.seeds", "0", "--vars.speed_seconds", "0", "--vars.speed_rounds", "1"]
    weasel(["run", "configs", "benchmarks", *small], project)
    assert srsly.read_json(project / "training" / "vectors" / "sample" / "vectors.json") == {"method": "none"}
    results = srsly.read_json(project / "benchmarks" / "sample" / "results.json")
    assert [(r["system"], r["seed"], r["reused"]) for r in results["runs"]] == \
        [(s, 0, False) for s in DEFAULT_SYSTEMS]
    for system in DEFAULT_SYSTEMS:
        values = results["summary"][system]
        assert set(values["f"]) == {"mean", "std"} and values["seeds"] == [0]
        assert set(values["per_label_f"]) == {"PER", "ORG", "LOC", "MISC"}
        assert values["inference_batch"]["mean"] > 0 and values["peak_memory_mib"]["mean"] > 0
        assert set(values["vs_stock_efficiency"]) == {
            "f_points", "train_time_ratio", "inference_batch_ratio", "inference_single_ratio"}
    assert results["budget"] == {"max_epochs": 0, "max_steps": 20, "eval_frequency": 10, "patience": 0}
    assert results["speed_rounds"] == 1
    table = (project / "benchmarks" / "sample" / "results.md").read_text()
    assert "| system | seeds | dev score | F1 | P | R | ΔF1 (points) |" in table and "## F1 per label" in table
    assert all(run["corpus_md5"]["test"] == md5_file(project / "corpus" / "sample" / "test.spacy")
               for run in results["runs"])
    assert all(f"\n| `{s}` | " in table for s in DEFAULT_SYSTEMS)
    runs = project / "benchmarks" / "sample" / "runs"
    assert all((runs / f"{s}-s0" / "metrics.json").exists() for s in DEFAULT_SYSTEMS)

    # A tuned overlay, with two runs at a time (logs to files): the finished runs
    # of stock efficiency and the template are reused, only the tuned one trains.
    (project / "configs" / "optimize" / "tuned.cfg").write_text(
        "[components.tok2vec.model.encode]\nwidth = 64\n")
    before = (runs / "template-s0" / "run.json").read_bytes()
    run_workflow_after_prepare(project, "tuned", [*small, "--vars.tuned_seeds", "0", "--vars.parallel", "2"])
    tuned = srsly.read_json(project / "benchmarks" / "sample" / "tuned" / "results.json")
    assert [(r["system"], r["seed"], r["reused"]) for r in tuned["runs"]] == \
        [(s, 0, s != "tuned") for s in ("stock-efficiency", "template", "tuned")]
    assert (runs / "template-s0" / "run.json").read_bytes() == before
    log = (runs / "tuned-s0.log").read_text()
    assert tuned["parallel"] == 2 and "LOSS NER" in log and "\x1b[" not in log  # plain text
    config = Config().from_disk(runs / "tuned-s0" / "model-best" / "config.cfg", interpolate=False)
    assert config["components"]["tok2vec"]["model"]["encode"]["width"] == 64

    # The default lever (levers/<lever>.cfg) on the template's config, in a folder named
    # after it: stock efficiency and the template are reused, only the lever trains.
    lever_name = srsly.read_yaml(project / "benchmarks" / "project.yml")["vars"]["lever"]
    lever_overlay = read_overlay(project / "benchmarks" / "levers" / f"{lever_name}.cfg")
    run_workflow_after_prepare(project, "lever", small)
    lever_table = srsly.read_json(project / "benchmarks" / "sample" / lever_name / "results.json")
    assert [(r["system"], r["reused"]) for r in lever_table["runs"]] == \
        [("stock-efficiency", True), ("template", True), (lever_name, False)]
    assert lever_table["summary"][lever_name]["vs_stock_efficiency"]["inference_single_ratio"] > 0
    assert [run["config_md5"] for run in lever_table["runs"]] == [
        srsly.read_json(runs / f"{system}-s0" / "run.json")["config"]["settings_md5"]
        for system in ("stock-efficiency", "template", lever_name)]
    # The overlay is already in the lever's trained config and changes the template's.
    lever_config = Config().from_disk(runs / f"{lever_name}-s0" / "model-best" / "config.cfg", interpolate=False)
    template_config = Config().from_disk(runs / "template-s0" / "model-best" / "config.cfg", interpolate=False)
    assert lever_config.merge(lever_overlay) == lever_config
    assert template_config.merge(lever_overlay) != template_config

    # A table of the runs finished so far: seed 1 is listed as not run, not trained.
    run(["python", "-m", "bench.configs", "../corpus/sample", "partial", "--runs-dir", str(runs),
         "--systems", "stock-efficiency,template", "--extra", "tuned=../configs/optimize/tuned.cfg",
         "--lang", "pt", "--base", "../configs/base.cfg", "--overlay", "../configs/architecture/cnn.cfg",
         "--overlay", "../configs/optimize/efficiency.cfg", "--seeds", "0,1", "--gpu-id", "-1",
         "--budget-config", "../training/bench-sample/config.cfg", "--vectors", "../training/vectors/sample",
         "--parallel", "1", "--speed-seconds", "0", "--speed-rounds", "1", "--finished-only",
         "--cannot-run", "transformer=no GPU"],
        project / "benchmarks", check=True)
    partial = srsly.read_json(project / "benchmarks" / "partial" / "results.json")
    assert partial["cannot_run"] == {"transformer": "no GPU"}
    assert partial["not_run"] == [{"system": s, "seed": 1} for s in ("stock-efficiency", "template", "tuned")]
    assert {r["seed"] for r in partial["runs"]} == {0} and not (runs / "template-s1").exists()
    assert "`../configs/optimize/tuned.cfg`" in (project / "benchmarks" / "sample" / "tuned" / "results.md").read_text()

    # Unlabelled text: floret vectors trained on it for the lever (tiny settings), which
    # trains beside the reused stock and template runs, named after its text
    # (unlabelled_lever) so that tables of other texts sit beside it.
    tiny_vectors = settings_file("vectors", project / "benchmarks" / "levers", dim=12, rows=300, epochs=2)
    run_workflow_after_prepare(project, "unlabelled", [
        *small, "--vars.vectors_settings", tiny_vectors.relative_to(project / "benchmarks").as_posix(),
        "--vars.unlabelled_lever", "news"])
    lever = srsly.read_json(project / "benchmarks" / "sample" / "news" / "results.json")
    assert [(r["system"], r["reused"]) for r in lever["runs"]] == \
        [("stock-efficiency", True), ("template", True), ("news_floret", False)]
    assert lever["one_off"]["news_floret"]["vectors_words"] > 0
    vectors_record = srsly.read_json(project / "benchmarks" / "vectors" / "sample" / "news" / "vectors.json")
    assert vectors_record["counts"]["unlabelled"]["texts"] == 2
    inputs = srsly.read_json(runs / "news_floret-s0" / "run.json")["inputs"]
    assert inputs["vectors"]["path"] == "vectors/sample/news" and unlabelled.exists()

    # Distillation: the finished template run is the teacher (not retrained), its
    # silver corpus is what the lever trains on beside gold; stock and template are reused.
    run_workflow_after_prepare(project, "distill", [*small, "--vars.teacher_seeds", "0"])
    report = srsly.read_json(project / "benchmarks" / "silver" / "sample_report.json")
    assert [teacher["run"] for teacher in report["key"]["teacher"]] == ["sample/runs/template-s0"]
    assert report["read"]["sentences"] == report["kept"]["sentences"] == 2  # one model agrees with itself
    assert (runs / "template-s0" / "run.json").read_bytes() == before
    distilled = srsly.read_json(project / "benchmarks" / "sample" / "distill" / "results.json")
    assert [(r["system"], r["reused"]) for r in distilled["runs"]] == \
        [("stock-efficiency", True), ("template", True), ("distill", False)]
    silver = srsly.read_json(runs / "distill-s0" / "run.json")["inputs"]["silver"]
    assert silver["docs"] == 2 and "silver/sample.spacy" in distilled["configs"]["distill"]
    assert (distilled["one_off"]["distill"]["silver_teachers"], distilled["one_off"]["distill"]["silver_sentences"]) == (1, 2)
    assert "## One-off cost (silver corpus" in (project / "benchmarks" / "sample" / "distill" / "results.md").read_text()

    # Pretraining: the template's pretrain step on the prepared text, within a word budget;
    # the lever starts from those weights, stock and template are reused.
    run_workflow_after_prepare(project, "pretrain", [*small, "--vars.pretrain_words", "300"])
    record = srsly.read_json(project / "training" / "bench-sample-pretrain" / "pretrain" / "pretrain.json")
    assert record["epochs"] == 1 and record["counts"]["unlabelled"]["texts"] == 2
    pretrained = srsly.read_json(project / "benchmarks" / "sample" / "pretrain" / "results.json")
    assert [(r["system"], r["reused"]) for r in pretrained["runs"]] == \
        [("stock-efficiency", True), ("template", True), ("pretrain", False)]
    weights = srsly.read_json(runs / "pretrain-s0" / "run.json")["inputs"]["init_tok2vec"]
    assert weights["md5"] == md5_file(project / "training" / "bench-sample-pretrain" / "pretrain" / "tok2vec.bin")
    assert pretrained["one_off"]["pretrain"]["pretrain_words"] == record["log"][-1]["nr_word"] <= 300
    assert "## One-off cost (pretrained tok2vec" in (project / "benchmarks" / "sample" / "pretrain" / "results.md").read_text()

    # All levers in one table: each lever's runs above are reused, only the
    # combination of floret vectors and silver data trains, with both inputs.
    weasel(["run", "benchmark-levers", "benchmarks", *small, "--vars.unlabelled_lever", "news"], project)
    levers = srsly.read_json(project / "benchmarks" / "sample" / "levers" / "results.json")
    assert [(r["system"], r["reused"]) for r in levers["runs"]] == \
        [("stock-efficiency", True), ("template", True), ("news_floret", True), ("pretrain", True),
         ("distill", True), ("news_floret_distill", False)]
    inputs = srsly.read_json(runs / "news_floret_distill-s0" / "run.json")["inputs"]
    assert inputs["vectors"]["path"] == "vectors/sample/news" and inputs["silver"]["docs"] == 2
    assert "init_tok2vec" not in inputs
    assert set(levers["one_off"]["news_floret_distill"]) >= {"vectors_words", "silver_words"}
    assert set(levers["one_off"]) == {"news_floret", "pretrain", "distill", "news_floret_distill"}

    # Annotation rounds: round 0 shared, one round of each strategy; two seeds (the committee).
    tiny_active = project / "benchmarks" / "levers" / "tiny_active.yml"
    srsly.write_yaml(tiny_active, {**srsly.read_yaml(ROOT / "benchmarks" / "active.yml"), "start": 0.3, "step": 0.2,
                                   "rounds": 1, "max_steps": 10, "eval_frequency": 5, "patience": 0})
    run_workflow_after_prepare(project, "active", [
        *small, "--vars.seeds", "0,1", "--vars.parallel", "2",
        "--vars.active_settings", tiny_active.relative_to(project / "benchmarks").as_posix()])
    active = srsly.read_json(project / "benchmarks" / "sample" / "active" / "results.json")
    pool = active["pool"]["units"]
    assert [(r["strategy"], r["round"], r["units"]) for r in active["rounds"]] == [
        ("random", 0, round(0.3 * pool)), ("committee", 0, round(0.3 * pool)),
        ("random", 1, round(0.3 * pool) + round(0.2 * pool)), ("committee", 1, round(0.3 * pool) + round(0.2 * pool))]
    assert active["rounds"][0]["values"] == active["rounds"][1]["values"]  # round 0 is one set of runs
    assert set(active["verdicts"]) == {"committee"} and active["budget"]["max_steps"] == 10
    for strategy in ("random", "committee"):
        selection = srsly.read_json(runs / "active" / f"{strategy}-r1" / "selection.json")
        assert not set(selection["added"]) & set(selection["from"])
    assert (project / "benchmarks" / "sample" / "active" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "| round | pool share % |" in (project / "benchmarks" / "sample" / "active" / "results.md").read_text()

    # Cross-validation of the default lever on two folds of train and dev, two runs at a
    # time. The test split is not read (it is made unreadable first); run again, it
    # retrains nothing.
    (project / "corpus" / "sample" / "test.spacy").write_bytes(b"not a DocBin")
    crossval_options = [*small, "--vars.crossval_folds", "2", "--vars.parallel", "2"]
    run_workflow_after_prepare(project, "crossval", crossval_options)
    lever = srsly.read_yaml(project / "benchmarks" / "project.yml")["vars"]["lever"]
    table = project / "benchmarks" / "sample" / "crossval" / lever / "results.json"
    crossval = srsly.read_json(table)
    assert [(r["system"], r["fold"], r["reused"]) for r in crossval["runs"]] == \
        [(system, fold, False) for fold in (0, 1) for system in ("template", lever)]
    assert [fold["fold"] for fold in crossval["folds"]] == [0, 1]
    assert set(crossval["summary"][lever]["vs_template"]) >= {"gain_by_fold", "p_paired", "p_corrected"}
    weasel(["run", "benchmark-crossval", "benchmarks", *crossval_options, "--force"], project)
    assert all(run["reused"] for run in srsly.read_json(table)["runs"])

    # The floret lever cross-validated: vectors per fold, from the prepared text without the
    # sentences of the fold's held-out block. A training sentence planted in the prepared text
    # (prepare keeps it: it repeats neither dev nor test) is removed for the fold that holds
    # it out and kept for the other. The template's runs above are reused.
    prepared = project / "corpus" / "sample" / "unlabelled.txt.gz"
    planted = next(iter(DocBin().from_disk(project / "corpus" / "sample" / "train.spacy")
                        .get_docs(spacy.blank("pt").vocab))).text
    with gzip.open(prepared, "at", encoding="utf8") as file:
        file.write(planted + "\n")
    vectors_options = [*crossval_options, "--vars.unlabelled_lever", "news",
                       "--vars.vectors_settings", tiny_vectors.relative_to(project / "benchmarks").as_posix()]
    run_workflow_after_prepare(project, "crossval-vectors", vectors_options)
    vectors_table = project / "benchmarks" / "sample" / "crossval" / "news_floret" / "results.json"
    floret = srsly.read_json(vectors_table)
    assert [(r["system"], r["fold"], r["reused"]) for r in floret["runs"]] == \
        [(system, fold, system == "template") for fold in (0, 1) for system in ("template", "news_floret")]
    assert [record["removed"]["exact"] for record in floret["fold_vectors"]] == [1, 0]
    folds_dir = project / "benchmarks" / "sample" / "runs" / "crossval" / "folds"
    for fold in (0, 1):
        inputs = srsly.read_json(folds_dir.parent / f"news_floret-f{fold}-s0" / "run.json")["inputs"]
        assert inputs["vectors"]["path"] == f"sample/runs/crossval/folds/fold-{fold}/vectors"
        record = srsly.read_json(folds_dir / f"fold-{fold}" / "vectors" / "vectors.json")
        assert record["counts"]["train"]["texts"] == floret["folds"][fold]["train_docs"]
    assert "## Static vectors per fold" in vectors_table.with_suffix(".md").read_text()
    vectors_made = (folds_dir / "fold-0" / "vectors" / "vectors.json").read_bytes()
    weasel(["run", "benchmark-crossval-vectors", "benchmarks", *vectors_options, "--force"], project)
    assert all(run["reused"] for run in srsly.read_json(vectors_table)["runs"])
    assert (folds_dir / "fold-0" / "vectors" / "vectors.json").read_bytes() == vectors_made


def test_a_failed_run_stops_the_benchmark_before_later_runs_start(tmp_path: Path, monkeypatch) -> None:
    started = []

    def fake_train(config: Path, corpus_dir: Path, run_dir: Path, *args, **kwargs) -> None:
        started.append(run_dir.name)
        if run_dir.name == "template-s0":
            raise UserError("run failed (exit code 1)")

    monkeypatch.setattr(benchmark, "train_and_evaluate", fake_train)
    jobs = [{"system": s, "seed": 0, "config": tmp_path / f"{s}.cfg", "run_dir": tmp_path / f"{s}-s0",
             "reused": s == "stock-efficiency"} for s in ("stock-efficiency", "template", "other")]
    with pytest.raises(UserError, match="exit code 1"):
        benchmark.train_all(jobs, tmp_path, -1, parallel=1, speed_seconds=0)
    assert started == ["template-s0"]  # the finished run is reused, the one after the failure never starts


@pytest.mark.slow
def test_sigterm_stops_a_parallel_benchmark_and_its_training_runs(corpus_and_config: Path,
                                                                   tmp_path: Path) -> None:
    runs_dir = tmp_path / "out" / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.configs", str(corpus_and_config / "corpus"), str(tmp_path / "out"),
         "--systems", "stock-efficiency,template", "--seeds", "0", "--lang", "pt",
         "--base", str(ROOT / "configs" / "base.cfg"), "--gpu-id", "-1", "--speed-seconds", "0.2",
         "--budget-config", str(corpus_and_config / "long.cfg"), "--parallel", "2"],
        cwd=ROOT / "benchmarks", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(list(runs_dir.glob("*/.staging-*/train_log.jsonl"))) == 2,
             "the two runs never started")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert not list(runs_dir.glob("*/.staging-*"))
    assert not (tmp_path / "out" / "results.json").exists()
    leftover = subprocess.run(["pgrep", "-f", str(runs_dir)], capture_output=True, text=True).stdout
    assert not leftover.strip(), f"training processes left running: {leftover}"


@pytest.mark.parametrize("env, affixes", [({}, [["T", "S"], ["nal", "ior"]]),
                                          ({"AFFIX_PREFIX": "3"}, [["Tri", "Sup"], ["nal", "ior"]]),
                                          ({"AFFIX_SUFFIX": "4"}, [["T", "S"], ["unal", "rior"]])])
def test_the_affix_lengths_lever_sets_the_hashed_affixes_of_every_process(env: dict, affixes: list) -> None:
    """NOTES.md's longer-affixes runs: the lever is a sitecustomize on PYTHONPATH."""
    code = ("import json, spacy; doc = spacy.blank('pt')('Tribunal Superior'); "
            "print(json.dumps([[t.prefix_ for t in doc], [t.suffix_ for t in doc]]))")
    environment = {**os.environ, "PYTHONPATH": str(LEVERS / "affix_lengths"), **env}
    output = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    assert json.loads(output.stdout) == affixes


MENTION_SWAP_CHECK = """
import json, random, sys
import spacy
from spacy import registry
from spacy.tokens import Doc, DocBin
from spacy.training import Example

nlp = spacy.blank("pt")
pool = [Doc(nlp.vocab, words=["Ana", "Maria", "Souza", "depôs", "no", "Supremo", "Tribunal", "Federal"],
            ents=["B-PESSOA", "I-PESSOA", "I-PESSOA", "O", "O", "B-ORG", "I-ORG", "I-ORG"])]
DocBin(docs=pool).to_disk(sys.argv[1])
reference = Doc(nlp.vocab, words=["O", "juiz", "Rui", "ouviu", "a", "Caixa", "ontem", "."],
                spaces=[True, True, True, True, True, True, False, False],
                ents=["O", "O", "B-PESSOA", "O", "O", "B-ORG", "O", "O"])
example = Example(nlp.make_doc(reference.text), reference)
augment = registry.augmenters.get("lever.mention_swap.v1")
random.seed(0)
swapped = list(augment(level=1.0, source=sys.argv[1])(nlp, example))
kept = list(augment(level=0.0, source=sys.argv[1])(nlp, example))
print(json.dumps({
    "swapped": [[(e.text, e.label_) for e in eg.reference.ents] for eg in swapped],
    "texts": [[eg.reference.text, eg.predicted.text] for eg in swapped],
    "kept": [eg is example for eg in kept],
}))
"""


def test_the_mention_swap_lever_replaces_each_mention_by_a_training_mention_of_its_label(tmp_path: Path) -> None:
    """NOTES.md's mention-swap runs: the lever is a sitecustomize on PYTHONPATH that
    registers the augmenter mention_swap.cfg names; words around the mentions stay."""
    environment = {**os.environ, "PYTHONPATH": str(LEVERS / "mention_swap")}
    output = subprocess.run([sys.executable, "-c", MENTION_SWAP_CHECK, str(tmp_path / "train.spacy")],
                            env=environment, capture_output=True, text=True, check=True)
    result = json.loads(output.stdout)
    assert result["swapped"] == [[["Ana Maria Souza", "PESSOA"], ["Supremo Tribunal Federal", "ORG"]]]
    assert result["texts"] == [["O juiz Ana Maria Souza ouviu a Supremo Tribunal Federal ontem."] * 2]
    assert result["kept"] == [True]


def test_the_upper_case_lever_writes_whole_sentences_in_capitals_and_keeps_their_tags() -> None:
    """NOTES.md's upper-case runs: each sentence, or none of it, in capitals; the
    tags and the alignment stay, and a letter whose capital is longer stays."""
    import_lever_code(LEVERS / "upper_case")
    nlp = spacy.blank("pt")
    words = ["A", "Straße", "de", "Ana", ".", "Rui", "mora", "em", "Lisboa", "."]
    reference = Doc(nlp.vocab, words=words, spaces=[True, True, True, False, True, True, True, True, False, False],
                    sent_starts=[True, False, False, False, False, True, False, False, False, False],
                    ents=["O", "O", "O", "B-PER", "O", "B-PER", "O", "O", "B-LOC", "O"])
    example = Example(nlp.make_doc(reference.text), reference)
    augment = registry.augmenters.get("lever.upper_case.v1")
    (every,) = augment(level=1.0)(nlp, example)
    assert every.reference.text == every.predicted.text == "A STRAßE DE ANA. RUI MORA EM LISBOA."
    assert [(e.text, e.label_) for e in every.reference.ents] == [("ANA", "PER"), ("RUI", "PER"), ("LISBOA", "LOC")]
    assert every.get_aligned_ner() == ["O", "O", "O", "U-PER", "O", "U-PER", "O", "O", "U-LOC", "O"]
    assert list(augment(level=0.0)(nlp, example)) == [example]
    unannotated = Doc(nlp.vocab, words=["Rui", "mora", "aqui"], sent_starts=[True, False, False], ents=["B-PER", None, "O"])
    (kept,) = augment(level=1.0)(nlp, Example(nlp.make_doc(unannotated.text), unannotated))
    assert [token.ent_iob_ for token in kept.reference] == ["B", "", "O"]  # a token without a tag stays without
    random.seed(1)
    sentences = {tuple(sentence.ents[0].text.isupper() for sentence in eg.reference.sents)
                 for _ in range(20) for eg in augment(level=0.5)(nlp, example)}
    assert sentences == {(False, False), (True, False), (False, True), (True, True)}


def test_the_bilstm_lever_gives_each_word_the_whole_sentence() -> None:
    """NOTES.md's BiLSTM probe: the first word's vector depends on the last word,
    ten words away, which the committed CNN (four words either side) never sees."""
    import_lever_code(LEVER_CODE["bilstm.cfg"])
    nlp = load_model_from_config(build_config(ROOT / "configs" / "base.cfg", [LEVERS / "bilstm.cfg"], "pt",
                                              {"max_steps": 20000}), auto_fill=True, validate=True)
    nlp.initialize()
    tok2vec = nlp.get_pipe("tok2vec").model
    words = "a lei foi aprovada pelo congresso e publicada no diário oficial".split()

    def first_word_vector(last_word: str):
        return tok2vec.predict([nlp.make_doc(" ".join([*words, last_word]))])[0][0]

    assert tok2vec.get_dim("nO") == 112
    assert abs(first_word_vector("ontem") - first_word_vector("hoje")).max() > 1e-6
