"""End-to-end: the real workflow through `weasel run` on a copy of the project.

The copy's project.yml gets a small training budget (the only change), so a full
`weasel run all` takes about half a minute. One module-level run is shared;
tests that change files work on their own copy of the trained project.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List, Optional, Set, Tuple

import pytest
import srsly

from scripts.lib.processes import DaskCluster, answers, free_port
from scripts.lib.files import checksum, md5_file, md5_path
from scripts.lib.run_record import best_entry, patience_needed, read_log, read_provenance, settings_md5
from scripts.lib.seeds import parse_seeds

from .conftest import (ROOT, built_once, copy_project, render_page, run, set_var_defaults, settings_file,
                       terminate_weasel, wait_for, weasel)

pytestmark = pytest.mark.slow

RUN = "sample-cnn-efficiency-s0"
STEPS = ["fetch", "preprocess", "prepare-unlabelled", "train-vectors", "distill", "create-config", "pretrain",
         "check-data", "train", "evaluate", "profile", "report", "package"]
# Steps that always run (no_skip), and decide for themselves whether there is work.
ALWAYS = {"fetch", "distill"}
SMALL_VARS = {"max_steps": 50, "eval_frequency": 10, "patience": 0, "speed_seconds": 0}
PACKAGE_NAME = "pt_sample_cnn_efficiency_s0"
IMAGE_CHECK = """
window.addEventListener("load", () => {
  const ok = [...document.images].every((img) => img.complete && img.naturalWidth > 0);
  document.body.setAttribute("data-images-loaded", ok ? "yes" : "no");
});
"""
PACKAGE = f"packages/{PACKAGE_NAME}-0.1.0"


def run_all(project: Path, *args: str, check: bool = True) -> Set[str]:
    """Run the workflow; return the names of the steps that ran (not skipped).
    ALWAYS run: fetch checks the assets and lists the dataset's files, distill
    compares its teacher with its record."""
    result = weasel(["run", "all", ".", *args], project, check=check)
    skipped = set(re.findall(r"Skipping '([\w-]+)'", result.stdout))
    return set(STEPS) - skipped


def train_project(folder: Path) -> None:
    project = copy_project(folder)
    set_var_defaults(project, **SMALL_VARS)
    assert run_all(project) == set(STEPS)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflow run once on the sample, shared by the tests (never written to)."""
    return built_once(tmp_path_factory, "trained-project", train_project)


@pytest.fixture
def trained_copy(trained: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "project", symlinks=True))


def test_all_outputs_exist_with_overall_and_per_label_metrics(trained: Path) -> None:
    run_dir = trained / "training" / RUN
    for name in ("config.cfg", "debug_data.txt", "model-best", "model-last", "train_log.jsonl",
                 "run.json", "metrics.json", "metrics.md"):
        assert (run_dir / name).exists(), name
    for split in ("train", "dev", "test"):
        assert (trained / "corpus" / "sample" / f"{split}.spacy").is_file()
    metrics = srsly.read_json(run_dir / "metrics.json")
    assert set(metrics["overall"]) == {"p", "r", "f", "support"}
    assert set(metrics["per_label"]) == {"PER", "ORG", "LOC", "MISC"}
    assert all(set(v) == {"p", "r", "f", "support"} for v in metrics["per_label"].values())
    assert metrics["test"]["path"] == "corpus/sample/test.spacy"
    speed = metrics["speed"]
    assert speed["words_per_second"] > 0
    assert (speed["min_seconds"], speed["passes"]) == (SMALL_VARS["speed_seconds"], 1)  # the var reaches evaluate
    assert "| **overall** |" in (run_dir / "metrics.md").read_text()
    assert list((trained / PACKAGE / "dist").glob("*.whl"))


