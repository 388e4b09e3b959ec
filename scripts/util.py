"""Helpers shared by the workflow steps: expected-error handling, atomic outputs,
checksums and run metadata. Nothing here reads or writes project data by itself."""

import functools
import hashlib
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar, Union

import srsly
from wasabi.util import color, supports_ansi

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """An expected failure caused by input or settings, reported in one line.

    The message should name the file (and line, where there is one) and the
    cause, e.g. ``assets/x.jsonl:12: not valid JSON (Expecting ',' ...)``.
    """

    def __init__(self, message: str, path: Optional[Union[str, Path]] = None,
                 line: Optional[int] = None) -> None:
        location = "" if path is None else (f"{path}:{line}: " if line else f"{path}: ")
        one_line = " ".join(part.strip() for part in message.splitlines())
        super().__init__(f"{location}{one_line}")


PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def check_plain_name(value: str, var: str) -> str:
    """A var that becomes a folder or package name must be a plain name: no
    slashes, no "..", nothing that could point outside the project."""
    if not PLAIN_NAME.match(value) or ".." in value:
        raise UserError(f"the '{var}' var must be a plain name (letters, digits, '_', '-', '.', "
                        f"'+'), got {value!r}")
    return value


def check_plain_path(path: Path, var: str) -> Path:
    """A path built from a var must stay where the project puts it: no ".."
    component and a plain last name (see `check_plain_name`)."""
    if ".." in path.parts:
        raise UserError(f"the '{var}' var must be a plain name, but the path it made, {path}, "
                        "leads out of its folder")
    check_plain_name(path.name, var)
    return path


def exit_on_user_error(func: F) -> F:
    """Turn a UserError into a one-line message and exit code 1, no traceback.
    SIGTERM (e.g. `kill`, a job scheduler's timeout) unwinds like Ctrl-C, so the
    step's temporary outputs are removed before it exits with code 143."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            return func(*args, **kwargs)
        except UserError as err:
            print_error(str(err))
            sys.exit(1)
        except OSError as err:
            # Permissions, a full disk, a file where a folder should be: the
            # user's to fix, so one line; NER_TEMPLATE_DEBUG=1 shows the traceback.
            if os.environ.get("NER_TEMPLATE_DEBUG") or not (err.strerror or err.filename):
                raise
            where = f"{err.filename}: " if err.filename else ""
            print_error(f"{where}{err.strerror or err}"
                        + (f" (and {err.filename2})" if err.filename2 else ""))
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _exit_on_signal(signum: int, frame: Any) -> None:
    # Python's default SIGTERM action ends the process without running `finally`.
    print_error(f"stopped by {signal.Signals(signum).name}; outputs in progress removed")
    raise SystemExit(128 + signum)


def print_error(message: str) -> None:
    """One unwrapped line on stderr (wasabi wraps at 80 columns), red on a terminal."""
    line = f"\u2718 {message}"
    if sys.stderr.isatty() and supports_ansi():
        line = color(line, fg="red", bold=True)
    print(line, file=sys.stderr, flush=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _temp_sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


@contextmanager
def atomic_output(path: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it over `path` only if the block
    finishes without an exception. Works for files and directories alike, so a
    failed or interrupted step never leaves a partial output behind."""
    with atomic_outputs(path) as (tmp,):
        yield tmp


@contextmanager
def atomic_outputs(*paths: Union[str, Path]) -> Iterator[Tuple[Path, ...]]:
    """Like `atomic_output` for several outputs of one step: every output is
    replaced only after all of them were written."""
    targets = [Path(p) for p in paths]
    temps = [_temp_sibling(p, "tmp") for p in targets]
    for target, tmp in zip(targets, temps):
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove(tmp)
    try:
        yield tuple(temps)
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        raise
    for target, tmp in zip(targets, temps):
        if not tmp.exists():
            raise RuntimeError(f"step did not write its output {target}")
    for target, tmp in zip(targets, temps):
        replace_path(tmp, target)


def replace_path(src: Path, dest: Path) -> None:
    """Move `src` to `dest`, replacing a file or a whole directory."""
    if dest.is_dir() and not dest.is_symlink():
        # os.replace cannot overwrite a non-empty directory: park the old one first.
        old = _temp_sibling(dest, "old")
        _remove(old)
        os.replace(dest, old)
        os.replace(src, dest)
        shutil.rmtree(old)
    else:
        os.replace(src, dest)


def write_json(path: Union[str, Path], data: Any) -> None:
    with atomic_output(path) as tmp:
        srsly.write_json(tmp, data)


def write_json_and_markdown(stem: Path, data: Any, markdown: str) -> None:
    """Write STEM.json and STEM.md together: both are replaced, or neither."""
    with atomic_outputs(stem.with_suffix(".json"), stem.with_suffix(".md")) as (json_tmp, md_tmp):
        srsly.write_json(json_tmp, data)
        md_tmp.write_text(markdown, encoding="utf8")


def write_text(path: Union[str, Path], text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf8")


def md5_file(path: Union[str, Path]) -> str:
    """MD5 of a file's bytes, as weasel uses for asset checksums."""
    digest = hashlib.md5()
    with Path(path).open("rb") as file_:
        for block in iter(lambda: file_.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def md5_path(path: Union[str, Path]) -> str:
    """MD5 of a file, or of all files below a directory in sorted order."""
    path = Path(path)
    if path.is_file():
        return md5_file(path)
    digest = hashlib.md5()
    for sub in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(sub.relative_to(path)).encode("utf8"))
        digest.update(md5_file(sub).encode("ascii"))
    return digest.hexdigest()


def peak_memory_mib() -> Optional[float]:
    """This process's peak resident memory (Linux VmHWM), None where unavailable.

    Not getrusage: on Linux its ru_maxrss also carries the parent's peak across
    fork and exec, which inflates the figure of a child started by a big parent.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def words_per_second(process_all: Callable[[], int], min_seconds: float) -> Tuple[int, int, int]:
    """Call `process_all` (it returns the words it processed) until `min_seconds`
    have passed; return (words/second, words, passes). Short runs are too noisy."""
    words = passes = 0
    start = time.perf_counter()
    while True:
        words += process_all()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return round(words / elapsed), words, passes


def percent(value: float) -> str:
    """A 0-1 score as percentage points with two decimals, as the tables show them."""
    return f"{100 * value:.2f}"


PRF_HEADER = ("label", "P", "R", "F1", "support")


def prf_rows(named_scores: Iterable[Tuple[str, Dict[str, Any]]]) -> List[Tuple[Any, ...]]:
    """Table rows (name, P, R, F1, support) for scores like {"p", "r", "f", "support"}."""
    return [(name, percent(v["p"]), percent(v["r"]), percent(v["f"]), v["support"])
            for name, v in named_scores]


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def package_versions(*names: str) -> Dict[str, Optional[str]]:
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_info() -> Dict[str, Any]:
    """What produced a result: package versions, machine and git commit."""
    return {
        "versions": package_versions("spacy", "weasel", "thinc", "srsly", "numpy"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git": git_state(),
    }


def git_state() -> Optional[Dict[str, Any]]:
    """The current commit and whether the work tree has changes, if in git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain"], capture_output=True,
                                text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def markdown_table(header: Tuple[str, ...], rows: Any) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    aligns = ["---:" if rows and all(_is_number(r[i]) for r in rows) else "---"
              for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(aligns) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
