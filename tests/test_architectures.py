"""The `architecture` var: each overlay builds the pipeline it names, predicted
entities are read where that pipeline puts them, and every architecture trains
through the real workflow (the transformer on a tiny model built here)."""

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Tuple

import numpy
import pytest
import spacy
import srsly
from confection import Config
from spacy.tokens import DocBin, Span
from spacy.training import Example

from scripts.check_data import corpus_checks
from scripts.lib.configs import build_config
from scripts.lib.entities import (
    SPANS_KEY,
    entity_records,
    entity_spans,
    suggester_max_size,
    too_long_for_suggester,
    with_entity_spans,
)

from scripts.lib.processes import answers, free_port

from .conftest import ROOT, copy_project, wait_for, weasel
from .tiny_transformer import build_tiny_transformer

ARCHITECTURES = sorted(path.stem for path in (ROOT / "configs" / "architecture").glob("*.cfg"))
HAS_TRANSFORMERS = importlib.util.find_spec("spacy_transformers") is not None
NEEDS_TRANSFORMERS = [pytest.mark.transformer, pytest.mark.skipif(
    not HAS_TRANSFORMERS, reason="spacy-transformers is not installed (pip install -r requirements-transformers.txt)")]


def config_for(architecture: str, optimize: str = "efficiency", **budget: int) -> Config:
    return build_config(ROOT / "configs" / "base.cfg",
                        [ROOT / "configs" / "architecture" / f"{architecture}.cfg",
                         ROOT / "configs" / "optimize" / f"{optimize}.cfg"], "pt", budget, "some/model")


def test_the_four_architectures_ship() -> None:
    assert {"cnn", "cnn_large", "spancat", "transformer"} <= set(ARCHITECTURES)


@pytest.mark.parametrize("architecture, pipeline", [
    ("cnn", ["tok2vec", "ner"]), ("cnn_large", ["tok2vec", "ner"]),
    ("spancat", ["tok2vec", "spancat"]), ("transformer", ["transformer", "ner"])])
def test_each_overlay_builds_its_pipeline_and_drops_the_blocks_it_replaced(architecture: str,
                                                                          pipeline: list) -> None:
    config = config_for(architecture, max_steps=1234)
    assert config["nlp"]["pipeline"] == pipeline
    assert sorted(config["components"]) == sorted(pipeline)
    encode = config["components"].get("tok2vec", {}).get("model", {}).get("encode", {})
    base = Config().from_disk(ROOT / "configs" / "base.cfg", interpolate=False)
    if architecture == "cnn":
        assert encode == base["components"]["tok2vec"]["model"]["encode"]
    if architecture == "cnn_large":
        assert (encode["width"], encode["depth"]) == (256, 8)


@pytest.mark.parametrize("architecture, encoder", [("cnn_large", (256, 8, 1)), ("spancat", (112, 3, 1))])
def test_the_slower_architectures_keep_the_encoder_their_benchmarks_measured(tmp_path: Path, architecture: str,
                                                                             encoder: tuple) -> None:
    """The earlier default tables' cnn_large and spancat rows (encoder_112x3/) stay true of what ships when base.cfg's
    encoder changes."""
    base = Config().from_disk(ROOT / "configs" / "base.cfg", interpolate=False)
    base["components"]["tok2vec"]["model"]["encode"].update({"width": 64, "depth": 5, "window_size": 3})
    base.to_disk(tmp_path / "base.cfg")
    config = build_config(tmp_path / "base.cfg", [ROOT / "configs" / "architecture" / f"{architecture}.cfg",
                                                  ROOT / "configs" / "optimize" / "efficiency.cfg"], "pt", {})
    encode = config["components"]["tok2vec"]["model"]["encode"]
    assert (encode["width"], encode["depth"], encode["window_size"]) == encoder


def test_the_beam_overlay_swaps_the_ner_for_beam_search_and_keeps_its_model(corpus_and_config: Path) -> None:
    config = config_for("cnn", optimize="beam", max_steps=1234)
    greedy = config_for("cnn", max_steps=1234)
    assert config["components"]["ner"]["factory"] == "beam_ner" and greedy["components"]["ner"]["factory"] == "ner"
    assert config["components"]["ner"]["beam_width"] > 1
    assert config["components"]["ner"]["model"] == greedy["components"]["ner"]["model"]
    assert "ner" not in config_for("spancat", optimize="beam")["components"]  # no NER to swap
    # It learns from the sample, tokens left without annotation included (on_problem "mask").
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    docs = list(DocBin().from_disk(corpus_and_config / "corpus" / "train.spacy").get_docs(nlp.vocab))[:60]
    docs[0].set_ents(list(docs[0].ents), missing=[docs[0][:2]], default="unmodified")
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        losses = nlp.update(examples, sgd=optimizer, losses={})
    assert losses["ner"] > 0 and nlp.get_pipe("ner").cfg["beam_width"] == config["components"]["ner"]["beam_width"]
    assert set(nlp.evaluate(examples)) >= {"ents_f", "ents_per_type"}