def test_run_manifest_records_seed_checksums_versions_and_speed(trained: Path) -> None:
    run_dir = trained / "training" / RUN
    manifest = srsly.read_json(run_dir / "run.json")
    assert manifest["run"] == RUN and manifest["seed"] == 0
    assert manifest["config"]["md5"] == md5_file(run_dir / "config.cfg")
    assert manifest["config"]["settings_md5"] == settings_md5(run_dir / "config.cfg")
    assert manifest["corpus"]["train"]["md5"] == md5_file(trained / "corpus/sample/train.spacy")
    assert manifest["corpus"]["dev"]["md5"] == md5_file(trained / "corpus/sample/dev.spacy")
    assert manifest["training"]["max_steps"] == manifest["training"]["steps"] == SMALL_VARS["max_steps"]
    assert manifest["training"]["words_per_second"] > 0 and manifest["wall_time_seconds"] > 0
    assert manifest["peak_memory_mib"] > 50
    assert manifest["environment"]["versions"]["spacy"].startswith("3.8")
    assert manifest["environment"]["versions"]["weasel"]
    log = read_log(run_dir / "train_log.jsonl")
    every = SMALL_VARS["eval_frequency"]
    assert [entry["step"] for entry in log] == list(range(0, SMALL_VARS["max_steps"] + 1, every))
    assert manifest["training"]["patience_needed"] == patience_needed(log)
    assert (trained / "training" / "latest").read_text().strip() == RUN
    # The saved pipeline's config does not depend on this project's logger.
    assert "ner_template" not in (run_dir / "model-best" / "config.cfg").read_text()


def test_second_run_skips_every_step(trained_copy: Path) -> None:
    assert run_all(trained_copy) == ALWAYS


def edit_sample(project: Path, text: str, update_checksum: bool = True) -> None:
    """Replace the shipped sample, updating its checksum in project.yml as its message says."""
    sample = project / "assets" / "sample" / "ner_pt.jsonl"
    old_md5 = md5_file(sample)
    sample.write_text(text, encoding="utf8")
    if update_checksum:
        config = project / "project.yml"
        config.write_text(config.read_text().replace(old_md5, md5_file(sample)))


def test_editing_the_sample_reruns_preprocess_and_everything_after(trained_copy: Path) -> None:
    sample = trained_copy / "assets" / "sample" / "ner_pt.jsonl"
    extra = [{"text": f"A empresa Nova Aurora {i} abriu uma loja em Lisboa.", "entities": [[10, 21, "ORG"]]}
             for i in range(12)]
    original = sample.read_text(encoding="utf8")
    edited = original + "".join(srsly.json_dumps(r) + "\n" for r in extra)
    # An edited shipped asset is caught at once, with the checksum to put in project.yml.
    edit_sample(trained_copy, edited, update_checksum=False)
    result = weasel(["run", "all", "."], trained_copy, check=False)
    assert result.returncode == 1
    assert f'update its checksum in project.yml to "{md5_file(sample)}"' in result.stderr
    edit_sample(trained_copy, original, update_checksum=False)
    edit_sample(trained_copy, edited)
    # train-vectors and pretrain rerun on the new train split, but switched off they
    # write the same record, so create-config is skipped.
    assert run_all(trained_copy) == ALWAYS | {"preprocess", "prepare-unlabelled", "train-vectors", "pretrain",
                                              "check-data", "train", "evaluate", "profile", "report", "package"}


def test_another_seed_then_the_default_reuses_the_finished_run(trained_copy: Path) -> None:
    run_dir = trained_copy / "training" / RUN
    before = md5_path(run_dir / "model-best")
    stale = run_dir / ".staging-999999"  # left by a killed run (no such pid)
    stale.mkdir()
    for step in ("create-config", "pretrain", "train"):
        weasel(["run", step, ".", "--vars.seed", "1"], trained_copy)
    weasel(["run", "create-config", "."], trained_copy)
    result = weasel(["run", "train", "."], trained_copy)  # weasel's lock says: rerun
    assert "reused, not retrained" in result.stdout
    assert md5_path(run_dir / "model-best") == before
    assert not stale.exists() and "Removed" in result.stdout
    run = srsly.read_json(run_dir / "run.json")
    assert run["training"]["best_step"] == best_entry(read_log(run_dir / "train_log.jsonl"))["step"]


def test_a_table_format_change_reruns_only_the_steps_that_write_tables(trained_copy: Path) -> None:
    tables = trained_copy / "scripts" / "lib" / "tables.py"
    tables.write_text(tables.read_text() + "\n# a formatting change\n")
    assert run_all(trained_copy, "--dry") == ALWAYS | {"evaluate", "report"}


def test_editing_the_base_config_retrains_without_preprocessing(trained_copy: Path) -> None:
    base = trained_copy / "configs" / "base.cfg"
    base.write_text(base.read_text().replace("dropout = 0.1", "dropout = 0.2"))
    assert run_all(trained_copy) == ALWAYS | {"create-config", "pretrain", "check-data", "train",
                                              "evaluate", "profile", "report", "package"}
    config = (trained_copy / "training" / RUN / "model-best" / "config.cfg").read_text()
    assert "dropout = 0.2" in config


