"""Shared fixtures: the project root, a throwaway copy of the project, and a
runner for workflow steps as processes of their own (as weasel runs them; weasel
and the steps run from the project root are forked from the test process:
tests/forked.py)."""

import functools
import http.server
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence

import pytest
import srsly
from weasel.util import substitute_project_variables

from scripts.lib.files import md5_file, process_alive

from .forked import run_forked

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {"corpus", "training", "packages", "project.lock", ".git", ".pytest_cache", "__pycache__"}


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Slow tests first (in their collected order), for the workers' balance (pytest.ini)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def copy_project(dest: Path, benchmarks: bool = False) -> Path:
    """Copy the project's source (no generated outputs, no downloaded assets);
    the benchmark project (without its runs) only if asked for."""
    def ignore(folder: str, names: List[str]) -> List[str]:
        skipped = [n for n in names if n in GENERATED or n.endswith(".pyc")]
        if Path(folder) == ROOT and not benchmarks:
            skipped.append("benchmarks")
        if Path(folder) == ROOT / "assets":  # fetched datasets stay behind, the project's files come
            skipped += [n for n in names if (Path(folder) / n).is_dir() and n not in ("sample", "new_text", "unlabelled")]
        if Path(folder).parent == ROOT / "benchmarks":
            skipped += [n for n in names if n == "runs"]
        return skipped

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def set_var_defaults(project: Path, **values: Any) -> None:
    """Edit the defaults of vars in a copy's project.yml, as a user edits them."""
    path = project / "project.yml"
    text = path.read_text(encoding="utf8")
    for name, value in values.items():
        text, count = re.subn(rf"^(  {name}: ).*$", lambda m: m.group(1) + srsly.json_dumps(value), text,
                              count=1, flags=re.M)
        assert count == 1, f"no var {name} in {path}"
    path.write_text(text, encoding="utf8")


def settings_file(name: str, folder: Path, **overrides: Any) -> Path:
    """A copy of configs/<name>.yml in `folder` with `overrides`: a step's settings
    as the workflow gives them, changed only where a test says so."""
    values = {**srsly.read_yaml(ROOT / "configs" / f"{name}.yml"), **overrides}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yml"
    srsly.write_yaml(path, values)
    return path


def run(args: Sequence[str], cwd: Path, check: bool = False, timeout: int = 600,
        fresh: bool = False) -> subprocess.CompletedProcess:
    """Run a command with this Python's environment; output captured as text. weasel,
    and a step of this project run from its root (`python -m scripts.<step>`), are
    forked from the test process, which has their imports (tests/forked.py), unless
    `fresh`: a new interpreter, with a hash seed of its own, for outputs compared
    across processes. The steps weasel runs always start a new interpreter."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "PYTHONIOENCODING": "utf8"}
    module = args[2] if args[:2] == ["python", "-m"] else ""
    forkable = module == "weasel" or module.startswith("scripts.") and Path(cwd).resolve() == ROOT
    if forkable and not fresh:
        result = run_forked(module, args[3:], str(cwd), env, timeout)
    else:
        command = [sys.executable if a == "python" else a for a in args]
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                                encoding="utf8", timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def preprocess(input_dir: Path, output_dir: Path, *options: str, fresh: bool = False) -> subprocess.CompletedProcess:
    """preprocess as the workflow runs it (without a fetch manifest), `options` changed."""
    return run(["python", "-m", "scripts.preprocess", str(input_dir), str(output_dir),
                *workflow_options("preprocess", manifest=None), *options], ROOT, fresh=fresh)


def weasel(args: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(["python", "-m", "weasel", *args], cwd, check=check)


# project.yml's commands with the vars' defaults, as weasel runs them.
WORKFLOW = {c["name"]: c for c in substitute_project_variables(
    srsly.read_yaml(ROOT / "project.yml"))["commands"]}


def workflow_options(command: str, **overrides: Any) -> List[str]:
    """The options project.yml's `command` passes to its script, with the vars'
    defaults, so that a test runs a step as the workflow does: only `overrides`
    (by option name in snake_case; a list repeats the option; None leaves it out)
    differ. Scripts have no defaults of their own for these."""
    tokens = shlex.split(WORKFLOW[command]["script"][0])
    options: Dict[str, List[str]] = {}
    name = None
    for token in tokens[next(i for i, t in enumerate(tokens) if t.startswith("--")):]:
        if token.startswith("--"):
            name = token[2:].replace("-", "_")
            options.setdefault(name, [])
        else:
            options[name].append(token)  # type: ignore[index]
    for key, value in overrides.items():
        options[key] = [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]
    args: List[str] = []
    for key, values in options.items():
        flag = f"--{key.replace('_', '-')}"
        args += [part for value in values for part in (flag, value)]
    return args


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that `build` fills once per test session, however many xdist
    workers ask for it: the first builds it under a file lock, the others wait
    and reuse it; a failed build is reported to every worker, not retried."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by its workers
    folder, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists():
            pytest.fail(f"building {name} failed in another worker:\n{failed.read_text()}")
        if not done.exists():
            try:
                build(folder)
            except BaseException as err:
                failed.write_text(str(err)[-4000:])
                raise
            done.touch()
    return folder


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


# The language of the sample that assets/make_sample.py writes.
SAMPLE_LANG = "pt"


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset folder holding the sample, rebuilt by assets/make_sample.py: the
    tests read it here, so they still pass in a project whose assets/sample gave
    way to the user's own data."""
    def build(folder: Path) -> None:
        folder.mkdir()
        run(["python", "assets/make_sample.py", str(folder / "ner_pt.jsonl")], ROOT, check=True)

    return built_once(tmp_path_factory, "sample-data", build)


