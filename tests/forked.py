"""`python -m <module> ARGS` as a child forked from the test process.

The child is a real process (its own memory, exit code, stdout and stderr, exit
handlers; killed on timeout) that starts with the libraries the test process has
imported: spaCy and its dependencies cost about a second of CPU in every fresh
interpreter, and the quick loop starts some eighty steps from the project root.
The module's own package is imported again in the child, in its directory and
environment. tests/conftest.py's `run` forks weasel, and the project's steps where
tests run them from its root (in a copy of the project, a step must import the
copy's scripts); everything else, and every step weasel runs, starts a new
interpreter.
"""

import atexit
import importlib
import io
import logging
import os
import runpy
import selectors
import signal
import subprocess
import sys
import time
import traceback
from typing import Dict, List, Sequence


def run_forked(module: str, args: Sequence[str], cwd: str, env: Dict[str, str],
               timeout: float) -> subprocess.CompletedProcess:
    try:  # once per test process: the libraries it imports stay loaded for later children
        importlib.import_module(module)
    except Exception:
        pass  # the child fails the same way and reports it as a new interpreter would
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child never returns
        os.close(out_read)
        os.close(err_read)
        _run_module_and_exit(module, args, cwd, env, out_write, err_write)
    os.close(out_write)
    os.close(err_write)
    chunks: Dict[int, List[bytes]] = {out_read: [], err_read: []}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                for fd in chunks:
                    os.close(fd)
                raise subprocess.TimeoutExpired([sys.executable, "-m", module, *args], timeout)
            for key, _ in selector.select(remaining):
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
    _, status = os.waitpid(pid, 0)
    stdout, stderr = (b"".join(chunks[fd]).decode("utf8", errors="replace") for fd in (out_read, err_read))
    return subprocess.CompletedProcess([sys.executable, "-m", module, *args], os.waitstatus_to_exitcode(status),
                                       stdout, stderr)


def _run_module_and_exit(module: str, args: Sequence[str], cwd: str, env: Dict[str, str],
                         out_fd: int, err_fd: int) -> None:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a new interpreter's handlers
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (null, out_fd, err_fd):
            os.close(fd)
        old_streams = {id(sys.stdout): 1, id(sys.stderr): 2, id(sys.__stdout__): 1, id(sys.__stderr__): 2}
        sys.stdin = io.TextIOWrapper(os.fdopen(0, "rb"), encoding="utf8")
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(os.fdopen(1, "wb"), encoding="utf8", line_buffering=True)
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(os.fdopen(2, "wb"), encoding="utf8", line_buffering=True)
        # Log handlers made while the test process's output was captured write to the capture.
        loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for handler in (h for logger in loggers for h in getattr(logger, "handlers", [])):
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in old_streams:
                handler.setStream(sys.stdout if old_streams[id(handler.stream)] == 1 else sys.stderr)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        # The module's own package is imported afresh, after chdir and the environment:
        # an import may read them (weasel's commands default to the directory they were
        # imported in). Only the libraries it imports come from the test process.
        package = module.split(".")[0]
        for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
            del sys.modules[name]
        sys.argv = [module, *args]
        atexit._clear()  # the test process's exit handlers are not the step's
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
        except BaseException:  # as the interpreter would: the traceback, exit status 1
            traceback.print_exc()
        atexit._run_exitfuncs()  # the step's own, as at an interpreter's exit (multiprocessing's among them)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