def test_static_vectors_and_pretraining_from_unlabelled_text_through_the_workflow(
        trained_copy: Path) -> None:
    # The sample has no unlabelled text: static_vectors auto trained none, and says at what size it would.
    vectors_record = trained_copy / "training" / "vectors" / "sample" / "vectors.json"
    vectors_yml = trained_copy / "configs" / "vectors.yml"
    assert srsly.read_json(vectors_record) == {"method": "none",
                                               "auto_min_words": srsly.read_yaml(vectors_yml)["auto_min_words"]}
    unlabelled = trained_copy / "assets" / "unlabelled" / "news.txt"
    unlabelled.write_text("O ministro visitou Coimbra ontem.\nA empresa abriu em Braga.\n", encoding="utf8")
    # Text of the threshold's size switches floret vectors on, with the default var (auto).
    settings_file("vectors", vectors_yml.parent, auto_min_words=12)
    switched_on = ["--vars.pretrain_words", "50"]

    # The steps that change with the text, the threshold and the var (the others run in every workflow test).
    for step in ("prepare-unlabelled", "train-vectors", "create-config", "pretrain", "train"):
        weasel(["run", step, ".", *switched_on], trained_copy)
    run_dir = trained_copy / "training" / RUN
    inputs = srsly.read_json(run_dir / "run.json")["inputs"]
    vectors_input, pretrained_input = inputs["vectors"], inputs["init_tok2vec"]
    assert (vectors_input["path"], vectors_input["md5"]) == (
        "training/vectors/sample", md5_path(trained_copy / "training" / "vectors" / "sample"))
    assert pretrained_input["md5"] == md5_file(run_dir / "pretrain" / "tok2vec.bin")
    # The prepared unlabelled text both learnt from, its MD5 and size, in run.json and the package meta.
    prepared = "corpus/sample/unlabelled.txt.gz"
    for learnt in (vectors_input["learnt_from"], pretrained_input["learnt_from"]):
        assert learnt["inputs"][prepared] == checksum(trained_copy / prepared)
        assert learnt["counts"]["unlabelled"] == {"texts": 2, "words": 12}
    assert pretrained_input["learnt_from"]["budget_words"] == 50  # compare tells budgets apart by it
    assert read_provenance(run_dir)["inputs"] == inputs
    pretrained = srsly.read_json(run_dir / "pretrain" / "pretrain.json")
    # 50 words of a longer text: one epoch over an even sample of it.
    assert (pretrained["budget_words"], pretrained["epochs"]) == (50, 1) and pretrained["words_per_epoch"] <= 100
    vectors = srsly.read_json(vectors_record)
    assert (vectors["method"], vectors["counts"]["unlabelled"]) == ("floret", {"texts": 2, "words": 12})
    config = (run_dir / "model-best" / "config.cfg").read_text(encoding="utf8")
    assert "include_static_vectors = true" in config
    assert not run_all(trained_copy, *switched_on, "--dry") & {"train-vectors", "create-config", "pretrain",
                                                               "train"}
    # New unlabelled text: it is prepared again, then both steps learn again and the run retrains.
    unlabelled.write_text("Outro texto sem rótulos.\n", encoding="utf8")
    assert "prepare-unlabelled" in run_all(trained_copy, *switched_on, "--dry")
    weasel(["run", "prepare-unlabelled", "."], trained_copy)
    would_run = run_all(trained_copy, *switched_on, "--dry")
    assert would_run >= {"train-vectors", "pretrain"} and not would_run & {"preprocess", "create-config"}


def test_same_seed_gives_identical_test_scores(trained_copy: Path) -> None:
    first = srsly.read_json(trained_copy / "training" / RUN / "metrics.json")
    ran = run_all(trained_copy, "--vars.run", "repeat")
    assert ran == ALWAYS | {"create-config", "pretrain", "check-data", "train", "evaluate", "profile",
                            "report", "package"}
    second = srsly.read_json(trained_copy / "training" / "repeat" / "metrics.json")
    assert (second["overall"], second["per_label"]) == (first["overall"], first["per_label"])
    assert (trained_copy / "training" / "latest").read_text().strip() == "repeat"
    assert (trained_copy / "training" / RUN / "metrics.json").exists()  # earlier run kept