def test_the_transformer_gets_its_model_name_and_a_schedule_as_long_as_the_budget() -> None:
    config = config_for("transformer", max_steps=1234)
    transformer = config["components"]["transformer"]["model"]
    assert transformer["name"] == "some/model"
    assert config["training"]["optimizer"]["learn_rate"]["total_steps"] == 1234
    listener = config["components"]["ner"]["model"]["tok2vec"]
    assert listener["@architectures"] == "spacy-transformers.TransformerListener.v1"
    assert "width" not in listener  # the CNN listener's arguments did not leak in


def test_spancat_scores_spans_and_ignores_the_ner_score() -> None:
    weights = config_for("spancat")["training"]["score_weights"]
    assert weights["spans_sc_f"] == 1.0 and weights["ents_f"] is None


@pytest.mark.parametrize("shape", [(2,), (2, 1)])
def test_span_categorizer_entities_come_sorted_with_their_scores(shape: tuple) -> None:
    doc = spacy.blank("pt")("A ministra Ana Costa visitou Lisboa .")
    doc.spans[SPANS_KEY] = [Span(doc, 5, 6, "LOC"), Span(doc, 2, 4, "PER")]
    doc.spans[SPANS_KEY].attrs["scores"] = numpy.array([0.25, 0.875]).reshape(shape)
    assert entity_records(doc) == [
        {"start": 11, "end": 20, "label": "PER", "text": "Ana Costa", "score": 0.875},
        {"start": 29, "end": 35, "label": "LOC", "text": "Lisboa", "score": 0.25}]
    assert [span.text for span in entity_spans(doc)] == ["Lisboa", "Ana Costa"]


def test_a_ner_pipelines_entities_are_doc_ents_and_the_corpus_carries_both() -> None:
    doc = spacy.blank("pt")("A ministra Ana Costa visitou Lisboa .")
    doc.ents = [Span(doc, 2, 4, "PER")]
    assert entity_records(doc) == [{"start": 11, "end": 20, "label": "PER", "text": "Ana Costa"}]
    assert [span.text for span in entity_spans(with_entity_spans(doc))] == ["Ana Costa"]
    assert list(doc.spans[SPANS_KEY]) == list(doc.ents)


def test_entities_longer_than_the_suggester_proposes_are_counted_per_split() -> None:
    nlp = spacy.blank("pt")
    doc = nlp("O Tribunal Regional Federal da 2ª Região decidiu em Lisboa .")
    doc.ents = [Span(doc, 1, 7, "ORGANIZACAO"), Span(doc, 9, 10, "LOCAL")]
    assert too_long_for_suggester({"train.spacy": [doc], "dev.spacy": [doc]}, 6) is None
    warning = too_long_for_suggester({"train.spacy": [doc], "dev.spacy": [nlp("Nada aqui.")]}, 5)
    assert warning.startswith("1 of 2 entities in train.spacy (50.0%) are longer than 5 tokens")
    assert "(longest: 6)" in warning and "configs/architecture/spancat.cfg" in warning
    assert suggester_max_size(config_for("spancat")) == 10 and suggester_max_size(config_for("cnn")) is None


def test_check_data_warns_of_entities_the_span_categorizer_cannot_reach(corpus_and_config: Path,
                                                                        tmp_path: Path) -> None:
    config = config_for("spancat")
    config["components"]["spancat"]["suggester"]["max_size"] = 1
    config.to_disk(tmp_path / "spancat.cfg")
    corpus = corpus_and_config / "corpus"
    paths = {split: corpus / f"{split}.spacy" for split in ("train", "dev")}
    notes, (warning,) = corpus_checks(tmp_path / "spancat.cfg", paths)
    assert " entities in train.spacy (" in warning and "longer than 1 tokens" in warning and notes == []
    assert corpus_checks(corpus_and_config / "config.cfg", paths) == ([], [])  # the NER, nothing masked

    # Tokens left without annotation (on_problem "mask"): the NER leaves them out, spancat cannot.
    nlp = spacy.blank("pt")
    doc = nlp("Ana visitou a Lusitana Energia .")
    doc.set_ents([Span(doc, 0, 1, "PER")], missing=[doc[3:5]], default="outside")
    DocBin(docs=[doc]).to_disk(tmp_path / "masked.spacy")
    masked = {"train": tmp_path / "masked.spacy", "dev": paths["dev"]}
    config["components"]["spancat"]["suggester"]["max_size"] = 10
    config.to_disk(tmp_path / "spancat.cfg")
    unannotated = 'tokens left without annotation (on_problem "mask"): 2 in masked.spacy'
    notes, (warning,) = corpus_checks(tmp_path / "spancat.cfg", masked)
    assert warning.startswith(f"{unannotated}. The span categorizer cannot") and notes == []
    assert corpus_checks(corpus_and_config / "config.cfg", masked) == (
        [f"{unannotated}; the NER is neither trained nor scored on them"], [])


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory, sample_data: Path) -> Path:
    if not HAS_TRANSFORMERS:
        pytest.skip("spacy-transformers is not installed (pip install -r requirements-transformers.txt)")
    texts = [r["text"] for r in srsly.read_jsonl(sample_data / "ner_pt.jsonl") if r["text"].strip()]
    return build_tiny_transformer(texts, tmp_path_factory.mktemp("tiny-bert"))


