"""Hyperparameter search: space, overlay, reproducibility, interruption, and two
workers sharing one study in a real PostgreSQL server on loopback."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, List, Optional

import optuna
import pytest
import srsly
from confection import Config

from scripts import tune as tune_module
from scripts.lib.configs import read_budget, seeds_chosen_on, stock_config
from scripts.lib.errors import UserError
from scripts.lib.files import leftover_pid, process_alive
from scripts.tune import SpeedCheck, baseline_params, decode, overlay_text, read_space

from scripts.lib.processes import free_port

from .conftest import ROOT, copy_project, run, settings_file, wait_for, weasel, workflow_options, write_lines

pytestmark = pytest.mark.slow
# Trials of 20 updates (dev every 10, from the fixture's config) on one seed, not timed.
TINY = {"max_steps": 20, "seeds_per_trial": 1, "min_speed_ratio": 0}


def tune_command(base: Path, out: Path, storage: str, **settings: Any) -> List[str]:
    """A tune worker as the workflow starts it, with configs/tune.yml's `settings` changed."""
    return [sys.executable, "-m", "scripts.tune", str(base / "config.cfg"), str(base / "corpus"),
            "configs/search_space.yml", str(out / "results"), str(out / "tuned.cfg"),
            *workflow_options("tune", storage=storage, study="ner",
                              settings=settings_file("tune", out / "settings", **settings))]


def tune(base: Path, out: Path, storage: str, **settings: Any):
    return run(tune_command(base, out, storage, **settings), ROOT)


def start_worker(base: Path, out: Path, storage: str, **settings: Any) -> subprocess.Popen:
    """A tune worker in the background; its stderr is kept for the assertions."""
    return subprocess.Popen(tune_command(base, out, storage, **settings), cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=answer_ctrl_c)


