"""A project cloned for a new task: its first edits keep the template's quick
test loop passing. The tests assert properties of the project, not the values
it ships with."""

import re
import shutil
from pathlib import Path

import pytest

from .conftest import copy_project, run, set_var_defaults, weasel, write_lines

pytestmark = pytest.mark.slow

WIDE_CNN = """# Architecture `cnn_wide`: the default CNN with a wider encoder.
[components.tok2vec.model.encode]
width = 128
"""


def set_config_value(config: Path, section: str, key: str, value: str) -> None:
    """Edit one value in a config's text, as a person edits it."""
    text = config.read_text(encoding="utf8")
    block = re.search(rf"^\[{re.escape(section)}\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
    assert block, section
    edited, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", block.group(1), count=1, flags=re.M)
    assert count == 1, (section, key)
    config.write_text(text[:block.start(1)] + edited + text[block.end(1):], encoding="utf8")


def english_conll(path: Path, names: list, offset: int) -> None:
    lines = []
    for i in range(40):
        person, city = names[(i + offset) % len(names)], ["Leeds", "Boston", "Dublin"][i % 3]
        lines += [f"{person}\tB-PERSON", "moved\tO", "to\tO", f"{city}\tB-CITY", "in\tO", f"{1990 + i}\tO", ""]
    write_lines(path, lines)


def test_a_cloners_first_edits_keep_the_quick_tests_passing(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "my-ner-task")  # without benchmarks/, as a clone that deleted it
    assert not (project / "benchmarks").exists()
    base = project / "configs" / "base.cfg"
    set_config_value(base, "components.tok2vec.model.encode", "width", "128")
    set_config_value(base, "training", "dropout", "0.2")
    set_config_value(base, "training.optimizer.learn_rate", "base_rate", "0.002")
    (project / "configs" / "architecture" / "cnn_wide.cfg").write_text(WIDE_CNN, encoding="utf8")
    data = project / "assets" / "my_task"
    for split, offset in (("train", 0), ("dev", 1), ("test", 2)):
        english_conll(data / f"{split}.conll", ["Ann Lee", "Bob Stone", "Cy Young", "Di Ross"], offset)
    shutil.rmtree(project / "assets" / "sample")
    yml = project / "project.yml"
    text, count = re.subn(r'  - dest: "assets/sample/ner_pt\.jsonl"\n(    .*\n)+', "", yml.read_text(encoding="utf8"))
    assert count == 1
    yml.write_text(text, encoding="utf8")
    set_var_defaults(project, dataset="my_task", lang="en", max_steps=3000, patience=800)
    weasel(["run", "document"], project)  # the README's tables follow the new defaults

    fast = run(["python", "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"], project, timeout=1200)
    assert fast.returncode == 0, fast.stdout[-6000:]
    assert " passed" in fast.stdout and " failed" not in fast.stdout
    # The new data and the new architecture are one var away.
    for step in ("fetch", "preprocess", "prepare-unlabelled", "train-vectors", "create-config"):
        weasel(["run", step, ".", "--vars.architecture", "cnn_wide"], project)
    assert "width = 128" in (project / "training" / "my_task-cnn_wide-efficiency-s0" / "config.cfg").read_text()