TINY = ["--vars.max_steps", "30", "--vars.eval_frequency", "10", "--vars.patience", "0", "--vars.speed_seconds", "0"]


def dev_curve(report_md: str) -> Tuple[float, float]:
    """(first, best) dev F1 from the report's curve line."""
    found = re.search(r"Dev F1 over \d+ evaluations: first ([\d.]+), best ([\d.]+)", report_md)
    assert found, report_md
    return float(found.group(1)), float(found.group(2))


def check_trained_and_scored(run_dir: Path, architecture: str) -> dict:
    """The run's model is the architecture's pipeline, trained for TINY's 30 updates
    and scored per label; its metrics.json."""
    nlp = spacy.load(run_dir / "model-best")
    assert nlp.pipe_names == config_for(architecture)["nlp"]["pipeline"]
    assert srsly.read_json(run_dir / "run.json")["training"]["steps"] == 30
    metrics = srsly.read_json(run_dir / "metrics.json")
    assert set(metrics["per_label"]) == {"LOC", "MISC", "ORG", "PER"}
    if architecture != "transformer":  # a tiny random BERT learns nothing in 30 updates
        assert metrics["overall"]["f"] > 0.1
        first, best = dev_curve((run_dir / "report.md").read_text(encoding="utf8"))
        assert best > 0 and best >= first
    return metrics


@pytest.mark.slow
def test_the_larger_cnn_trains_and_scores_through_the_workflow(tmp_path: Path) -> None:
    """`cnn_large` is the default `cnn` with larger sizes, the same pipeline: its
    package, deploy and serve steps are the ones tests/test_workflow.py runs."""
    project = copy_project(tmp_path / "project")
    steps = srsly.read_yaml(project / "project.yml")["workflows"]["all"]
    for step in steps[:steps.index("report") + 1]:
        weasel(["run", step, ".", "--vars.architecture", "cnn_large", *TINY], project)
    check_trained_and_scored(project / "training" / "sample-cnn_large-efficiency-s0", "cnn_large")


# The default `cnn` goes through every step in tests/test_workflow.py (its trained project).
@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["spancat", pytest.param("transformer", marks=NEEDS_TRANSFORMERS)])
def test_every_other_pipeline_goes_through_every_step(architecture: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """create-config ... package, then annotate, monitor with a labelled sample and
    serve: each step reads the entities and scores where this pipeline puts them."""
    project = copy_project(tmp_path / "project")
    extra = ["--vars.architecture", architecture, *TINY, "--vars.monitor_labelled", "assets/sample/ner_pt.jsonl"]
    if architecture == "transformer":
        extra += ["--vars.transformer_model", str(request.getfixturevalue("tiny_transformer"))]
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local folder: never ask the hub
    weasel(["run", "all", ".", *extra], project)
    run_dir = project / "training" / f"sample-{architecture}-efficiency-s0"
    metrics = check_trained_and_scored(run_dir, architecture)
    prefix = "spans_sc" if architecture == "spancat" else "ents"
    meta = srsly.read_json(next((project / "packages").glob(f"pt_sample_{architecture}_*/**/meta.json")))
    assert meta["performance"][f"{prefix}_f"] == metrics["overall"]["f"]
    assert set(meta["performance"][f"{prefix}_per_type"]) == set(metrics["per_label"])

    monitor = weasel(["run", "deploy", ".", *extra], project, check=False)
    assert monitor.returncode in (0, 1), monitor.stdout[-3000:] + monitor.stderr[-3000:]
    sample = srsly.read_json(run_dir / "monitor" / "monitor.json")["labelled_sample"]
    assert sample["docs"] > 100 and 0 <= sample["f"] <= 1
    if architecture != "transformer":
        assert sample["f"] > 0.1
    records = [r for part in sorted((run_dir / "annotations").glob("part-*.jsonl")) for r in srsly.read_jsonl(part)]
    assert len(records) > 100 and all("entities" in r for r in records)
    if architecture == "spancat":
        scores = [ent["score"] for record in records for ent in record["entities"]]
        assert scores and all(0.5 <= score <= 1.0 for score in scores)

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "weasel", "run", "serve", ".", *extra,
                               "--vars.serve_port", str(port)], cwd=project, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(project)})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(base + "/health") or server.poll() is not None, "serve never came up", 180)
        request_body = json.dumps({"texts": ["A Petrobras abriu uma sede em Lisboa."]}).encode()
        with urllib.request.urlopen(urllib.request.Request(
                base + "/ents", request_body, {"Content-Type": "application/json"}), timeout=60) as response:
            assert isinstance(json.load(response)["results"][0]["entities"], list)
        with urllib.request.urlopen(base + "/meta", timeout=10) as response:
            assert json.load(response)["test_scores"]["overall"]["f"] == metrics["overall"]["f"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    if architecture == "transformer":
        config = Config().from_disk(run_dir / "config.cfg", interpolate=False)
        assert config["components"]["transformer"]["model"]["name"] == extra[-1]
