"""The preprocess step as weasel runs it: outputs, report, and bad input."""

import importlib.util
import shutil
from pathlib import Path
from typing import Dict

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from scripts.lib.files import md5_path

from .conftest import ROOT, SAMPLE_LANG, preprocess, run, workflow_options, write_lines

OUTPUTS = ("train.spacy", "dev.spacy", "test.spacy", "data_report.json")


def checksums(folder: Path) -> Dict[str, str]:
    return {name: md5_path(folder / name) for name in OUTPUTS}


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory, sample_data: Path) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    result = preprocess(sample_data, out, "--lang", SAMPLE_LANG)
    assert result.returncode == 0, result.stderr
    return out


def test_sample_is_cleaned_split_and_reported(sample_corpus: Path) -> None:
    report = srsly.read_json(sample_corpus / "data_report.json")
    assert report["records"]["read"] == 766
    assert report["problem_counts"] == {
        "dropped record": {"empty text": 2, "misaligned span": 1, "overlapping spans": 1,
                           "exact duplicate": 1},
        "fixed span": {"whitespace at span edge": 1},
    }
    dropped = {p["record_id"]: p for p in report["problems"] if p["action"] == "dropped record"}
    assert dropped["misaligned-1"]["file"].endswith("ner_pt.jsonl") and dropped["misaligned-1"]["line"] > 0
    assert "'Lusitana Energi' does not align" in dropped["misaligned-1"]["reason"]
    assert report["records"]["kept"] == 766 - 5
    splits = report["splits"]
    assert sum(s["docs"] for s in splits.values()) == report["records"]["kept"]
    assert set(splits["test"]["labels"]) == {"PER", "ORG", "LOC", "MISC"}
    assert all(v == {"exact": 0, "normalised": 0} for v in report["leakage"]["pairs"].values())
    nlp = spacy.blank("pt")
    texts = {s: {d.text for d in DocBin().from_disk(sample_corpus / f"{s}.spacy").get_docs(nlp.vocab)}
             for s in ("train", "dev", "test")}
    assert len(texts["test"]) == splits["test"]["docs"]
    assert not texts["train"] & texts["test"]


def test_output_is_byte_identical_when_rerun(sample_corpus: Path, sample_data: Path, tmp_path: Path) -> None:
    # A new interpreter: another hash seed must not change a byte (set order, for one).
    assert preprocess(sample_data, tmp_path, "--lang", SAMPLE_LANG, fresh=True).returncode == 0
    assert checksums(tmp_path) == checksums(sample_corpus)


def test_split_seed_changes_the_split(sample_corpus: Path, sample_data: Path, tmp_path: Path) -> None:
    assert preprocess(sample_data, tmp_path, "--lang", SAMPLE_LANG, "--seed", "1").returncode == 0
    assert md5_path(tmp_path / "test.spacy") != md5_path(sample_corpus / "test.spacy")


def test_labels_var_keeps_only_listed_labels(sample_data: Path, tmp_path: Path) -> None:
    assert preprocess(sample_data, tmp_path, "--lang", SAMPLE_LANG, "--labels", "PER,LOC").returncode == 0
    report = srsly.read_json(tmp_path / "data_report.json")
    assert set(report["splits"]["train"]["labels"]) == {"PER", "LOC"}
    assert report["problem_counts"]["dropped span"]["label not in labels"] > 100


def test_labels_var_renames_and_merges_labels_and_reports_it(sample_data: Path, tmp_path: Path) -> None:
    result = preprocess(sample_data, tmp_path, "--lang", SAMPLE_LANG, "--labels", "PER=PESSOA,ORG=PESSOA,*")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "data_report.json")
    assert set(report["splits"]["train"]["labels"]) == {"PESSOA", "LOC", "MISC"}
    renamed = report["renamed_labels"]
    assert list(renamed) == ["ORG=PESSOA", "PER=PESSOA"] and min(renamed.values()) > 100
    assert report["labels"] == {"kept": {"ORG": "PESSOA", "PER": "PESSOA"}, "keep_others": True}
    assert "Labels renamed (labels var): ORG=PESSOA" in " ".join(result.stdout.split())


def test_fail_policy_stops_at_the_first_annotation_problem(sample_data: Path, tmp_path: Path) -> None:
    result = preprocess(sample_data, tmp_path, "--lang", SAMPLE_LANG, "--on-problem", "fail")
    assert result.returncode == 1
    assert "ner_pt.jsonl:" in result.stderr and "does not align with token boundaries" in result.stderr
    assert not any(tmp_path.iterdir())