def answer_ctrl_c() -> None:
    """In the worker: SIGINT as a terminal delivers it. A suite started in the
    background by a non-interactive shell inherits SIGINT ignored, and so would
    every worker, which would then never see the tests' Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_long_trial(base: Path, out: Path, storage: str, **settings: Any) -> subprocess.Popen:
    """A worker whose first trial would train for long; returns once it is training."""
    worker = start_worker(base, out, storage, **{"trials": 5, "max_steps": 100000, "min_speed_ratio": 0, **settings})
    trial = out / "results" / "trials" / "trial-0" / "seed-0"
    wait_for(lambda: any(log.read_text().count("\n") >= 2 for log in trial.glob(".staging-*/train_log.jsonl")),
             "the first trial never trained")
    return worker


def trials(storage: str, study: str = "ner") -> List[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=storage).get_trials()


@pytest.mark.parametrize("space, cause", [
    ("a.b: {type: gaussian}", "type must be one of"),
    ("a.b: {type: float, low: 1}", "needs low and high"),
    ("a.b: {type: categorical}", "needs choices"),
    ("[]", "expected a mapping"),
])
def test_bad_search_space_is_explained(tmp_path: Path, space: str, cause: str) -> None:
    path = write_lines(tmp_path / "space.yml", [space])
    with pytest.raises(UserError, match=cause):
        read_space(path)


def test_the_shipped_search_space_is_valid() -> None:
    assert "training.optimizer.learn_rate.base_rate" in read_space(ROOT / "configs" / "search_space.yml")


def test_the_shipped_base_config_lies_inside_the_shipped_space(corpus_and_config: Path) -> None:
    params = baseline_params(corpus_and_config / "config.cfg", read_space(ROOT / "configs/search_space.yml"))
    assert params["components.tok2vec.model.encode.width"] == 96
    assert params["training.batcher.size.start"] == 200
    assert params["components.tok2vec.model.embed.rows"] == "[10000, 2000, 5000, 5000]"
    assert params["training.optimizer.learn_rate.base_rate"] == 0.0014  # the schedule's start


@pytest.mark.parametrize("space, cause", [
    ("training.dropout: {type: float, low: 0.5, high: 0.9}", "training.dropout = 0.12 is outside"),
    ("components.ner.model.hidden_width: {type: categorical, choices: [32]}", "hidden_width = 64 is outside"),
    ("training.nothing: {type: int, low: 1, high: 2}", "training.nothing is not set in the config"),
    ("training.optimizer.learn_rate: {type: float, low: 0.001, high: 0.01}",
     r"learn_rate is a block .* \(training.optimizer.learn_rate.base_rate, .*decay"),
])
def test_a_config_outside_the_space_has_no_baseline(corpus_and_config: Path, tmp_path: Path,
                                                     space: str, cause: str) -> None:
    (tmp_path / "space.yml").write_text(space)
    with pytest.raises(UserError, match=cause):
        baseline_params(corpus_and_config / "config.cfg", read_space(tmp_path / "space.yml"))


def test_overlay_text_is_a_mergeable_overlay_of_the_exact_settings(tmp_path: Path) -> None:
    dropout = 0.09128732827217298  # as Optuna samples it: a rounded value would train another model
    text = overlay_text({"training.dropout": dropout, "components.tok2vec.model.embed.rows": [1, 2, 3, 4],
                         "training.optimizer.use_averages": True})
    assert f"[training]\ndropout = {dropout!r}\n" in text and "rows = [1, 2, 3, 4]" in text
    overlay = tmp_path / "tuned.cfg"
    overlay.write_text(text)
    out = tmp_path / "config.cfg"
    result = run(["python", "-m", "scripts.create_config", "configs/base.cfg", str(out),
                  *workflow_options("create-config", overlay=[str(overlay)], vectors=None)], ROOT)
    assert result.returncode == 0, result.stderr
    config = Config().from_disk(out, interpolate=False)
    assert config["training"]["dropout"] == dropout
    assert config["components"]["tok2vec"]["model"]["embed"]["rows"] == [1, 2, 3, 4]
    assert config["training"]["optimizer"]["use_averages"] is True


def test_sqlite_search_writes_table_plot_overlay_and_is_reproducible(corpus_and_config: Path,
                                                                      tmp_path: Path) -> None:
    storages = [f"sqlite:///{tmp_path / name / 'tune.db'}" for name in ("a", "b")]
    # Study a scores each trial on two seeds; b, on one, samples the same settings all the same.
    for storage, name, seeds in zip(storages, ("a", "b"), (2, 1)):
        result = tune(corpus_and_config, tmp_path / name, storage, trials=2, seed=7,
                      **{**TINY, "seeds_per_trial": seeds})
        assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "a"
    table = srsly.read_json(out / "results" / "trials.json")
    assert len(table["trials"]) == 2 and table["best"]["state"] == "COMPLETE"
    assert "# Study `ner`" in (out / "results" / "trials.md").read_text()
    # Each trial trains the config's seed and the next, and scores their mean best dev score.
    for row in table["trials"]:
        folder = out / "results" / "trials" / f"trial-{row['number']}"
        if row["state"] != "COMPLETE":
            continue
        assert list(row["dev_scores"]) == ["0", "1"]
        for seed, score in row["dev_scores"].items():
            run_record = srsly.read_json(folder / f"seed-{seed}" / "run.json")
            assert run_record["seed"] == int(seed) and run_record["training"]["best_dev_score"] == score
        assert row["value"] == pytest.approx(sum(row["dev_scores"].values()) / 2, abs=1e-12)
        cells = f"| {100 * row['value']:.2f} | " + ", ".join(f"{100 * v:.2f}" for v in row["dev_scores"].values())
        assert cells in (out / "results" / "trials.md").read_text()
    assert (out / "results" / "trials.png").read_bytes()[:4] == b"\x89PNG"
    overlay = (out / "tuned.cfg").read_text()
    assert overlay.startswith("# Generated by scripts/tune.py: best of study 'ner'")
    # The overlay names the seeds it was chosen on, so that a benchmark judges it on others.
    assert seeds_chosen_on(out / "tuned.cfg") == [0, 1]
    assert "[training.optimizer.learn_rate]\nbase_rate = " in overlay
    # The same seed samples the same settings in a fresh study.
    first, second = (trials(storage) for storage in storages)
    assert [t.params for t in first] == [t.params for t in second]
    # Trial 0 trained the config's own settings, and the table compares with it.
    base = Config().from_disk(corpus_and_config / "config.cfg")
    assert first[0].user_attrs["baseline"] and not first[1].user_attrs.get("baseline")
    assert first[0].params["training.optimizer.learn_rate.base_rate"] == \
        base["training"]["optimizer"]["learn_rate"]["base_rate"]
    assert first[0].params["components.tok2vec.model.embed.rows"] == \
        str(base["components"]["tok2vec"]["model"]["embed"]["rows"])
    assert first[1].params != first[0].params
    assert "| 0 (config) |" in (out / "results" / "trials.md").read_text()
    assert "the config's own settings (trial 0) scored" in (out / "results" / "trials.md").read_text()


def test_settings_slower_than_the_bound_are_pruned_before_they_train(corpus_and_config: Path,
                                                                     tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    # Nothing here runs five times as fast as stock spaCy's pipeline: every trial is too slow.
    result = tune(corpus_and_config, tmp_path, storage, trials=2,
                  **{**TINY, "min_speed_ratio": 5, "speed_reference": "stock"})
    assert result.returncode == 0, result.stderr[-3000:]
    baseline, sampled = trials(storage)
    # The config's own settings train all the same, their ratio recorded and the user warned.
    assert baseline.state.name == "COMPLETE" and 0 < baseline.user_attrs["speed_ratio"] < 5
    assert "The config's own settings run at" in result.stdout + result.stderr
    assert sampled.state.name == "PRUNED" and sampled.user_attrs["pruned_for"] == "speed"
    assert 0 < sampled.user_attrs["speed_ratio"] < 5 and not sampled.intermediate_values
    folder = tmp_path / "results" / "trials"
    assert (folder / "trial-0" / "seed-0" / "run.json").is_file() and not (folder / "trial-1" / "seed-0").exists()
    table = (tmp_path / "results" / "trials.md").read_text()
    assert f"| 1 | pruned (speed) |  |  | {sampled.user_attrs['speed_ratio']:.2f}× |" in table
    assert "| speed vs stock |" in table
    assert srsly.read_json(tmp_path / "results" / "trials.json")["speed_reference"] == "stock"


def test_the_speed_bound_is_a_fraction_of_stock_spacys_pipeline_or_the_configs_own(
        corpus_and_config: Path, monkeypatch) -> None:
    """The reference pipeline a trial is timed against: `spacy init config`'s efficiency NER pipeline in the
    config's language, or the config's own settings, which then time at about 1 against themselves."""
    monkeypatch.setattr(tune_module, "SPEED_SECONDS", 0.05)
    monkeypatch.setattr(tune_module, "SPEED_ROUNDS", 2)
    config = corpus_and_config / "config.cfg"
    own = Config().from_disk(config, interpolate=False)
    stock = SpeedCheck(config, corpus_and_config / "corpus", "stock").reference
    assert stock == stock_config(own["nlp"]["lang"], "efficiency", read_budget(config)) != own
    assert stock["components"]["tok2vec"]["model"]["encode"]["depth"] == 4  # spaCy's, not base.cfg's 2
    check = SpeedCheck(config, corpus_and_config / "corpus", "config")
    assert check.reference == own
    assert 0.5 < check.ratio(config) < 2


def test_ctrl_c_leaves_the_study_consistent_and_resumable(corpus_and_config: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    process = start_long_trial(corpus_and_config, tmp_path, storage)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "interrupted: the running trial is marked failed" in stderr
    assert [t.state for t in trials(storage)] == [optuna.trial.TrialState.FAIL]
    # The failed trial has no score: the study resumes with a shorter budget and one seed.
    resumed = tune(corpus_and_config, tmp_path, storage, trials=1, **TINY)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    states = [t.state.name for t in trials(storage)]
    assert states == ["FAIL", "COMPLETE"]
    # Once a trial is scored, a worker that would score trials on other seeds, or bound their speed
    # otherwise, stops before training.
    other = tune(corpus_and_config, tmp_path, storage, trials=1,
                 **{**TINY, "seeds_per_trial": 2, "min_speed_ratio": 0.5})
    assert other.returncode == 1
    assert "min_speed_ratio 0.0 in the study, 0.5 in this worker's settings; " \
        "seeds_per_trial 1 in the study, 2 in this worker's settings" in other.stderr
    assert [t.state.name for t in trials(storage)] == states


def test_a_killed_workers_trial_is_failed_by_the_next_worker(corpus_and_config: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    process = start_long_trial(corpus_and_config, tmp_path, storage, heartbeat_seconds=1)
    trial = tmp_path / "results" / "trials" / "trial-0" / "seed-0"
    training = [leftover_pid(path.name) for path in trial.glob(".staging-*")]
    assert training, "the first trial's training ended before its worker was killed"
    process.kill()
    _, stderr = process.communicate()
    # What the worker said, should its trial have ended before it was killed.
    said = f"worker exit code {process.returncode}; its stderr ends: {stderr[-2000:]}"
    # The trial's training process dies with its worker, removing its staging folder; the
    # folders are read again while waiting, as a process of the trial may have made one
    # after the first look (ci32: one was still there when the first ones' owners were gone).
    def staging_owners() -> List[Optional[int]]:
        return [leftover_pid(path.name) for path in trial.glob(".staging-*")]

    wait_for(lambda: not any(pid and process_alive(pid) for pid in staging_owners()),
             f"the trial's training outlived its worker ({said})")
    assert not any(trial.glob(".staging-*")), f"{said}; left: {[p.name for p in trial.glob('.staging-*')]}"
    assert [t.state.name for t in trials(storage)] == ["RUNNING"], said
    time.sleep(3)  # longer than the grace period (2 heartbeats)
    result = tune(corpus_and_config, tmp_path, storage, trials=1, heartbeat_seconds=1, **TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [t.state.name for t in trials(storage)] == ["FAIL", "COMPLETE"]


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on loopback, run as the 'postgres' user."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    runuser = shutil.which("runuser")
    if not bins or not runuser or os.geteuid() != 0:
        pytest.skip("PostgreSQL server binaries (Debian 'postgresql') or root to run them are missing")
    # Not under pytest's tmp_path: its parents are private to root, and postgres must reach it.
    data = Path(tempfile.mkdtemp(prefix="ner-template-pg-"))
    shutil.chown(data, "postgres")
    port = free_port()
    as_postgres = [runuser, "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bins[-1] / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bins[-1] / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"),
                    "-o", f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data}",
                    "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_postgres, str(bins[-1] / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "optuna"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run([*as_postgres, str(bins[-1] / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_two_workers_share_one_study_in_postgresql(corpus_and_config: Path, tmp_path: Path,
                                                   postgres: str) -> None:
    workers = [start_worker(corpus_and_config, tmp_path / f"w{i}", postgres, trials=2, seed=i, **TINY) for i in range(2)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
    study_trials = trials(postgres)
    assert sorted(t.number for t in study_trials) == list(range(4))  # none lost, none duplicated
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study_trials)
    by_worker = {t.user_attrs["worker"] for t in study_trials}
    assert len(by_worker) == 2  # both workers contributed
    assert all(sum(t.user_attrs["worker"] == w for t in study_trials) == 2 for w in by_worker)


def test_tuning_workflow_through_weasel_and_using_its_overlay(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    settings_file("tune", project / "configs", trials=2, **TINY)
    weasel(["run", "tuning", ".", "--vars.eval_frequency", "10", "--vars.max_steps", "20"], project)
    study = project / "training" / "tune" / "sample-cnn-efficiency"
    assert len(srsly.read_json(study / "trials.json")["trials"]) == 2
    overlay = project / "configs" / "optimize" / "tuned.cfg"
    weasel(["run", "create-config", ".", "--vars.optimize", "tuned"], project)
    config = Config().from_disk(project / "training" / "sample-cnn-tuned-s0" / "config.cfg", interpolate=False)
    best = srsly.read_json(study / "trials.json")["best"]["number"]
    (trained,) = [t for t in trials(f"sqlite:///{project / 'training' / 'tune' / 'tune.db'}", study.name)
                  if t.number == best]
    for key, value in trained.params.items():  # every setting exactly as the best trial trained it
        section = config
        for part in key.split("."):
            section = section[part]
        assert section == decode(value), key
    header = (project / "training" / "sample-cnn-tuned-s0" / "config.cfg").read_text().splitlines()[0]
    assert "configs/optimize/tuned.cfg" in header
    assert overlay.read_text().startswith("# Generated by scripts/tune.py")


def test_workers_starting_together_on_an_empty_database_all_open_the_study(postgres: str) -> None:
    code = f"from scripts.tune import open_study; open_study({postgres!r}, 'race', 0, 30)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    openers = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for opener in openers:
        _, stderr = opener.communicate(timeout=120)
        assert opener.returncode == 0, stderr[-2000:]
    assert optuna.load_study(study_name="race", storage=postgres).trials == []
