"""Starting a new NER task from the template, as a new user would: clone it,
drop annotated files into assets/<task>/, set a few vars, run the workflow."""

import json
import random
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest
import srsly

from .conftest import copy_project, weasel

pytestmark = pytest.mark.slow

SMALL = ["--vars.max_steps", "60", "--vars.eval_frequency", "20", "--vars.patience", "0", "--vars.speed_seconds", "0"]
PEOPLE = ["John Smith", "Mary Jones", "Ahmed Khan", "Li Wei", "Sara Olsen", "Tom Baker", "Ana Ruiz"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries", "Wayne Foods"]
CITIES = ["London", "Boston", "Toronto", "Sydney", "Dublin", "Chicago", "Denver", "Leeds"]
TEMPLATES = ["{P} joined {C} in {L} last year .", "{C} opened an office in {L} .",
             "Yesterday {P} flew to {L} to meet {C} investors .", "{P} left {C} after ten years .",
             "Shares of {C} rose in {L} trading .", "{P} was born in {L} ."]
LABELS = {"P": "PERSON", "C": "COMPANY", "L": "CITY"}


def english_sentences(n: int, seed: int) -> List[List[Tuple[str, str]]]:
    """Token/tag sentences with the labels PERSON, COMPANY, CITY."""
    rng = random.Random(seed)
    pools = {"P": PEOPLE, "C": COMPANIES, "L": CITIES}
    sentences = []
    for _ in range(n):
        tokens: List[Tuple[str, str]] = []
        for word in rng.choice(TEMPLATES).split():
            if word.startswith("{"):
                slot = word[1]
                for i, part in enumerate(rng.choice(pools[slot]).split()):
                    tokens.append((part, f"{'B' if i == 0 else 'I'}-{LABELS[slot]}"))
            else:
                tokens.append((word, "O"))
        sentences.append(tokens)
    return sentences


def write_conll(path: Path, sentences) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["-DOCSTART- -X- O O", ""]
    for i, sentence in enumerate(sentences):
        lines += [f"{word} NN O {tag}" for word, tag in sentence] + [""]
        if i % 8 == 7:
            lines += ["-DOCSTART- -X- O O", ""]
    path.write_text("\n".join(lines), encoding="utf8")


def label_studio_tasks(sentences) -> list:
    tasks = []
    for number, sentence in enumerate(sentences):
        text, results, start = "", [], None
        for word, tag in sentence:
            if text:
                text += " "
            if tag.startswith("B-"):
                start = len(text)
                results.append({"type": "labels", "from_name": "label", "to_name": "text",
                                "value": {"start": start, "end": start + len(word), "labels": [tag[2:]]}})
            elif tag.startswith("I-"):
                results[-1]["value"]["end"] = len(text) + len(word)
            text += word
        tasks.append({"id": number, "data": {"text": text},
                      "annotations": [{"was_cancelled": False, "result": results}]})
    return tasks


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory) -> Path:
    """A local git repository holding the template, standing in for its public URL."""
    repo = copy_project(tmp_path_factory.mktemp("origin") / "ner-template")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run(git + args, cwd=repo, check=True)
    return repo


def test_weasel_clone_then_english_conll_task_with_other_labels(template_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "my-task"
    weasel(["clone", ".", str(project), "--repo", str(template_repo), "--branch", "main"], tmp_path)
    assert (project / "project.yml").is_file() and (project / "configs" / "base.cfg").is_file()
    # spacy debug data wants 100+ training docs; CoNLL documents here hold 8 sentences.
    for split, seed, n in (("train", 1, 880), ("dev", 2, 80), ("test", 3, 80)):
        write_conll(project / "assets" / "mytask" / f"{split}.conll", english_sentences(n, seed))
    weasel(["run", "all", ".", "--vars.dataset", "mytask", "--vars.lang", "en",
            "--vars.package_name", "mytask_ner", *SMALL], project)
    run_dir = project / "training" / "mytask-cnn-efficiency-s0"
    metrics = srsly.read_json(run_dir / "metrics.json")
    assert set(metrics["per_label"]) == {"PERSON", "COMPANY", "CITY"}
    assert metrics["overall"]["support"] > 0
    report = srsly.read_json(project / "corpus" / "mytask" / "data_report.json")
    assert {s["format"] for s in report["sources"]} == {"conll"}
    train = [s for s in report["sources"] if s["path"].endswith("train.conll")][0]
    assert (train["records"], train["records_kept"]) == (880, report["splits"]["train"]["sentences"])
    # Sentences are joined per -DOCSTART- document (8 each): at most 110 docs.
    assert 100 <= report["splits"]["train"]["docs"] <= 110 < report["splits"]["train"]["sentences"]
    assert 'lang = "en"' in (run_dir / "config.cfg").read_text()
    assert list((project / "packages" / "en_mytask_ner-0.1.0" / "dist").glob("*.whl"))


def test_plain_git_clone_works_too(template_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "cloned"
    subprocess.run(["git", "clone", "-q", str(template_repo), str(project)], check=True)
    weasel(["run", "fetch", "."], project)
    weasel(["run", "preprocess", "."], project)
    assert (project / "corpus" / "sample" / "train.spacy").is_file()


def test_label_studio_export_unsplit_with_restricted_labels(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    export = project / "assets" / "ls" / "export.json"
    export.parent.mkdir(parents=True)
    export.write_text(json.dumps(label_studio_tasks(english_sentences(200, 4))), encoding="utf8")
    weasel(["run", "all", ".", "--vars.dataset", "ls", "--vars.lang", "en",
            "--vars.labels", "PERSON,CITY", *SMALL], project)
    metrics = srsly.read_json(project / "training" / "ls-cnn-efficiency-s0" / "metrics.json")
    assert set(metrics["per_label"]) == {"PERSON", "CITY"}
    report = srsly.read_json(project / "corpus" / "ls" / "data_report.json")
    assert report["sources"][0]["format"] == "label_studio"
    assert report["problem_counts"]["dropped span"]["label not in labels"] > 0
    assert report["split_method"]["test"].startswith("0.15 of pool")
