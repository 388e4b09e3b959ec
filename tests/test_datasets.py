"""Real datasets through the real fetch path, served from ../shared/data on loopback,
and assets/README.md's walk-through on the CoNLL-2002 files copied from there.

Skipped when ../shared/data is absent (it holds copies of public datasets for
benchmarks and is not part of the project). Slow: tens of thousands of sentences
through weasel's fetch and preprocess.
"""

import re
import shlex
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import srsly

from .conftest import ROOT, copy_project, serve_folder, weasel

MIRROR = ROOT.parent / "shared" / "data" / "mirror"
needs_shared = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no dataset mirror at {MIRROR}")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loopback_mirror() -> Iterator[str]:
    with serve_folder(MIRROR) as url:
        yield url


def fetch_and_preprocess(project: Path, dataset: str, *var_args: str) -> dict:
    """The real fetch path then preprocessing, through weasel; returns the data report."""
    args = [".", "--vars.dataset", dataset, *var_args]
    weasel(["run", "fetch", *args], project)
    weasel(["run", "preprocess", *args], project)
    return srsly.read_json(project / "corpus" / dataset / "data_report.json")


@needs_shared
def test_lener_br_fetches_over_http_with_checksums_and_converts(loopback_mirror: str, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    report = fetch_and_preprocess(project, "lener_br", "--vars.assets_mirror", loopback_mirror)
    assert [(s["path"], s["records"], s["entities"]) for s in report["sources"]] == [
        ("assets/lener_br/dev.conll", 1176, 1818),
        ("assets/lener_br/test.conll", 1389, 1536),
        ("assets/lener_br/train.conll", 7827, 8894),
    ]
    assert report["split_method"] == {"train": "given", "dev": "given", "test": "given"}
    assert set(report["splits"]["test"]["labels"]) == {
        "JURISPRUDENCIA", "LEGISLACAO", "LOCAL", "ORGANIZACAO", "PESSOA", "TEMPO"}
    assert report["problem_counts"]["dropped record"]["exact duplicate"] > 0
    assert report["leakage"]["pairs"]["train-test"]["exact"] > 0  # reported, not hidden


@needs_shared
def test_a_corrupted_download_stops_the_workflow(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    mirror = tmp_path / "mirror"
    source = MIRROR / "peluz"
    for path in source.rglob("*.conll"):
        if path.name in ("train.conll", "dev.conll", "test.conll"):
            target = mirror / path.relative_to(MIRROR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    dev = next(mirror.rglob("dev.conll"))
    dev.write_bytes(dev.read_bytes() + b"tampered O\n")
    result = weasel(["run", "all", ".", "--vars.dataset", "lener_br", "--vars.assets_mirror", str(mirror)],
                    project, check=False)
    assert result.returncode == 1
    assert "assets/lener_br/dev.conll: checksum mismatch" in result.stderr
    assert not (project / "assets" / "lener_br" / "dev.conll").exists()
    assert not (project / "corpus" / "lener_br" / "train.spacy").exists()


@needs_shared
def test_conll2003_english_reads_iob1_documents_exactly(loopback_mirror: str, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    report = fetch_and_preprocess(project, "conll2003", "--vars.lang", "en", "--vars.dedupe", "train",
                                  "--vars.assets_mirror", loopback_mirror)
    # The published sizes: sentences and entities per split (IOB1 read correctly).
    assert [(s["path"], s["records"], s["entities"]) for s in report["sources"]] == [
        ("assets/conll2003/dev.conll", 3250, 5942),
        ("assets/conll2003/test.conll", 3453, 5648),
        ("assets/conll2003/train.conll", 14041, 23499),
    ]
    test = report["splits"]["test"]
    assert (test["sentences"], test["entities"]) == (3453, 5648)  # dedupe=train keeps test whole
    assert test["labels"] == {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}
    assert test["docs"] >= 231  # sentences joined within the 231 documents


@needs_shared
def test_harem_whole_documents_are_all_kept_under_mask(loopback_mirror: str, tmp_path: Path) -> None:
    """BERTimbau's HAREM files: minified JSON arrays of whole documents whose
    spans sometimes end inside a spaCy token. Under mask every document is kept
    and only those spans' tokens go unannotated (SOURCE.md counts 68 + 1 + 45)."""
    project = copy_project(tmp_path / "project")
    report = fetch_and_preprocess(project, "harem", "--vars.on_problem", "mask",
                                  "--vars.assets_mirror", loopback_mirror)
    assert [(s["path"], s["format"], s["records"], s["entities"]) for s in report["sources"]] == [
        ("assets/harem/dev.json", "doccano", 8, 167),
        ("assets/harem/test.json", "doccano", 128, 3018),
        ("assets/harem/train.json", "doccano", 121, 3984),
    ]
    assert {split: report["splits"][split]["docs"] for split in ("train", "dev", "test")} == \
        {"train": 121, "dev": 8, "test": 128}
    assert report["problem_counts"]["masked span"] == {"misaligned span": 114}
    assert report["problem_counts"]["fixed span"] == {"whitespace at span edge": 3}


@needs_shared
def test_the_conll2002_walk_through_runs_as_assets_readme_shows_it(tmp_path: Path) -> None:
    """assets/README.md's walk-through: the Spanish files dropped in unrenamed, its
    commands as written, every line it quotes from the screen (wrapping aside)."""
    project = copy_project(tmp_path / "project")
    source = next(MIRROR.rglob("conll2002"))
    (project / "assets" / "conll2002_es").mkdir()
    for name in ("esp.train.gz", "esp.testa.gz", "esp.testb.gz"):
        shutil.copy(source / name, project / "assets" / "conll2002_es" / name)
    walk_through = (ROOT / "assets" / "README.md").read_text(encoding="utf8").split(
        "## Walk-through: a dataset as published")[1].split("\n## ")[0]
    command, stop, report = re.findall(r"```(?:bash)?\n(.*?)```", walk_through, flags=re.S)
    args = shlex.split(command.strip())
    assert args[:3] == ["weasel", "run", "all"]
    stopped = weasel(args[1:], project, check=False)
    assert stopped.returncode == 1 and not (project / "corpus" / "conll2002_es" / "train.spacy").exists()
    assert " ".join(stop.split()) in " ".join(stopped.stderr.split())
    # The same vars and the one it asks for, up to the step that prints the report (not the training after it).
    vars_ = [*args[3:], "--vars.format", "conll"]
    weasel(["run", "fetch", *vars_], project)
    shown = weasel(["run", "preprocess", *vars_], project)
    screen = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout + shown.stderr).split())  # colours aside
    for line in report.strip().splitlines()[1:]:  # after the table's header
        assert " ".join(line.split()) in screen, line
