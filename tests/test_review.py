"""review: the seed runs vote on new text, the documents they disagree on most
(and not already in the dataset, and not repeating each other) become tasks for
Label Studio, Prodigy and doccano; corrected exports come back through preprocess
as training data only."""

import itertools
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
import srsly
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from scripts.lib.files import md5_path
from scripts.lib.readers import read_records
from scripts.lib.review_tasks import LABEL_STUDIO_CONFIG, REVIEW_ID, TASK_FILES, Task, stable_id, write_tasks
from scripts.review import disagreement, pick, vote_entropy

from .conftest import ROOT, SAMPLE_LANG, preprocess, ruler_run, run, settings_file, workflow_options, write_lines

ANA = {"label": "PER", "pattern": "Ana"}
LISBOA_LOC = {"label": "LOC", "pattern": "Lisboa"}
LISBOA_ORG = {"label": "ORG", "pattern": "Lisboa"}


def test_vote_entropy_is_zero_when_unanimous_and_one_when_split_in_half() -> None:
    assert vote_entropy(3, 3) == vote_entropy(0, 3) == 0
    assert vote_entropy(2, 4) == 1
    assert 0.9 < vote_entropy(1, 3) == vote_entropy(2, 3) < 1


def test_disagreement_scores_contested_entities_and_keeps_the_majority() -> None:
    per, loc, org = (0, 3, "PER"), (10, 16, "LOC"), (10, 16, "ORG")
    assert disagreement([{per, loc}, {per, loc}, {per, loc}]) == (0, [per, loc], [])
    score, majority, contested = disagreement([{per, loc}, {per, org}, {per}])
    assert majority == [per] and {entity for entity, _ in contested} == {loc, org}
    assert score == round(2 * vote_entropy(1, 3), 6)


def test_majority_entities_never_overlap() -> None:
    """Every way three or four models can each find non-overlapping entities among
    overlapping candidates: the majority's entities never overlap."""
    candidates = [(0, 5, "A"), (0, 5, "B"), (3, 8, "A"), (6, 9, "B")]
    valid = [set(subset) for size in range(3) for subset in itertools.combinations(candidates, size)
             if all(a[1] <= b[0] or b[1] <= a[0] for a, b in itertools.combinations(subset, 2))]
    for voters in (3, 4):
        for predictions in itertools.product(valid, repeat=voters):
            _, majority, _ = disagreement(list(predictions))
            assert all(a[1] <= b[0] for a, b in zip(majority, majority[1:])), (predictions, majority)


def task(text: str, score: float) -> Task:
    return Task(stable_id(text), text, [], score, "", "pool:1")


def test_picks_go_by_score_and_pass_over_near_repeats_of_earlier_picks() -> None:
    first = task("A ministra Ana Costa visitou Lisboa na manhã de ontem.", 2.0)
    near = task("A ministra Ana Souza visitou Lisboa na manhã de ontem.", 1.5)  # one word changed
    other = task("O banco anunciou lucros recordes no trimestre passado.", 1.0)
    ties = [task(f"Texto {n} sem entidades.", 0.0) for n in range(3)]
    picked, passed_over = pick([other, *ties, near, first], 3)
    assert picked[:2] == [first, other] and passed_over == 1
    assert picked[2] == min(ties, key=lambda t: t.review_id)  # a tie goes to the smaller id: stable order


# What each tool gives back after a person corrected the tasks: the tool's own
# export format (the fields it adds, its ids), with the corrected spans.
def label_studio_export(tasks: List[Dict[str, Any]], corrected: List[List[Tuple[int, int, str]]]) -> List[Dict]:
    exported = []
    for number, (item, spans) in enumerate(zip(tasks, corrected), start=101):
        result = [{"id": f"x{i}", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
                   "value": {"start": s, "end": e, "text": item["data"]["text"][s:e], "labels": [label]}}
                  for i, (s, e, label) in enumerate(spans)]
        exported.append({"id": number, "data": item["data"], "predictions": [1000 + number],
                         "annotations": [{"id": number, "result": result, "was_cancelled": False,
                                          "completed_by": 1}]})
    return exported