@pytest.fixture(scope="session")
def corpus_and_config(tmp_path_factory, sample_data: Path) -> Path:
    """BASE/corpus: the preprocessed sample; BASE/config.cfg: generated from the base
    config with a tiny budget (20 updates, dev every 10); BASE/long.cfg: the same,
    with a budget no test waits for (to stop a run mid-way). Built once per worker;
    no test writes into it."""
    base = tmp_path_factory.mktemp("sample")
    run(["python", "-m", "scripts.preprocess", str(sample_data), str(base / "corpus"),
         *workflow_options("preprocess", manifest=None, lang=SAMPLE_LANG)], ROOT, check=True)
    for name, steps in (("config.cfg", "20"), ("long.cfg", "100000")):
        run(["python", "-m", "scripts.create_config", "configs/base.cfg", str(base / name),
             *workflow_options("create-config", lang=SAMPLE_LANG, max_steps=steps, eval_frequency=10,
                               patience=0, vectors=None)], ROOT, check=True)
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


def ruler_run(run_dir: Path, corpus: Path, patterns: List[Dict[str, str]]) -> Path:
    """A run folder as train leaves it, whose model-best finds `patterns` by rule,
    recorded as trained on `corpus`."""
    import spacy

    nlp = spacy.blank(SAMPLE_LANG)
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    run_dir.mkdir(parents=True)
    for model in ("model-best", "model-last"):
        nlp.to_disk(run_dir / model)
    (run_dir / "train_log.jsonl").write_text("", encoding="utf8")
    srsly.write_json(run_dir / "run.json", {"corpus": {split: {"md5": md5_file(corpus / f"{split}.spacy")}
                                                       for split in ("train", "dev")}})
    return run_dir


def terminate_weasel(weasel: subprocess.Popen, step_pid: int, step: str) -> str:
    """SIGTERM to a `weasel run` (started with its output piped), as a user or
    supervisor stops it: weasel ends at once, and the step it started, `step_pid`,
    must end too (killed here if it does not). Returns the output of both."""
    weasel.send_signal(signal.SIGTERM)
    try:
        assert weasel.wait(timeout=30) == -signal.SIGTERM
        wait_for(lambda: not process_alive(step_pid), f"the {step} outlived weasel", 30)
    finally:
        if process_alive(step_pid):
            os.kill(step_pid, signal.SIGKILL)
    output, _ = weasel.communicate(timeout=30)  # the step shared weasel's pipe
    assert "stopped by SIGTERM; outputs in progress removed" in output
    return output


def wait_for(condition: Callable[[], bool], message: str, seconds: float = 120) -> None:
    """Poll until `condition()` holds; fail with `message` after `seconds`."""
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, message
        time.sleep(0.2)
