"""Shared fixtures: the project root, a throwaway copy of the project, and a
runner for workflow steps as subprocesses (as weasel runs them)."""

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, List, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {"corpus", "training", "packages", "project.lock", ".git", ".pytest_cache",
             "__pycache__", "benchmarks"}


def copy_project(dest: Path) -> Path:
    """Copy the project's source (no generated outputs, no downloaded assets)."""
    def ignore(folder: str, names: List[str]) -> List[str]:
        skipped = [n for n in names if n in GENERATED or n.endswith(".pyc")]
        if Path(folder) == ROOT / "assets":
            skipped += [n for n in names if n not in ("sample", "unlabelled", ".gitattributes")]
        return skipped

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def run(args: Sequence[str], cwd: Path, check: bool = False,
        timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command with this Python's environment; output captured as text."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "PYTHONIOENCODING": "utf8"}
    command = [sys.executable if a == "python" else a for a in args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            encoding="utf8", timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def weasel(args: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(["python", "-m", "weasel", *args], cwd, check=check)


# Its tests share one trained project (a module fixture that runs the workflow).
SHARED_PROJECT_TESTS = "tests/test_workflow.py"


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `-n`: the tests of SHARED_PROJECT_TESTS go to one worker as one unit,
    so that it trains their project once, not once per worker; being the largest
    unit, it starts first while the other workers take the other tests one by one.
    (xdist's own `--dist loadgroup` does this through node ids that pytest 9 no
    longer lets it change.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedProjectScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module == SHARED_PROJECT_TESTS else nodeid

    return SharedProjectScheduling(config, log)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve a folder over HTTP on loopback; yields the base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    """Path of Debian's chromium, or skip the test saying why."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    return path


def render_page(page: Path, screenshot: Path, tmp_path: Path) -> str:
    """Load a local page in headless Chromium; save a screenshot; return the DOM after load."""
    url = page.resolve().as_uri()
    common = [chromium(), *CHROMIUM_FLAGS, "--virtual-time-budget=5000"]
    shot = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile-shot'}",
                           "--window-size=1280,2200", f"--screenshot={screenshot}", url],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    dom = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


@pytest.fixture(scope="session")
def corpus_and_config(tmp_path_factory) -> Path:
    """BASE/corpus: the preprocessed sample; BASE/config.cfg: generated from the base
    config with a tiny budget (20 updates, dev every 10); BASE/long.cfg: the same,
    with a budget no test waits for (to stop a run mid-way). Built once per worker;
    no test writes into it."""
    base = tmp_path_factory.mktemp("sample")
    run(["python", "-m", "scripts.preprocess", "assets/sample", str(base / "corpus")], ROOT, check=True)
    for name, steps in (("config.cfg", "20"), ("long.cfg", "100000")):
        run(["python", "-m", "scripts.create_config", "configs/base.cfg", str(base / name),
             "--max-steps", steps, "--eval-frequency", "10", "--patience", "0"], ROOT, check=True)
    return base


def rules_model(path: Path) -> Path:
    """A tiny pipeline that finds PER "Ana" and LOC "Lisboa" by rule: no training,
    and exact to assert on. Saved to `path`."""
    import spacy

    nlp = spacy.blank("pt")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PER", "pattern": "Ana"}, {"label": "LOC", "pattern": "Lisboa"}])
    nlp.meta.update({"name": "rules", "version": "1.2.3"})
    nlp.to_disk(path)
    return path


def wait_for(condition: Callable[[], bool], message: str, seconds: float = 120) -> None:
    """Poll until `condition()` holds; fail with `message` after `seconds`."""
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, message
        time.sleep(0.2)