def test_bad_input_stops_the_workflow_and_keeps_earlier_outputs(trained_copy: Path) -> None:
    # Not the fetch manifest: fetch succeeds and lists the edited file.
    corpus = [trained_copy / "corpus" / "sample" / name
              for name in ("train.spacy", "dev.spacy", "test.spacy", "data_report.json")]
    outputs = [*corpus, trained_copy / "training" / RUN, trained_copy / PACKAGE]
    before = [md5_path(path) for path in outputs]
    sample = trained_copy / "assets" / "sample" / "ner_pt.jsonl"
    lines = sample.read_text(encoding="utf8").splitlines()
    lines[11] = lines[11][:-5]  # truncate line 12 mid-record
    edit_sample(trained_copy, "\n".join(lines) + "\n")
    result = weasel(["run", "all", "."], trained_copy, check=False)
    assert result.returncode != 0
    assert "assets/sample/ner_pt.jsonl:12: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert [md5_path(path) for path in outputs] == before


def test_package_installs_into_a_fresh_environment_and_runs(trained: Path, tmp_path: Path) -> None:
    (wheel,) = (trained / PACKAGE / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("METADATA"))
        assert not any(n.startswith(("build/", "../")) for n in archive.namelist())
    assert re.search(r"^Requires-Dist: spacy ?[<>]", metadata, flags=re.M), metadata
    assert not list((trained / PACKAGE).glob("*.egg-info")) and not (trained / PACKAGE / "build").exists()
    # A plain venv, as a user would make one: spaCy comes from the declared requirement.
    env = tmp_path / "venv"
    subprocess.run([_base_python(), "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=900)
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"no package index reachable to install spaCy into a fresh venv: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stdout + install.stderr
    code = (f"import spacy, json; nlp = spacy.load('{PACKAGE_NAME}');"
            "doc = nlp('A ministra Ana Costa visitou a Companhia Aurora em Lisboa.');"
            "print(json.dumps({'ents': [(e.text, e.label_) for e in doc.ents], 'meta': nlp.meta}))")
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = srsly.json_loads(result.stdout)
    assert output["meta"]["name"] == PACKAGE_NAME[3:] and output["meta"]["lang"] == "pt"
    assert output["meta"]["license"] == "MIT"  # the sample asset's declared licence
    assert set(output["meta"]["labels"]["ner"]) == {"PER", "ORG", "LOC", "MISC"}
    assert output["meta"]["performance"]["ents_f"] == \
        srsly.read_json(trained / "training" / RUN / "metrics.json")["overall"]["f"]
    assert output["meta"]["sources"][0]["name"] == "assets/sample/ner_pt.jsonl"
    assert output["meta"]["ner_template"]["seed"] == 0
    assert isinstance(output["ents"], list)


def test_a_package_name_that_starts_with_the_language_code_builds_and_loads(trained: Path,
                                                                            tmp_path: Path) -> None:
    # The default name of a dataset called like its language ("pt", "pt_legal"):
    # spaCy's package command alone writes a setup.py that cannot build it.
    run(["python", "-m", "scripts.package", f"training/{RUN}/model-best", str(tmp_path / "packages"),
         "--name", "pt_legal", "--version", "0.1.0", "--data-report", "corpus/sample/data_report.json",
         "--manifest", "corpus/sample/assets.json", "--license", "auto"], trained, check=True)
    (wheel,) = (tmp_path / "packages" / "pt_pt_legal-0.1.0" / "dist").glob("pt_pt_legal-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("METADATA"))
    assert "`pt_pt_legal`" in metadata and "pt_pt_pt" not in metadata  # the readme's name
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps",
                    "--target", str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    code = (f"import sys, json; sys.path.insert(0, {str(site)!r}); import spacy; nlp = spacy.load('pt_pt_legal');"
            "print(json.dumps([nlp.meta['name'], nlp.meta['lang'], nlp.pipe_names]))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == ["pt_legal", "pt", ["tok2vec", "ner"]]


def _base_python() -> str:
    """The interpreter a venv's python was made from (a venv made from a venv's
    python shares its base), so the test venv is plain wherever the tests run."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")


def test_push_then_pull_into_a_fresh_copy_skips_every_pulled_step(trained: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    weasel(["push", str(remote), "."], trained)
    fresh = copy_project(tmp_path / "fresh")
    shutil.copy(trained / "project.yml", fresh / "project.yml")
    # The fetch manifest is never cached (fetch always runs): make it, then pull.
    weasel(["run", "fetch", "."], fresh)
    weasel(["pull", str(remote), "."], fresh)
    assert (fresh / "training" / RUN / "model-best" / "meta.json").exists()
    assert (fresh / PACKAGE).is_dir()
    assert run_all(fresh) == ALWAYS


def test_clean_removes_generated_outputs_only(trained_copy: Path) -> None:
    weasel(["run", "clean", "."], trained_copy)
    for name in ("corpus", "training", "packages"):
        assert not (trained_copy / name).exists(), name
    # weasel records the clean command itself after it ran: no step is left marked as done.
    assert set(srsly.read_yaml(trained_copy / "project.lock")) == {"clean"}
    assert (trained_copy / "assets" / "sample" / "ner_pt.jsonl").is_file()
    assert (trained_copy / "configs" / "base.cfg").is_file()


def test_report_files_and_jsonl_errors(trained: Path) -> None:
    run_dir = trained / "training" / RUN
    markdown = (run_dir / "report.md").read_text()
    for heading in ("## Test scores", "## Label confusion", "## Entities seen and unseen in train"):
        assert heading in markdown
    metrics = srsly.read_json(run_dir / "metrics.json")
    errors = {name: list(srsly.read_jsonl(run_dir / "errors" / f"{name}.jsonl"))
              for name in ("false_positives", "false_negatives")}
    # A 50-step model makes mistakes; every one names its document and span.
    assert errors["false_negatives"] or errors["false_positives"]
    for error in errors["false_negatives"] + errors["false_positives"]:
        assert {"doc", "source", "line", "start", "end", "label", "text"} <= set(error)
    recall = metrics["overall"]["r"]
    support = metrics["overall"]["support"]
    assert len(errors["false_negatives"]) == round(support * (1 - recall))


def test_report_renders_in_headless_chromium(trained: Path, tmp_path: Path) -> None:
    run_dir = trained / "training" / RUN
    screenshot = run_dir / "report.png"
    # The test, not the product, adds a script that marks the page once every
    # embedded image has decoded.
    checked = tmp_path / "report.html"
    checked.write_text((run_dir / "report.html").read_text(encoding="utf8").replace(
        "</head>", f"<script>{IMAGE_CHECK}</script></head>", 1), encoding="utf8")
    dom = render_page(checked, screenshot, tmp_path)
    assert 'data-images-loaded="yes"' in dom  # every embedded plot decoded
    f1 = srsly.read_json(run_dir / "metrics.json")["overall"]["f"]
    assert f'<strong id="test-f1">{100 * f1:.2f}</strong>' in dom
    assert dom.count('<img alt=') == 2 and "Label confusion" in dom and 'class="entities"' in dom
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000


def check_seeds_compare_and_review(project: Path, seeds: List[int], batch: int) -> None:
    """What `weasel run seeds` and `weasel run review` left in a trained project."""
    group = project / "training" / "sample-cnn-efficiency-seeds"
    summary = srsly.read_json(group / "summary.json")
    assert summary["seeds"] == seeds and set(summary["f"]) == {"mean", "std", "values"}
    assert summary["chosen_on_seeds"] == []  # base.cfg was chosen on no seeds
    for seed in seeds:
        assert srsly.read_json(group / f"s{seed}" / "run.json")["seed"] == seed
    # Seed 0 of the group reproduces the single run exactly.
    single = srsly.read_json(project / "training" / RUN / "metrics.json")["overall"]
    assert srsly.read_json(group / "s0" / "metrics.json")["overall"] == single
    result = srsly.read_json(project / "training" / "compare.json")
    group_runs = [f"sample-cnn-efficiency-seeds/s{seed}" for seed in seeds]
    assert {row["run"] for row in result["runs"]} >= {RUN, *group_runs}
    (group_row,) = result["seed_groups"]
    assert group_row["seeds"] == seeds
    assert result["latest"] == group_runs[-1] and result["diff"]["overall"]
    assert "± " in (project / "training" / "compare.md").read_text()
    # The seed runs are review's committee: it picks new text for annotation.
    review = project / "training" / "review-sample"
    report = srsly.read_json(review / "review.json")
    assert [row["run"] for row in report["committee"]] == [f"{group.relative_to(project)}/s{s}" for s in seeds]
    pool = list(srsly.read_jsonl(project / "assets" / "new_text" / "ner_pt_new.jsonl"))
    assert report["counts"]["read"] == len(pool) and report["counts"]["picked"] == batch
    sample = {record["text"] for record in srsly.read_jsonl(project / "assets" / "sample" / "ner_pt.jsonl")}
    assert sum(value for key, value in report["counts"].items() if key.startswith("in_")) >= sum(
        record["text"] in sample for record in pool) > 0
    picked = {record["id"] for record in pool if record["text"] not in sample}
    assert {row["source"] for row in report["picked"]} <= picked
    assert len(srsly.read_json(review / "tasks.label_studio.json")) == batch


def test_monitor_flags_other_text_and_not_held_out_text(trained_copy: Path, tmp_path: Path) -> None:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("pt")
    dev = list(DocBin().from_disk(trained_copy / "corpus/sample/dev.spacy").get_docs(nlp.vocab))
    held_out = tmp_path / "held_out.jsonl"  # raw text, and annotated as a labelled sample
    srsly.write_jsonl(held_out, [{"text": doc.text, "entities": [
        [e.start_char, e.end_char, e.label_] for e in doc.ents]} for doc in dev])
    other = tmp_path / "logs.jsonl"
    srsly.write_jsonl(other, [{"text": text} for text in [
        "ERROR 2026-11-23 12:00:01 worker-7 connection reset by peer (errno 104)",
        "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '1 day';",
        "def main(argv): return parse(argv)[0] if argv else None"] * 40])
    run_dir = trained_copy / "training" / RUN
    assert (run_dir / "reference.json").is_file()  # written by the profile step of `all`
    same = weasel(["run", "monitor", ".", "--vars.monitor_input", str(held_out)], trained_copy)
    assert "No drift" in same.stdout
    assert not srsly.read_json(run_dir / "monitor" / "monitor.json")["drift"]
    drifted = weasel(["run", "monitor", ".", "--vars.monitor_input", str(other),
                      "--vars.monitor_labelled", str(held_out)], trained_copy, check=False)
    assert drifted.returncode != 0 and "Drift:" in drifted.stdout
    result = srsly.read_json(run_dir / "monitor" / "monitor.json")
    crossed = {s["key"] for s in result["signals"] if s["crossed"]}
    assert result["drift"] and "unseen_words" in crossed
    (f1_row,) = [row for row in result["signals"] if row["key"] == "f1_drop"]
    assert f1_row["reference"] == srsly.read_json(run_dir / "metrics.json")["overall"]["f"]
    assert result["labelled_sample"]["docs"] == len(dev) and 0 <= f1_row["current"] <= 1
    dom = render_page(run_dir / "monitor" / "monitor.html", tmp_path / "monitor.png", tmp_path)
    assert '<h1 id="verdict">Drift: thresholds crossed</h1>' in dom and 'class="crossed"' in dom


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_sigterm_to_weasel_stops_the_training_it_started_and_keeps_the_last_run(trained_copy: Path) -> None:
    """weasel dies of a SIGTERM without passing it on: the training it started
    must not go on, orphaned, but stop and remove its staging folder."""
    run_dir = trained_copy / "training" / RUN
    finished = {name: md5_path(run_dir / name) for name in ("model-best", "run.json", "train_log.jsonl")}
    endless = ["--vars.max_steps", "100000", "--vars.eval_frequency", "10"]
    weasel(["run", "create-config", ".", *endless], trained_copy)
    process = subprocess.Popen([sys.executable, "-m", "weasel", "run", "train", ".", *endless],
                               cwd=trained_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONPATH": str(trained_copy), "NO_COLOR": "1"})
    wait_for(lambda: any(run_dir.glob(".staging-*/train_log.jsonl")), "training never started")
    (staging,) = run_dir.glob(".staging-*")
    terminate_weasel(process, int(staging.name.split("-")[-1]), "training")
    assert not staging.exists()
    assert {name: md5_path(run_dir / name) for name in finished} == finished


def test_deploy_workflow_annotates_and_monitors_through_weasel(trained_copy: Path) -> None:
    weasel(["run", "deploy", "."], trained_copy)  # the sample itself: no drift
    run_dir = trained_copy / "training" / RUN
    manifest = srsly.read_json(run_dir / "annotations" / "annotate.json")
    sample = list(srsly.read_jsonl(trained_copy / "assets" / "sample" / "ner_pt.jsonl"))
    assert manifest["counts"]["documents"] == len(sample) and not manifest["skipped"]
    meta = srsly.read_json(run_dir / "model-best" / "meta.json")
    assert manifest["model"] == {"name": f"pt_{meta['name']}", "version": meta["version"],
                                 "path": f"training/{RUN}/model-best"}
    first = srsly.read_jsonl(next((run_dir / "annotations").glob("part-*.jsonl")))
    assert {"id", "entities", "model"} <= set(next(iter(first)))
    assert not srsly.read_json(run_dir / "monitor" / "monitor.json")["drift"]


def readme_console(section: str) -> List[Tuple[str, List[str]]]:
    """The README's console example under `section`: each `$ ` command with the
    output lines shown after it."""
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    block = readme.split(section, 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    examples: List[Tuple[str, List[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            examples.append((line[2:], []))
        else:
            examples[-1][1].append(line)
    return examples


def test_readme_deployment_examples_run_as_written(trained_copy: Path, tmp_path: Path) -> None:
    """Every command of the README's deployment example, as written, in order:
    a real Dask cluster at its address, the server in the background at its port;
    then what the seed runs, their comparison and review left behind."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    examples = readme_console("## Annotating, serving, monitoring")
    scheduler = re.search(r"tcp://127\.0\.0\.1:(\d+)", " ".join(c for c, _ in examples)).group(1)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)  # weasel, as a user runs it: from the venv, in the project
    server: Optional[subprocess.Popen] = None
    with DaskCluster(1, port=int(scheduler)):
        try:
            for command, shown in examples:
                words = shlex.split(command, comments=True)
                if words[-1] == "&":
                    server = subprocess.Popen(words[:-1], cwd=trained_copy, env=env, start_new_session=True,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    wait_for(lambda: answers("http://127.0.0.1:8000/health") or server.poll() is not None,
                             "the README's server never came up", 90)
                    assert server.poll() is None, "the README's server exited"
                    continue
                result = subprocess.run(words, cwd=trained_copy, env=env, capture_output=True, text=True,
                                        timeout=600)
                assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
                if shown:  # the output the README shows: the same shape, the same model
                    got, expected = json.loads(result.stdout), json.loads("\n".join(shown))
                    assert got["model"] == expected["model"]
                    assert len(got["results"]) == len(expected["results"])
                    assert all(set(entity) == {"start", "end", "label", "text"}
                               for result_ in got["results"] for entity in result_["entities"])
        finally:
            if server is not None and server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
    annotations = trained_copy / "training" / RUN / "annotations"
    assert srsly.read_json(annotations / "annotate.json")["counts"]["documents"] > 0
    assert srsly.read_json(trained_copy / "training" / RUN / "monitor" / "monitor.json")["status"] == "no_drift"
    project_vars = srsly.read_yaml(trained_copy / "project.yml")["vars"]
    check_seeds_compare_and_review(trained_copy, parse_seeds(project_vars["seeds"]), project_vars["review_batch"])
    gate = weasel(["run", "compare", ".", "--vars.max_drop", "100"], trained_copy)
    assert "Gate passed" in gate.stdout


def test_serving_the_installed_package_gives_the_meta_of_serving_model_best(trained: Path, tmp_path: Path) -> None:
    from .test_serve import call, is_up, serve_options

    (wheel,) = (trained / PACKAGE / "dist").glob("*.whl")
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                              "--no-deps", "--target", str(site), str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    metas = []
    for model in (str(trained / "training" / RUN / "model-best"), PACKAGE_NAME):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "scripts.serve", model, "--port", str(port),
             *serve_options(package_name=PACKAGE_NAME[3:], package_version="0.1.0")],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: is_up(base) or server.poll() is not None, "the server never came up", 90)
            assert server.poll() is None, server.communicate()[1]
            metas.append(call(base, "/meta")[1])
        finally:
            server.terminate()
            server.wait(timeout=30)
    from_run, from_package = metas
    assert from_package == from_run
    assert from_run["model"] == {"name": PACKAGE_NAME, "version": "0.1.0"}
    assert set(from_run["test_scores"]["per_label"]) == {"PER", "ORG", "LOC", "MISC"}
    assert from_run["run"]["run"] == RUN
