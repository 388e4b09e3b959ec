"""The `architecture` var: each overlay builds the pipeline it names, predicted
entities are read where that pipeline puts them, and every architecture trains
through the real workflow (the transformer on a tiny model built here)."""

import importlib.util
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
from confection import Config
from spacy.tokens import Span

from scripts.check_data import suggester_warning
from scripts.lib.configs import build_config
from scripts.lib.entities import (
    SPANS_KEY,
    entity_records,
    entity_spans,
    suggester_max_size,
    too_long_for_suggester,
    with_entity_spans,
)

from .conftest import ROOT, copy_project, weasel
from .tiny_transformer import build_tiny_transformer

ARCHITECTURES = sorted(path.stem for path in (ROOT / "configs" / "architecture").glob("*.cfg"))
HAS_TRANSFORMERS = importlib.util.find_spec("spacy_transformers") is not None
NEEDS_TRANSFORMERS = [pytest.mark.transformer, pytest.mark.skipif(
    not HAS_TRANSFORMERS, reason="spacy-transformers is not installed (pip install -r requirements-transformers.txt)")]


def config_for(architecture: str, **budget: int) -> Config:
    return build_config(ROOT / "configs" / "base.cfg",
                        [ROOT / "configs" / "architecture" / f"{architecture}.cfg",
                         ROOT / "configs" / "optimize" / "efficiency.cfg"], "pt", budget, "some/model")


def test_the_four_architectures_ship() -> None:
    assert ARCHITECTURES == ["cnn", "cnn_large", "spancat", "transformer"]


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
    warning = suggester_warning(tmp_path / "spancat.cfg", paths)
    assert " entities in train.spacy (" in warning and "longer than 1 tokens" in warning
    assert suggester_warning(corpus_and_config / "config.cfg", paths) is None  # the NER: no suggester


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory) -> Path:
    if not HAS_TRANSFORMERS:
        pytest.skip("spacy-transformers is not installed (pip install -r requirements-transformers.txt)")
    texts = [r["text"] for r in srsly.read_jsonl(ROOT / "assets" / "sample" / "ner_pt.jsonl") if r["text"].strip()]
    return build_tiny_transformer(texts, tmp_path_factory.mktemp("tiny-bert"))


TINY = ["--vars.max_steps", "30", "--vars.eval_frequency", "10", "--vars.patience", "0"]


@pytest.mark.slow
def test_the_large_cnn_trains_and_evaluates_through_weasel(tmp_path: Path) -> None:
    """Only its encoder's size differs from the default, whose whole workflow runs
    elsewhere: the steps that build, train and score the model."""
    project = copy_project(tmp_path / "project")
    for step in ("fetch", "preprocess", "train-vectors", "create-config", "pretrain", "train", "evaluate"):
        weasel(["run", step, ".", "--vars.architecture", "cnn_large", *TINY], project)
    run_dir = project / "training" / "sample-cnn_large-efficiency-s0"
    config = spacy.load(run_dir / "model-best").config
    assert config["components"]["tok2vec"]["model"]["encode"]["width"] == 256
    assert srsly.read_json(run_dir / "run.json")["training"]["steps"] == 30
    assert set(srsly.read_json(run_dir / "metrics.json")["per_label"]) == {"LOC", "MISC", "ORG", "PER"}


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["spancat", pytest.param("transformer", marks=NEEDS_TRANSFORMERS)])
def test_each_architecture_runs_the_whole_workflow(architecture: str, tmp_path: Path,
                                                   request: pytest.FixtureRequest,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_project(tmp_path / "project")
    extra = []
    if architecture == "transformer":
        extra = ["--vars.transformer_model", str(request.getfixturevalue("tiny_transformer"))]
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local folder: never ask the hub
    weasel(["run", "all", ".", "--vars.architecture", architecture, *TINY, *extra], project)
    run_dir = project / "training" / f"sample-{architecture}-efficiency-s0"
    nlp = spacy.load(run_dir / "model-best")
    assert nlp.pipe_names == config_for(architecture)["nlp"]["pipeline"]
    run = srsly.read_json(run_dir / "run.json")
    assert run["training"]["steps"] == 30
    metrics = srsly.read_json(run_dir / "metrics.json")
    assert set(metrics["per_label"]) == {"LOC", "MISC", "ORG", "PER"}
    assert list((project / "packages").glob(f"pt_sample_{architecture}_efficiency_s0-0.1.0/dist/*.whl"))
    if architecture == "spancat":
        assert metrics["overall"]["f"] > 0.1  # learns within 30 updates, scored from its spans
        weasel(["run", "annotate", ".", "--vars.architecture", "spancat"], project)
        records = list(srsly.read_jsonl(next((run_dir / "annotations").glob("part-*.jsonl"))))
        scores = [ent["score"] for record in records for ent in record["entities"]]
        assert scores and all(0.5 <= score <= 1.0 for score in scores)
    if architecture == "transformer":
        config = Config().from_disk(run_dir / "config.cfg", interpolate=False)
        assert config["components"]["transformer"]["model"]["name"] == extra[1]
