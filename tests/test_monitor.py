"""monitor as a scheduled job runs it: exit codes an operator can act on, no
stale report after a failure, no alarm on too few documents, and a page that
shows what was not read, p-values, examples and every signal's history."""

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import spacy
import srsly

from scripts.lib.drift import profile, vocabulary
from scripts.lib.errors import UserError

from .conftest import ROOT, rules_model, run, settings_file, workflow_options, write_lines

TEXTS = [f"A Ana {n} mora em Lisboa com a {name}." for n, name in
         enumerate(["Rita", "Ana", "Joana", "Marta", "Ana", "Clara"] * 10)]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A rules model placed as a run's model-best, with the reference profile of TEXTS."""
    folder = tmp_path_factory.mktemp("run") / "sample-rules-s0"
    folder.mkdir()
    model = rules_model(folder / "model-best")
    nlp = spacy.load(model)
    srsly.write_json(folder / "reference.json", {
        "profile": profile(nlp, TEXTS, set()),
        "train_vocabulary": sorted(vocabulary(nlp.pipe(TEXTS)))})
    return folder


def monitor(run_dir: Path, source: Path, out: Path, labelled: str = "", **thresholds: Any):
    """monitor as the workflow runs it, with configs/monitor.yml's `thresholds` changed."""
    settings = settings_file("monitor", out.parent / f"{out.name}-thresholds", **thresholds)
    return run(["python", "-m", "scripts.monitor", str(run_dir / "model-best"), str(run_dir / "reference.json"),
                str(source), str(out), *workflow_options("monitor", txt_documents="line", labelled=labelled,
                                                         thresholds=settings)], ROOT)


def history(out: Path) -> List[Dict[str, Any]]:
    return list(srsly.read_jsonl(out / "history.jsonl"))


@pytest.mark.slow
def test_exit_codes_no_drift_drift_and_error_with_the_stale_report_removed(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "monitor"
    same = monitor(run_dir, write_lines(tmp_path / "same.txt", TEXTS), out)
    assert same.returncode == 0 and "No drift" in same.stdout, same.stderr
    other = write_lines(tmp_path / "other.txt", ["SELECT id FROM users WHERE created_at > NOW();"] * 60)
    drifted = monitor(run_dir, other, out)
    assert drifted.returncode == 1 and "Drift:" in drifted.stdout
    assert srsly.read_json(out / "monitor.json")["status"] == "drift"
    for bad_input, says in ((tmp_path / "missing.txt", "input not found"),
                            (write_lines(tmp_path / "empty.txt", [""]), "no documents to monitor"),
                            (write_lines(tmp_path / "notes.md", ["x"]), "no .txt, .jsonl files")):
        failed = monitor(run_dir, bad_input, out)
        assert failed.returncode == 2 and says in failed.stderr, failed.stderr
        assert not (out / "monitor.json").exists() and not (out / "monitor.html").exists()
    statuses = [entry["status"] for entry in history(out)]
    assert statuses == ["no_drift", "drift", "error", "error", "error"]
    assert "input not found" in history(out)[2]["error"]


def test_too_few_documents_raise_no_alarm_and_the_page_says_so(run_dir: Path, tmp_path: Path) -> None:
    five = write_lines(tmp_path / "five.txt", ["SELECT id FROM users;"] * 5)  # far off, but 5 documents
    result = monitor(run_dir, five, tmp_path / "out")
    assert result.returncode == 0 and "Too few documents" in result.stdout
    report = srsly.read_json(tmp_path / "out" / "monitor.json")
    assert report["status"] == "too_few" and not any(row["crossed"] for row in report["signals"])
    page = (tmp_path / "out" / "monitor.html").read_text(encoding="utf8")
    assert "Too few documents to judge" in page and "at least 30" in page


@pytest.mark.slow
def test_the_page_shows_what_was_not_read_p_values_examples_unseen_words_and_history(
        run_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "new.jsonl"
    lines = [srsly.json_dumps({"text": text.replace("Lisboa", "Coimbra")}) for text in TEXTS]
    source.write_bytes(("\n".join(lines[:30]) + "\n{broken\n" + "\n".join(lines[30:])
                        + '\n{"no_text": 1}\n').encode("utf8") + b'{"text": "S\xe3o"}\n')
    out = tmp_path / "out"
    for _ in range(2):
        assert monitor(run_dir, source, out).returncode in (0, 1)
    report = srsly.read_json(out / "monitor.json")
    assert len(report["skipped"]) == 3 and report["current"]["docs"] == len(TEXTS)
    assert report["current"]["top_unseen_words"][0] == ["coimbra", len(TEXTS)]
    label_row = next(row for row in report["signals"] if row["key"] == "label_js")
    assert 0 < label_row["p_value"] <= 1
    page = (out / "monitor.html").read_text(encoding="utf8")
    assert "3 record(s) not read" in page and f"{source}:31: not valid JSON" in page
    assert "coimbra (60)" in page and '<mark title="PER">Ana<sub>PER</sub></mark>' in page
    assert str(run_dir / "model-best") in page and str(source) in page
    assert f"{label_row['p_value']:.3g}" in page
    assert len(history(out)) == 2 and "2 run(s), 0 failed" in page
    assert re.search(r'<img alt="signals over time" src="data:image/png;base64,[A-Za-z0-9+/=]{100,}', page)


def test_the_labelled_sample_is_read_as_preprocess_read_the_training_data(run_dir: Path, tmp_path: Path) -> None:
    """The data report's read options (here a legacy encoding) and labels map:
    labels renamed for training are scored under the names the model learnt."""
    from scripts.lib.cleaning import LABELS_KEY, READ_OPTIONS_KEY
    from scripts.lib.readers import ReadOptions
    from scripts.monitor import labelled_f1

    sample = tmp_path / "sample.jsonl"
    sample.write_bytes("\n".join(json.dumps(record, ensure_ascii=False) for record in (
        {"text": "A Ana mora em Lisboa, São.", "entities": [[2, 5, "PESSOA"], [14, 20, "LOCAL"], [22, 25, "TEMPO"]]},
        {"text": "Ana chegou.", "entities": [[0, 3, "PER"]]},  # annotated with the model's labels
    )).encode("latin-1"))
    report = tmp_path / "data_report.json"
    srsly.write_json(report, {READ_OPTIONS_KEY: vars(ReadOptions(legacy_encoding="latin-1")),
                              LABELS_KEY: {"kept": {"PESSOA": "PER", "LOCAL": "LOC"}, "keep_others": False}})
    scores = labelled_f1(spacy.load(run_dir / "model-best"), sample, report)
    assert (scores["docs"], scores["f"], scores["dropped"]) == (2, 1.0, 1)  # TEMPO: not a label the data kept
    with pytest.raises(UserError, match="not valid UTF-8"):
        labelled_f1(spacy.load(run_dir / "model-best"), sample, None)