def prodigy_export(tasks: List[Dict[str, Any]], corrected: List[List[Tuple[int, int, str]]]) -> List[Dict]:
    return [{**item, "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans],
             "_input_hash": 7 + n, "_task_hash": 70 + n, "answer": "accept", "_view_id": "ner_manual"}
            for n, (item, spans) in enumerate(zip(tasks, corrected))]


def doccano_export(tasks: List[Dict[str, Any]], corrected: List[List[Tuple[int, int, str]]]) -> List[Dict]:
    return [{"id": 500 + n, **{k: v for k, v in item.items() if k != "label"},
             "label": [[s, e, label] for s, e, label in spans], "Comments": []}
            for n, (item, spans) in enumerate(zip(tasks, corrected))]


EXPORTS: Dict[str, Tuple[Callable, str]] = {
    "label_studio": (label_studio_export, "review-1.train.json"),
    "prodigy": (prodigy_export, "review-1.train.jsonl"),
    "doccano": (doccano_export, "review-1.train.jsonl"),
}


def corrected_spans(text: str) -> List[Tuple[int, int, str]]:
    """A correction a person makes: every capitalised word after the first is an entity."""
    spans, offset = [], 0
    for index, word in enumerate(text.split(" ")):
        if index and word[:1].isupper():
            spans.append((offset, offset + len(word.rstrip(".,")), "PER" if len(word) % 2 else "LOC"))
        offset += len(word) + 1
    return spans


TEXTS = ["A ministra Ana Costa visitou Lisboa.", "O Banco Atlântico abriu uma agência em Braga.",
         "Nada a assinalar hoje."]


def written_tasks(folder: Path) -> Dict[str, Any]:
    tasks = [Task(stable_id(text), text, [(2, 9, "ORG")] if n == 0 else [], 1.0 - n / 10, f"reason {n}", f"pool:{n}")
             for n, text in enumerate(TEXTS)]
    folder.mkdir(parents=True)
    write_tasks(folder, tasks, ["LOC", "ORG", "PER"], "committee")
    return {"tasks": tasks}


@pytest.mark.parametrize("tool", sorted(EXPORTS))
def test_round_trip_gives_exactly_the_corrected_spans_and_keeps_the_ids(tool: str, tmp_path: Path) -> None:
    tasks = written_tasks(tmp_path / "review")["tasks"]
    path = tmp_path / "review" / TASK_FILES[tool]
    imported = srsly.read_json(path) if path.suffix == ".json" else list(srsly.read_jsonl(path))
    # The pre-annotation is the committee's: what a tool shows before any correction.
    first = imported[0]
    spans = {"label_studio": lambda t: [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
                                        for r in t["predictions"][0]["result"]],
             "prodigy": lambda t: [(s["start"], s["end"], s["label"]) for s in t["spans"]],
             "doccano": lambda t: [tuple(s) for s in t["label"]]}[tool](first)
    assert spans == [(2, 9, "ORG")]
    corrected = [corrected_spans(text) for text in TEXTS]
    export, name = EXPORTS[tool]
    exported = tmp_path / "assets" / name
    exported.parent.mkdir()
    if name.endswith(".json"):
        srsly.write_json(exported, export(imported, corrected))
    else:
        srsly.write_jsonl(exported, export(imported, corrected))
    records = read_records(exported)
    assert [record.text for record in records] == TEXTS
    assert [sorted(record.entities) for record in records] == [sorted(spans) for spans in corrected]
    assert [record.id for record in records] == [t.review_id for t in tasks]