def test_pre_split_conll_keeps_splits_and_carves_missing_dev(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sentences = [f"Frase{i} O\nda O\nAna B-PER\nCosta I-PER\n" for i in range(40)]
    (data).mkdir()
    (data / "train.conll").write_text("\n".join(sentences), encoding="utf8")
    (data / "test.conll").write_text("Lisboa B-LOC\nchove O\n", encoding="utf8")
    result = preprocess(data, tmp_path / "out", "--lang", "en")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert report["split_method"]["test"] == "given" and report["split_method"]["train"] == "given"
    assert report["split_method"]["dev"].startswith("0.15 of train by seeded hash")
    assert report["splits"]["test"] == {"docs": 1, "sentences": 1, "tokens": 2, "entities": 1,
                                        "labels": {"LOC": 1}}
    train, dev = report["splits"]["train"], report["splits"]["dev"]
    assert train["sentences"] + dev["sentences"] == 40
    assert train["docs"] < train["sentences"]  # consecutive sentences joined (n_sents 10)
    source = {s["path"].split("/")[-1]: s for s in report["sources"]}["train.conll"]
    assert (source["format"], source["records"], source["records_kept"], source["entities_kept"]) == \
        ("conll", 40, 40, 40)


BAD_INPUTS = {
    "malformed JSON": (b'{"text": "ok", "entities": []}\n{"text": "Ana", "entities": [[0, 3, "PER"]\n',
                       "bad.jsonl:2: not valid JSON"),
    "invalid UTF-8": ('{"text": "ok"}\n{"text": "São"}\n'.encode("latin-1"), "bad.jsonl:2: not valid UTF-8"),
    "empty file": (b"", "bad.jsonl: file is empty"),
    "offsets outside text": (b'{"text": "Ana", "entities": [[0, 30, "PER"]]}\n',
                             "bad.jsonl:1: entity [0, 30, 'PER']: offsets outside the text"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_in_one_line_and_keeps_earlier_outputs(case: str, sample_corpus: Path,
                                                               tmp_path: Path) -> None:
    content, expected = BAD_INPUTS[case]
    data = tmp_path / "data"
    data.mkdir()
    (data / "bad.jsonl").write_bytes(content)
    out = shutil.copytree(sample_corpus, tmp_path / "out")
    before = checksums(out)
    result = preprocess(data, out)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert checksums(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no temporary files left


@pytest.mark.parametrize("files, options, expected", [
    ({"dev.jsonl": "x", "extra.jsonl": "x"}, [], "mixes split files"),
    ({"dev.jsonl": "x"}, [], "pre-split data needs a train.* file"),
    ({"notes.txt": "x"}, [], "no data files"),
    ({"a.jsonl": '{"text": "Olá"}'}, ["--lang", "xx-unknown"], "spaCy has no language 'xx-unknown'"),
    pytest.param({"a.jsonl": '{"text": "Olá"}'}, ["--lang", "ja"],
                 "spaCy's language 'ja' needs a package that is not installed: Japanese support requires SudachiPy",
                 marks=pytest.mark.skipif(importlib.util.find_spec("sudachipy") is not None,
                                          reason="SudachiPy is installed")),
    ({"a.jsonl": '{"text": "Olá"}'}, [], "split is empty after cleaning"),
])
def test_bad_dataset_folders_are_explained(tmp_path: Path, files, options, expected) -> None:
    for name, text in files.items():
        write_lines(tmp_path / "data" / name, [text])
    result = preprocess(tmp_path / "data", tmp_path / "out", *options)
    assert result.returncode == 1 and expected in result.stderr, result.stderr


@pytest.mark.slow
def test_check_data_failure_names_spacys_errors(tmp_path: Path) -> None:
    """Too few training docs is an error for spacy debug data: the step says which."""
    corpus = tmp_path / "corpus"
    data = tmp_path / "data"
    write_lines(data / "train.jsonl", [f'{{"text": "Ana {i} mora em Lisboa.", "entities": [[0, 3, "PER"]]}}'
                                       for i in range(12)])
    write_lines(data / "dev.jsonl", ['{"text": "Rui mora no Porto.", "entities": [[0, 3, "PER"]]}'])
    write_lines(data / "test.jsonl", ['{"text": "Eva mora em Faro.", "entities": [[0, 3, "PER"]]}'])
    assert preprocess(data, corpus).returncode == 0
    config = tmp_path / "config.cfg"
    run(["python", "-m", "scripts.create_config", "configs/base.cfg", str(config),
         *workflow_options("create-config", vectors=None)], ROOT, check=True)
    report = tmp_path / "debug.txt"
    result = run(["python", "-m", "scripts.check_data", str(config), str(corpus), str(report)], ROOT)
    assert result.returncode == 1
    assert "spacy debug data found errors: Low number of examples to train a new pipeline (12)" \
        in result.stderr.splitlines()[-1]
    assert not report.exists()
