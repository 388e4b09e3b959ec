"""distill: a teacher (one run, or the runs of a seeds workflow voting) annotates
the prepared unlabelled text; the sentences its models agree on become silver
training data, which train reads beside the gold training split."""

import gzip
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from scripts.distill import agrees
from scripts.lib.errors import UserError
from scripts.lib.files import md5_file
from scripts.lib.run_record import model_runs

from .conftest import ROOT, SAMPLE_LANG, ruler_run, run, settings_file, workflow_options


ANA = {"label": "PER", "pattern": "Ana"}
LISBOA = {"label": "LOC", "pattern": "Lisboa"}


def distill(text: Path, corpus: Path, out: Path, teacher: str, **settings):
    return run(["python", "-m", "scripts.distill", str(text), str(corpus), str(out / "silver.spacy"),
                str(out / "silver_report.json"),
                *workflow_options("distill", lang=SAMPLE_LANG,
                                  settings=settings_file("distill", out / "settings", teacher=teacher, **settings))],
               ROOT)


def test_a_teacher_is_a_run_or_a_folder_of_runs(corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    single = ruler_run(tmp_path / "one", corpus, [ANA])
    seeds = [ruler_run(tmp_path / "seeds" / f"s{seed}", corpus, [ANA]) for seed in (1, 0)]
    assert model_runs(str(single)) == [single]
    assert model_runs(str(tmp_path / "seeds")) == sorted(seeds)
    assert model_runs(str(tmp_path / "seeds" / "s[01]")) == sorted(seeds)
    (tmp_path / "untrained" / "s0").mkdir(parents=True)
    with pytest.raises(UserError, match="no trained model here"):
        model_runs(str(tmp_path / "untrained"))


def test_models_that_disagree_leave_the_sentence_out(corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    ruler_run(tmp_path / "teacher" / "s0", corpus, [ANA, LISBOA])
    ruler_run(tmp_path / "teacher" / "s1", corpus, [ANA])  # misses Lisboa
    text = tmp_path / "unlabelled.txt.gz"
    with gzip.open(text, "wt", encoding="utf8") as out:
        out.write("A Ana mora em Lisboa. A Ana chegou ontem.\nO dia estava bom.\n")
    out = tmp_path / "out"
    result = distill(text, corpus, out, str(tmp_path / "teacher"), words=1000)
    assert result.returncode == 0, result.stderr
    assert "1 entities, 1 sentence(s) with one)" in " ".join(result.stdout.split())
    nlp = spacy.blank(SAMPLE_LANG)
    docs = list(DocBin().from_disk(out / "silver.spacy").get_docs(nlp.vocab))
    assert [(doc.text, [(e.text, e.label_) for e in doc.ents]) for doc in docs] == [
        ("A Ana chegou ontem.", [("Ana", "PER")]), ("O dia estava bom.", [])]
    report = srsly.read_json(out / "silver_report.json")
    assert report["read"] == {"sentences": 3, "words": 16}
    assert report["kept"] == {"sentences": 2, "words": 10, "with_entities": 1} and report["entities"] == {"PER": 1}
    assert [t["run"] for t in report["key"]["teacher"]] == [str(tmp_path / "teacher" / f"s{s}") for s in (0, 1)]
    # Nothing changed: the outputs are left as they are (train is not rerun).
    before = {name: (out / name).stat().st_mtime_ns for name in ("silver.spacy", "silver_report.json")}
    again = distill(text, corpus, out, str(tmp_path / "teacher"), words=1000)
    assert again.returncode == 0 and "is up to date" in again.stdout
    assert {name: (out / name).stat().st_mtime_ns for name in before} == before
    # No teacher: no silver docs.
    assert distill(text, corpus, out, "").returncode == 0
    assert len(DocBin().from_disk(out / "silver.spacy")) == 0


def test_a_teacher_of_other_data_is_refused_and_nothing_is_lost(corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    teacher = ruler_run(tmp_path / "teacher", corpus, [ANA])
    record = srsly.read_json(teacher / "run.json")
    record["corpus"]["train"]["md5"] = "0" * 32  # trained on another split
    srsly.write_json(teacher / "run.json", record)
    text = tmp_path / "unlabelled.txt"
    text.write_text("A Ana chegou.\n", encoding="utf8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "silver.spacy").write_bytes(b"earlier silver")
    result = distill(text, corpus, out, str(teacher), words=1000)
    assert result.returncode == 1
    assert "this teacher was not trained on" in result.stderr and str(teacher) in result.stderr
    assert (out / "silver.spacy").read_bytes() == b"earlier silver"


def test_agreement_is_on_offsets_and_labels() -> None:
    nlp = spacy.blank(SAMPLE_LANG)
    first, second, third = (nlp("A Ana mora em Lisboa.") for _ in range(3))
    first.ents = [first.char_span(2, 5, "PER")]
    second.ents = [second.char_span(2, 5, "PER")]
    third.ents = [third.char_span(2, 5, "ORG")]
    assert agrees([first, second]) and not agrees([first, third]) and agrees([first])


@pytest.mark.slow
def test_train_reads_silver_beside_gold_and_records_it(corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    nlp = spacy.blank(SAMPLE_LANG)
    silver = DocBin()
    for i in range(20):
        doc = nlp(f"A Ana {i} chegou a Lisboa.")
        doc.ents = [doc.char_span(2, 5, "PER"), doc.char_span(doc.text.index("Lisboa"), len(doc.text) - 1, "LOC")]
        silver.add(doc)
    silver.to_disk(tmp_path / "silver.spacy")
    run_dir = tmp_path / "run"
    result = run(["python", "-m", "scripts.train", str(corpus_and_config / "config.cfg"), str(corpus), str(run_dir),
                  *workflow_options("train", latest=None, pretrained=None, silver=tmp_path / "silver.spacy")], ROOT)
    assert result.returncode == 0, result.stderr
    assert "Training on gold and silver" in " ".join(result.stdout.split())
    inputs = srsly.read_json(run_dir / "run.json")["inputs"]
    assert inputs["silver"]["docs"] == 20 and inputs["silver"]["md5"] == md5_file(tmp_path / "silver.spacy")
    assert not list(run_dir.glob(".staging-*"))