def test_the_label_studio_config_names_the_labels_the_predictions_use(tmp_path: Path) -> None:
    written_tasks(tmp_path / "review")
    config = (tmp_path / "review" / LABEL_STUDIO_CONFIG).read_text(encoding="utf8")
    result = srsly.read_json(tmp_path / "review" / TASK_FILES["label_studio"])[0]["predictions"][0]["result"][0]
    assert f'<Labels name="{result["from_name"]}" toName="{result["to_name"]}">' in config
    assert all(f'<Label value="{label}"/>' in config for label in ("LOC", "ORG", "PER"))


def review(committee: str, pool: Path, corpus: Path, out: Path, batch: int = 5):
    return run(["python", "-m", "scripts.review", committee, str(pool), str(corpus), str(out),
                *workflow_options("review", batch=batch,
                                  settings=settings_file("review", out.parent / "settings"))], ROOT)


def corpus_docs(corpus: Path, split: str) -> List[Tuple[str, List[Tuple[int, int, str]]]]:
    return [(doc.text, [(e.start_char, e.end_char, e.label_) for e in doc.ents])
            for doc in DocBin().from_disk(corpus / f"{split}.spacy").get_docs(Vocab())]


def corpus_texts(corpus: Path, split: str) -> List[str]:
    return [doc.text for doc in DocBin().from_disk(corpus / f"{split}.spacy").get_docs(Vocab())]


@pytest.fixture
def committee(corpus_and_config: Path, tmp_path: Path) -> Path:
    """Three rule models: they agree on "Ana" and split on "Lisboa" (LOC, ORG, none)."""
    corpus = corpus_and_config / "corpus"
    for seed, patterns in enumerate(([ANA, LISBOA_LOC], [ANA, LISBOA_ORG], [ANA])):
        ruler_run(tmp_path / "seeds" / f"s{seed}", corpus, patterns)
    return tmp_path / "seeds"


