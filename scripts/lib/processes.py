"""Local helper processes for the benchmarks and the tests: a free loopback
port, an HTTP health check, and a Dask cluster started through Dask's own CLI
(as an operator would start one), never an in-process stand-in."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


class DaskCluster:
    """A scheduler (at `port`, or a free one) and `workers` one-thread workers,
    each started with Dask's own CLI in its own process group, in a folder
    outside the project, without PYTHONPATH: nothing of the project is there
    unless annotate ships it."""

    def __init__(self, workers: int, port: int = 0) -> None:
        self.folder = tempfile.mkdtemp(prefix="ner-dask-")
        self.address = f"tcp://127.0.0.1:{port or free_port()}"
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        dask = str(Path(sys.executable).parent / "dask")
        self.processes = [subprocess.Popen(args, cwd=self.folder, env=env, start_new_session=True,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                          for args in [[dask, "scheduler", "--host", "127.0.0.1", "--port",
                                        self.address.rsplit(":", 1)[1], "--no-dashboard"]]
                          + [[dask, "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                              "--no-dashboard"]] * workers]
        from distributed import Client

        try:
            with Client(self.address, timeout=60) as client:
                client.wait_for_workers(workers, timeout=120)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "DaskCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
