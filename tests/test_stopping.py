"""Stopping a step from outside (SIGTERM from `kill` or a scheduler's timeout):
temporary outputs are removed, earlier outputs are kept, and child commands stop."""

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest
import srsly

from scripts.lib import runs
from scripts.lib.errors import UserError

from .conftest import ROOT, run, terminate_weasel, wait_for, workflow_options


def train_command(base: Path, run_dir: Path, config: str) -> List[str]:
    return [sys.executable, "-m", "scripts.train", str(base / config), str(base / "corpus"),
            str(run_dir), *workflow_options("train", latest=None, pretrained=None, silver=None)]


@pytest.mark.slow
def test_sigterm_during_training_removes_the_staging_folder_and_keeps_the_last_run(
        corpus_and_config: Path, tmp_path: Path) -> None:
    (tmp_path / "corpus").symlink_to(corpus_and_config / "corpus")
    for config in ("config.cfg", "long.cfg"):
        (tmp_path / config).symlink_to(corpus_and_config / config)
    run_dir = tmp_path / "run"
    first = run(train_command(tmp_path, run_dir, "config.cfg"), ROOT, check=True)
    # spaCy's messages name the run folder, not the staging folder that is deleted.
    assert ".staging-" not in first.stdout and f"{run_dir}/model-last" in first.stdout.replace("\n", "")
    finished = {name: (run_dir / name).read_bytes() for name in ("run.json", "train_log.jsonl")}

    process = subprocess.Popen(train_command(tmp_path, run_dir, "long.cfg"), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(run_dir.glob(".staging-*/train_log.jsonl")), "training never started")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM; outputs in progress removed" in stderr
    assert sorted(p.name for p in run_dir.iterdir()) == [".train.lock", "model-best", "model-last",
                                                         "run.json", "train_log.jsonl"]
    assert {name: (run_dir / name).read_bytes() for name in finished} == finished


# A step that records its pid, then waits; it is stopped or it fails.
WAITING_STEP = ("import os, sys, time; from scripts.lib.errors import exit_on_user_error; "
                "exit_on_user_error(lambda: (open(sys.argv[1], 'w').write(str(os.getpid())), time.sleep(120)))()")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_sigterm_to_an_outer_weasel_stops_the_step_of_the_weasel_it_runs(tmp_path: Path) -> None:
    """weasel running weasel, as the benchmarks run the template's steps: TERM
    to the outer one stops the step (and so the inner weasel) too."""
    pid_file = tmp_path / "step.pid"
    for project in ("inner", "outer"):
        (tmp_path / project).mkdir()
    srsly.write_yaml(tmp_path / "inner" / "project.yml", {"commands": [
        {"name": "wait", "script": [f"python -c {shlex.quote(WAITING_STEP)} {pid_file}"]}]})
    srsly.write_yaml(tmp_path / "outer" / "project.yml", {"commands": [
        {"name": "run-inner", "script": ["python -m weasel run wait ../inner"]}]})
    outer = subprocess.Popen([sys.executable, "-m", "weasel", "run", "run-inner", "."], cwd=tmp_path / "outer",
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})
    wait_for(lambda: pid_file.is_file() and pid_file.read_text() != "", "the step never started", 60)
    terminate_weasel(outer, int(pid_file.read_text()), "step of the inner weasel")


def test_stop_running_ends_the_commands_other_threads_wait_for() -> None:
    errors: List[BaseException] = []

    def wait_for_sleeper() -> None:
        try:
            runs.run_checked([sys.executable, "-c", "import time; time.sleep(60)"])
        except BaseException as err:  # noqa: B036 - handed to the test thread
            errors.append(err)

    thread = threading.Thread(target=wait_for_sleeper)
    started = time.time()
    thread.start()
    wait_for(lambda: bool(runs._running), "the command never started", seconds=10)
    runs.stop_running()
    thread.join(timeout=20)
    assert not thread.is_alive() and time.time() - started < 20
    assert len(errors) == 1 and isinstance(errors[0], UserError)
    assert f"exit code -{int(signal.SIGTERM)}" in str(errors[0])
    assert not runs._running


def test_a_run_killed_outright_has_its_staging_folder_removed_by_its_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A training that dies by SIGKILL (or a crash) cannot clean up; the step
    that started it removes what it left, and nothing a live process writes."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    alive = run_dir / f".staging-{os.getpid()}"
    alive.mkdir()
    dies = ("import os, pathlib, signal, sys; "
            "pathlib.Path(sys.argv[1], f'.staging-{os.getpid()}').mkdir(); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    monkeypatch.setattr(runs, "step_command", lambda step, config, corpus, folder, *options:
                        [sys.executable, "-c", dies, str(folder)])
    with pytest.raises(UserError, match=f"exit code -{int(signal.SIGKILL)}"):
        runs.train_run(tmp_path / "config.cfg", tmp_path / "corpus", run_dir, 0, -1)
    assert [p.name for p in run_dir.iterdir()] == [alive.name]
    assert "left by a run that did not finish" in capsys.readouterr().out


class Stop(Exception):
    pass


@pytest.mark.slow
def test_a_followed_run_sees_every_evaluation_and_raising_stops_it(corpus_and_config: Path,
                                                                     tmp_path: Path) -> None:
    """How tune prunes a trial: the parent reads the child's progress file (an
    explicit path it chose) as it grows; no file is left behind."""
    seen: List[int] = []
    finished = tmp_path / "finished"
    runs.train_run(corpus_and_config / "config.cfg", corpus_and_config / "corpus", finished, 0, -1,
                   on_evaluation=lambda record: seen.append(record["step"]))
    logged = [line["step"] for line in srsly.read_jsonl(finished / "train_log.jsonl")]
    assert seen == logged and len(logged) > 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finished"]

    def stop_at_second(record: dict) -> None:
        if record["step"] > 0:
            raise Stop(record["step"])

    stopped = tmp_path / "stopped"
    started = time.time()
    with pytest.raises(Stop):
        runs.train_run(corpus_and_config / "long.cfg", corpus_and_config / "corpus", stopped, 0, -1,
                       on_evaluation=stop_at_second)
    assert time.time() - started < 120
    # The child was stopped, not left training, and removed what it had begun.
    assert [p.name for p in stopped.iterdir()] == [".train.lock"]
    assert not runs._running

