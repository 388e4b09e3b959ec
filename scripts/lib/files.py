"""Outputs written atomically (temporary path, then rename) and the checksums weasel
and the assets use."""

import hashlib
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import srsly

from .errors import UserError


def read_step_output(path: Path, step: str) -> Dict[str, Any]:
    """A JSON file a workflow step writes, or an error naming the step to run."""
    if not path.is_file():
        raise UserError(f"not found (run the '{step}' step first)", path)
    return srsly.read_json(path)


def remove_path(path: Path) -> None:
    """Remove a file, a link or a whole directory, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# Work in progress carries the pid of the process that made it, so that what a
# killed process left behind can be told from what a running one is writing:
# temporary outputs (.NAME.tmp-PID, .NAME.old-PID) and staging folders (.staging-PID).
LEFTOVER = re.compile(r"^(?:\.staging-|\..+\.(?:tmp|old)-)(\d+)$")


def _temp_sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


def staging_folder(parent: Path) -> Path:
    """Where this process builds something in `parent` before it moves it into place."""
    return parent / f".staging-{os.getpid()}"


def leftover_pid(name: str) -> Optional[int]:
    """The pid in the name of a temporary output or staging folder, else None."""
    found = LEFTOVER.match(name)
    return int(found.group(1)) if found else None


def remove_leftovers(folder: Path) -> List[str]:
    """Remove the staging folders and temporary outputs in `folder` of processes
    that no longer run (a killed step cannot clean up after itself); return their
    names. What a running process is writing is left alone."""
    removed = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        pid = leftover_pid(path.name)
        if pid is not None and not process_alive(pid):
            remove_path(path)
            removed.append(path.name)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs: a zombie (dead, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        pass
    if not Path("/proc/self/stat").exists():  # not Linux: os.kill's answer
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # ended meanwhile
        return False


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
        remove_path(tmp)
    try:
        yield tuple(temps)
    except BaseException:
        for tmp in temps:
            remove_path(tmp)
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
        remove_path(old)
        os.replace(dest, old)
        os.replace(src, dest)
        shutil.rmtree(old)
    else:
        os.replace(src, dest)


def write_json(path: Union[str, Path], data: Any) -> None:
    with atomic_output(path) as tmp:
        srsly.write_json(tmp, data)


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


def checksum(path: Union[str, Path]) -> Dict[str, Any]:
    """MD5 and size in bytes of a file, or of all files below a directory."""
    path = Path(path)
    files = [path] if path.is_file() else [sub for sub in path.rglob("*") if sub.is_file()]
    return {"md5": md5_path(path), "bytes": sum(file.stat().st_size for file in files)}


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
