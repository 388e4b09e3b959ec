"""Steps started as child processes: `step_command` is the one way any code
starts a step of this package (`python -m scripts.<step>`) from any folder, and
`train_run` the one way a step that makes several runs (train-seeds, tune, the
benchmarks) trains. Each run gets the train step's own checks, locking, staging,
atomic outputs and run.json.
"""

import os
import subprocess
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Set

import srsly
from wasabi import msg

from .errors import UserError, child_dies_with_me, strip_ansi
from .files import remove_leftovers
from .run_record import TRAIN_LOG

# The folder that holds the `scripts` package.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def step_command(step: str, *args: object) -> List[str]:
    """The command line of a step, e.g. step_command("train", config, ...)."""
    return [sys.executable, "-m", f"scripts.{step}", *map(str, args)]


def step_env() -> Dict[str, str]:
    """The environment in which a `step_command` finds the package from any folder."""
    paths = [str(PACKAGE_PARENT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


# Commands running in any thread, so that a stopping parent can stop them too.
_running: Set[subprocess.Popen] = set()
_running_lock = threading.Lock()
# How often a followed training's log is read for new evaluations.
POLL_SECONDS = 0.5


def run_checked(command: List[str], log: Optional[Path] = None,
                while_running: Optional[Callable[[subprocess.Popen], None]] = None) -> None:
    """Run a command, stopping on failure. With `log`, the command's output is
    appended to that file, as plain text, instead of the console. With
    `while_running`, it is called every POLL_SECONDS with the process; if it
    raises, the command is terminated and the exception propagates."""
    with ExitStack() as stack:
        out = stack.enter_context(log.open("a", encoding="utf8")) if log else None
        process = subprocess.Popen(command, env=step_env(), stdout=subprocess.PIPE if out else None,
                                   stderr=subprocess.STDOUT if out else None,
                                   text=True, encoding="utf8", errors="replace",
                                   preexec_fn=child_dies_with_me())
        copier = threading.Thread(target=_copy_output, args=(process.stdout, out), daemon=True) \
            if out and process.stdout else None
        if copier:
            copier.start()
        with _running_lock:
            _running.add(process)
        try:
            while True:
                try:
                    returncode = process.wait(timeout=POLL_SECONDS if while_running else None)
                    break
                except subprocess.TimeoutExpired:
                    while_running(process)  # type: ignore[misc]
        finally:
            if process.poll() is None:  # stopped from here: the child removes its outputs
                process.terminate()
                process.wait()
            with _running_lock:
                _running.discard(process)
            if copier:
                copier.join()
    if returncode != 0:
        where = f" (output in {log})" if log else ""
        raise UserError(f"run failed (exit code {returncode}){where}: {' '.join(command)}")


def _copy_output(stream: IO[str], out: IO[str]) -> None:
    for line in stream:
        out.write(strip_ansi(line))  # wasabi styles its messages even when piped
        out.flush()


def stop_running() -> None:
    """SIGTERM every command that `run_checked` is waiting for, in any thread:
    each removes its unfinished outputs and exits, and its caller raises."""
    with _running_lock:
        for process in _running:
            process.terminate()


class EvaluationFollower:
    """Calls `on_evaluation` with each new line of a training child's progress
    file (train's --progress) as it is written."""

    def __init__(self, run_dir: Path, progress: Path,
                 on_evaluation: Callable[[Dict[str, Any]], None]) -> None:
        self.run_dir, self.progress, self.on_evaluation = run_dir, progress, on_evaluation
        self.offset, self.seen = 0, 0

    def __call__(self, process: subprocess.Popen) -> None:
        try:
            with self.progress.open("rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:  # not started yet, or already finished
            return
        complete = data[:data.rfind(b"\n") + 1]  # a line being written waits for the next poll
        self.offset += len(complete)
        for line in complete.splitlines():
            self.seen += 1
            self.on_evaluation(srsly.json_loads(line))

    def finish(self) -> None:
        """Hand on the evaluations written after the last poll, from the run's final log."""
        for record in list(srsly.read_jsonl(self.run_dir / TRAIN_LOG))[self.seen:]:
            self.seen += 1
            self.on_evaluation(record)


def train_run(config: Path, corpus_dir: Path, run_dir: Path, seed: int, gpu_id: int,
              log: Optional[Path] = None,
              on_evaluation: Optional[Callable[[Dict[str, Any]], None]] = None,
              silver: Optional[Path] = None) -> None:
    """`scripts.train` for one run, with the budget in its config (and a silver
    corpus beside the training split, if given). `on_evaluation` gets every dev
    evaluation (a train_log.jsonl record) while the run trains; raising from it
    stops the run, which then leaves no outputs."""
    command = step_command("train", config, corpus_dir, run_dir, f"--seed={seed}", f"--gpu-id={gpu_id}",
                           *([f"--silver={silver}"] if silver is not None else []))
    try:
        if on_evaluation is None:
            run_checked(command, log)
            return
        with tempfile.TemporaryDirectory(prefix="train-progress-") as folder:
            follower = EvaluationFollower(run_dir, Path(folder) / TRAIN_LOG, on_evaluation)
            run_checked([*command, "--progress", str(follower.progress)], log, follower)
    except BaseException:
        # A run killed outright (SIGKILL, a crash) could not remove its staging folder.
        for name in remove_leftovers(run_dir):
            msg.info(f"Removed {run_dir / name}, left by a run that did not finish")
        raise
    follower.finish()
