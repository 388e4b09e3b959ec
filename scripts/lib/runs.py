"""Train and evaluate runs as subprocesses, as the workflow does: shared by the
steps that make several runs (train-seeds, benchmark-configs)."""

import subprocess
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import List, Optional, Set

from .errors import UserError, strip_ansi

# Commands running in any thread, so that a stopping parent can stop them too.
_running: Set[subprocess.Popen] = set()
_running_lock = threading.Lock()


def run_checked(command: List[str], log: Optional[Path] = None) -> None:
    """Run a command, stopping on failure. With `log`, the command's output is
    appended to that file, as plain text, instead of the console."""
    with ExitStack() as stack:
        out = stack.enter_context(log.open("a", encoding="utf8")) if log else None
        process = subprocess.Popen(command, stdout=subprocess.PIPE if out else None,
                                   stderr=subprocess.STDOUT if out else None,
                                   text=True, encoding="utf8", errors="replace")
        with _running_lock:
            _running.add(process)
        try:
            if out and process.stdout:
                # wasabi styles its messages even when they are piped.
                for line in process.stdout:
                    out.write(strip_ansi(line))
                    out.flush()
            returncode = process.wait()
        finally:
            with _running_lock:
                _running.discard(process)
    if returncode != 0:
        where = f" (output in {log})" if log else ""
        raise UserError(f"run failed (exit code {returncode}){where}: {' '.join(command)}")


def stop_running() -> None:
    """SIGTERM every command that `run_checked` is waiting for, in any thread:
    each removes its unfinished outputs and exits, and its caller raises."""
    with _running_lock:
        for process in _running:
            process.terminate()


def train_and_evaluate(config: Path, corpus_dir: Path, run_dir: Path, seed: int, gpu_id: int,
                       latest: Path, log: Optional[Path] = None) -> None:
    """`scripts.train` then `scripts.evaluate` (test split) for one run, with the
    budget in its config; the run's run.json records time, speed and peak memory
    of the training process."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("", encoding="utf8")
    run_checked([sys.executable, "-m", "scripts.train", str(config), str(corpus_dir),
                 str(run_dir), "--latest", str(latest), f"--seed={seed}", f"--gpu-id={gpu_id}"], log)
    run_checked([sys.executable, "-m", "scripts.evaluate", str(run_dir / "model-best"),
                 str(corpus_dir / "test.spacy"), str(run_dir), f"--gpu-id={gpu_id}"], log)