def test_review_picks_what_the_committee_disputes_never_what_the_dataset_has(
        committee: Path, corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    dev, test = corpus_texts(corpus, "dev"), corpus_texts(corpus, "test")
    long_test = next(text for text in test if len(text.split()) >= 8)
    words = long_test.split()
    near_test = " ".join(words[:-2] + ["Xavier"] + words[-1:])  # one word of the test sentence changed
    disputed = [f"A reunião em Lisboa com {name} terminou tarde." for name in ("Rui", "Eva", "Teresa")]
    pool = [{"id": "dev-copy", "text": dev[0]}, {"id": "test-copy", "text": long_test},
            {"id": "test-near", "text": near_test},
            *({"id": f"disputed-{n}", "text": text} for n, text in enumerate(disputed)),
            {"id": "disputed-again", "text": disputed[0]},
            {"id": "agreed", "text": "Ana chegou cedo ao escritório."}]
    srsly.write_jsonl(tmp_path / "pool.jsonl", pool)
    out = tmp_path / "out" / "review"
    result = review(str(committee), tmp_path / "pool.jsonl", corpus, out, batch=4)
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(out / "review.json")
    assert report["counts"]["read"] == len(pool)
    assert report["counts"]["in_dev"] == 1 and report["counts"]["in_test"] == 2
    assert report["counts"]["near_duplicates_passed_over"] == 1
    picked = [row["source"] for row in report["picked"]]
    assert sorted(picked[:3]) == ["disputed-0", "disputed-1", "disputed-2"] and picked[3] == "agreed"
    assert "'Lisboa' LOC (1/3)" in report["picked"][0]["reason"] and report["picked"][0]["score"] > 0
    prodigy = list(srsly.read_jsonl(out / TASK_FILES["prodigy"]))
    assert [t["meta"][REVIEW_ID] for t in prodigy] == [row["review_id"] for row in report["picked"]]
    # "Ana" is the committee's majority; "Lisboa" is no one's: only Ana is pre-annotated.
    assert prodigy[3]["spans"] == [{"start": 0, "end": 3, "label": "PER"}]
    assert all([s["label"] for s in t["spans"]] == [] for t in prodigy[:3])
    assert len(srsly.read_json(out / TASK_FILES["label_studio"])) == len(list(srsly.read_jsonl(
        out / TASK_FILES["doccano"]))) == 4
    # The same inputs give the same tasks, byte for byte.
    again = tmp_path / "again" / "review"
    assert review(str(committee), tmp_path / "pool.jsonl", corpus, again, batch=4).returncode == 0
    assert all(md5_path(out / name) == md5_path(again / name) for name in TASK_FILES.values())


def test_a_committee_of_one_is_refused_and_earlier_tasks_are_kept(
        committee: Path, corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    write_lines(tmp_path / "pool.jsonl", ['{"text": "A reunião em Lisboa terminou tarde."}'])
    out = tmp_path / "out" / "review"
    assert review(str(committee), tmp_path / "pool.jsonl", corpus, out).returncode == 0
    before = md5_path(out)
    result = review(str(committee / "s0"), tmp_path / "pool.jsonl", corpus, out)
    assert result.returncode == 1 and "a committee needs two models or more" in result.stderr
    assert str(committee / "s0") in result.stderr and "Traceback" not in result.stderr
    write_lines(tmp_path / "bad.jsonl", ['{"text": "ok"', '{"no_text": 1}'])
    result = review(str(committee), tmp_path / "bad.jsonl", corpus, out)
    assert result.returncode == 1 and "no documents to review" in result.stderr
    assert md5_path(out) == before


def test_corrected_batches_join_train_only_and_repeats_are_reported(sample_data: Path, tmp_path: Path) -> None:
    """Corrected exports named *.train.* beside the unsplit sample: dev and test are
    exactly what they were, train gains the batches, a repeat across batches is
    dropped and reported, and each record keeps its review id."""
    plain = tmp_path / "plain"
    assert preprocess(sample_data, plain, "--lang", SAMPLE_LANG).returncode == 0
    data = tmp_path / "data"
    data.mkdir()
    (data / "ner_pt.jsonl").write_bytes((sample_data / "ner_pt.jsonl").read_bytes())
    texts = ["A reunião em Lisboa com Rui terminou tarde.", "O Banco Atlântico abriu uma agência em Braga."]
    tasks = [{"text": text, "meta": {REVIEW_ID: stable_id(text)}} for text in texts]
    srsly.write_jsonl(data / "review-1.train.jsonl", prodigy_export(tasks, [corrected_spans(t) for t in texts]))
    srsly.write_json(data / "review-2.train.json", label_studio_export(
        [{"data": {"text": texts[1], REVIEW_ID: stable_id(texts[1])}}], [corrected_spans(texts[1])]))
    out = tmp_path / "out"
    result = preprocess(data, out, "--lang", SAMPLE_LANG)
    assert result.returncode == 0, result.stderr
    for split in ("dev", "test"):
        assert corpus_docs(out, split) == corpus_docs(plain, split)
    train = list(DocBin(store_user_data=True).from_disk(out / "train.spacy").get_docs(Vocab()))
    added = {doc.user_data["id"]: doc for doc in train if doc.user_data["source"].startswith(str(data / "review-"))}
    assert set(added) == {stable_id(text) for text in texts}
    assert [(e.start_char, e.end_char) for e in added[stable_id(texts[0])].ents] == \
        [(s, e) for s, e, _ in corrected_spans(texts[0])]
    assert len(train) == len(corpus_texts(plain, "train")) + 2
    report = srsly.read_json(out / "data_report.json")
    (repeat,) = [p for p in report["problems"] if p["file"].endswith("review-2.train.json")]
    assert repeat["kind"] == "exact duplicate" and "review-1.train.jsonl" in repeat["reason"]
    assert report["split_method"]["train"].endswith("plus review-1.train.jsonl, review-2.train.json")
    assert json.dumps(report["split_method"]["test"]).startswith('"0.15 of pool')
