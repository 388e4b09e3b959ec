"""The tests' forked runner (tests/forked.py) answers as a new interpreter does."""

import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
import srsly

from .conftest import ROOT, run, weasel, workflow_options
from .forked import run_forked


def preprocess_args(tmp_path: Path, *options: str) -> List[str]:
    return ["python", "-m", "scripts.preprocess", str(tmp_path / "missing"), str(tmp_path / "out"),
            *workflow_options("preprocess", manifest=None), *options]


@pytest.mark.parametrize("options,says", [([], "missing"), (["--seed", "not-a-number"], "Usage: python -m scripts.preprocess")],
                         ids=["missing input", "bad option"])
def test_a_forked_step_exits_and_prints_as_a_new_interpreter(tmp_path: Path, options: List[str], says: str) -> None:
    forked = run(preprocess_args(tmp_path, *options), ROOT)
    fresh = run(preprocess_args(tmp_path, *options), ROOT, fresh=True)
    assert forked.returncode == fresh.returncode != 0
    assert (forked.stdout, forked.stderr) == (fresh.stdout, fresh.stderr)
    assert says in forked.stdout + forked.stderr


def test_an_uncaught_error_is_a_traceback_and_status_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "failing_step.py").write_text("if __name__ == '__main__':\n    raise RuntimeError('broken step')\n",
                                              encoding="utf8")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run_forked("failing_step", [], str(tmp_path), {"PATH": "/usr/bin"}, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Traceback") and result.stderr.rstrip().endswith("RuntimeError: broken step")


def test_a_step_over_its_time_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stuck_step.py").write_text("import time\nif __name__ == '__main__':\n    time.sleep(600)\n",
                                            encoding="utf8")
    monkeypatch.syspath_prepend(str(tmp_path))
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        run_forked("stuck_step", [], str(tmp_path), {}, timeout=1)
    assert time.monotonic() - began < 30 and expired.value.cmd == [sys.executable, "-m", "stuck_step"]


def test_weasel_forked_runs_the_project_of_its_own_directory(tmp_path: Path) -> None:
    """weasel's commands take the directory they were imported in as the default
    project: the forked child imports weasel again, in the project's directory."""
    script = "python -c \"import pathlib; pathlib.Path('made.txt').write_text('here')\""
    srsly.write_yaml(tmp_path / "project.yml", {"title": "forked", "commands": [{"name": "make", "script": [script]}]})
    weasel(["run", "make"], tmp_path)
    assert (tmp_path / "made.txt").read_text() == "here"
    assert not (ROOT / "made.txt").exists()
