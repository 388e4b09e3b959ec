"""Expected failures: one-line messages instead of tracebacks, signals that unwind like
Ctrl-C, children that die with their parent, and vars that must be plain names."""

import ctypes
import functools
import os
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar, Union

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
    step's temporary outputs are removed before it exits with code 143; a step
    that weasel started also gets that SIGTERM when weasel dies (see
    `die_with_weasel`)."""
    return _exiting(func, code=1, any_error=False)


def exit_on_any_error(code: int) -> Callable[[F], F]:
    """Like `exit_on_user_error`, for a step whose exit codes say more than
    failed or not (monitor: 1 is drift): every failure, a bug's traceback
    included, exits with `code`."""
    return lambda func: _exiting(func, code=code, any_error=True)


def _exiting(func: F, code: int, any_error: bool) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_signal)
            die_with_weasel()
        try:
            return func(*args, **kwargs)
        except UserError as err:
            print_error(str(err))
            sys.exit(code)
        except OSError as err:
            # Permissions, a full disk, a file where a folder should be: the
            # user's to fix, so one line; NER_TEMPLATE_DEBUG=1 shows the traceback.
            if os.environ.get("NER_TEMPLATE_DEBUG") or not (err.strerror or err.filename):
                if not any_error:
                    raise
                traceback.print_exc()
                sys.exit(code)
            where = f"{err.filename}: " if err.filename else ""
            print_error(f"{where}{err.strerror or err}"
                        + (f" (and {err.filename2})" if err.filename2 else ""))
            sys.exit(code)
        except Exception:
            if not any_error:
                raise
            traceback.print_exc()
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


def _exit_on_signal(signum: int, frame: Any) -> None:
    # Python's default SIGTERM action ends the process without running `finally`.
    print_error(f"stopped by {signal.Signals(signum).name}; outputs in progress removed")
    raise SystemExit(128 + signum)


try:  # looked up here: between fork and exec a child may take no locks
    _prctl: Optional[Callable[..., int]] = ctypes.CDLL(None).prctl
except (OSError, AttributeError):  # not Linux: the parent's handlers still stop children
    _prctl = None
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: Optional[int] = None) -> None:
    """In a child process (before exec, or as it starts): SIGTERM it when the
    thread that started it dies, so that a parent killed, even with SIGKILL,
    leaves no training, server or worker behind. `parent_pid` (the starting
    process's pid, taken before the child exists) closes the race with a parent
    that dies before this runs: the kernel signals only deaths that come after."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if parent_pid is not None and os.getppid() != parent_pid:  # already adopted: the parent is gone
            os._exit(128 + signal.SIGTERM)


# The command lines of the programs that run project commands: `weasel run`,
# `python -m weasel run`, and spaCy's wrapper, `spacy project run`.
WORKFLOW_RUNNERS = (("weasel", "run"), ("spacy", "project"))


def runs_project_commands(argv: Sequence[str]) -> bool:
    """Whether a process with this command line is weasel (see WORKFLOW_RUNNERS)."""
    names = [Path(arg).name for arg in argv[:6]]  # the interpreter and its options, then the program
    return any(tuple(names[i:i + 2]) in WORKFLOW_RUNNERS for i in range(len(names) - 1))


def die_with_weasel() -> None:
    """Called by every step as it starts: weasel dies of a SIGTERM (`kill`, a
    supervisor, a scheduler's timeout) without passing it on, which would leave
    the step running, orphaned. A step weasel started asks for a SIGTERM of its
    own when weasel dies; one started from a shell keeps the shell's rules
    (`nohup` and `&` must still outlive a logout). Where weasel runs weasel (the
    benchmarks run the template's steps so), the outer one's death reaches
    neither the inner one nor the step: a thread watches the outer ones."""
    parent = os.getppid()
    if not runs_project_commands(_command_line(parent)):
        return
    die_with_parent(parent)
    outer: List[Tuple[int, int]] = []
    ancestor = _process_stat(parent)
    while ancestor is not None and runs_project_commands(_command_line(ancestor[1])):
        outer_pid = ancestor[1]
        ancestor = _process_stat(outer_pid)
        if ancestor is None:
            break
        outer.append((outer_pid, ancestor[2]))
    if outer:
        threading.Thread(target=_stop_when_one_ends, args=(outer,), daemon=True,
                         name="die-with-outer-weasel").start()


def _command_line(pid: int) -> List[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf8", "replace").split("\0")
    except OSError:  # gone, or no /proc: not Linux, which has no parent-death signal either
        return []


def _process_stat(pid: int) -> Optional[Tuple[str, int, int]]:
    """A live process's state, parent pid and start time (which tells it from a
    later process given the same pid), from /proc; None once it has ended."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name before it may hold spaces
    state, parent, started = fields[0], int(fields[1]), int(fields[19])
    return None if state in "ZXx" else (state, parent, started)


def _still_running(pid: int, started: int) -> bool:
    stat = _process_stat(pid)
    return stat is not None and stat[2] == started


def _stop_when_one_ends(processes: List[Tuple[int, int]], interval: float = 1.0) -> None:
    while all(_still_running(pid, started) for pid, started in processes):
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread, like a SIGTERM from outside


def child_dies_with_me() -> Callable[[], None]:
    """A `preexec_fn` for subprocess: the child dies with this process."""
    return functools.partial(die_with_parent, os.getpid())


ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    """Text without terminal colour and style codes, for files."""
    return ANSI_CODE.sub("", text)


def print_error(message: str) -> None:
    """One unwrapped line on stderr (wasabi wraps at 80 columns), red on a terminal."""
    line = f"\u2718 {message}"
    if sys.stderr.isatty() and supports_ansi():
        line = color(line, fg="red", bold=True)
    print(line, file=sys.stderr, flush=True)
