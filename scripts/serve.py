"""Serve a trained pipeline over HTTP (uvicorn), as a production service.

Reads: MODEL (a run's model-best, with the run's run.json and metrics.json beside
it, or an installed pipeline package's name: both give the same /meta).
Serves, JSON only, every error as `{"error": {"type", "status", "message", ...}}`:
- `POST /ents` with `{"texts": [...]}` (Content-Type: application/json): each
  text's entities (start, end, label, text; spancat adds a score) and the model's
  name and version. Requests that arrive together are annotated in one batch by
  one of the settings' `workers` model processes;
- `GET|HEAD /health`: 200 while serving, 503 once stopping;
- `GET|HEAD /meta`: the model's name (its package's), version, labels, test
  scores per label and provenance;
- `GET|HEAD /metrics`: Prometheus metrics (requests by endpoint, method and
  status, request duration, requests in flight, model info, documents, words,
  entities per label, batch sizes, and the process metrics).
Limits, from the SETTINGS file (configs/serve.yml): a body over what max_texts
texts of max_chars characters need is refused (413) before it is read; a request
not answered within deadline_seconds gets 504; headers or a body that do not
arrive within read_timeout_seconds get 408; connections over max_connections get
503. SIGTERM or Ctrl-C, to this process or to weasel running it (a step dies
with the weasel that started it): new requests get 503 while those in progress finish
within grace_seconds, then the process exits (code 143 on SIGTERM).
"""

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer
import uvicorn
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error
from .lib.serving import (
    Limits,
    ModelWorkers,
    Service,
    guarded_protocol,
    model_card,
)
from .lib.settings import Spec, read_settings

BACKLOG = 2048
# The keys of the settings file, with their types and smallest values.
SETTINGS: Spec = {"workers": (int, 1), "batch_size": (int, 1), "batch_wait_ms": (float, 0),
                  "max_texts": (int, 1), "max_chars": (int, 1), "deadline_seconds": (float, 0.001),
                  "read_timeout_seconds": (float, 0.001), "max_connections": (int, 1),
                  "grace_seconds": (float, 0.001)}


class ServiceServer(uvicorn.Server):
    """uvicorn's server, draining the service before it closes its socket: while
    requests in progress finish, new ones are answered 503 instead of refused."""

    def __init__(self, config: uvicorn.Config, service: Service, grace_seconds: float,
                 banner: str) -> None:
        super().__init__(config)
        self.service, self.grace_seconds, self.banner = service, grace_seconds, banner

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.service.begin_drain()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: Optional[List[socket.socket]] = None) -> None:
        await super().startup(sockets)
        if self.started:
            msg.good(self.banner)
            sys.stdout.flush()  # a supervisor's log shows it now, not when the buffer fills

    async def shutdown(self, sockets: Optional[List[socket.socket]] = None) -> None:
        await self.service.drain(self.grace_seconds, lambda: self.force_exit)
        await super().shutdown(sockets)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the model loads: a taken port is one line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as err:
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


def exit_now(code: int, model_workers: ModelWorkers) -> None:
    model_workers.stop()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@exit_on_user_error
def main(
    # fmt: off
    model_path: str = typer.Argument(..., help="A run's model-best folder, or an installed pipeline's name"),
    host: str = typer.Option(..., help="Address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(..., help="Port to listen on"),
    settings_path: Path = typer.Option(..., "--settings", help="Limits and timing, e.g. configs/serve.yml"),
    package_name: str = typer.Option(..., help="The model-best's name, as its package will be named"),
    package_version: str = typer.Option(..., help="The model-best's version, as its package will have"),
    # fmt: on
) -> None:
    settings = read_settings(settings_path, SETTINGS)
    workers = settings["workers"]
    grace_seconds, read_timeout_seconds = settings["grace_seconds"], settings["read_timeout_seconds"]
    sock = listen(host, port)
    model_workers = ModelWorkers(model_path, workers, settings["batch_size"])
    try:
        description = model_workers.start()
        model_dir = Path(model_path) if Path(model_path).is_dir() else None
        card = model_card(description, model_dir, package_name, package_version)
        limits = Limits(int(settings["max_texts"]), int(settings["max_chars"]), settings["deadline_seconds"],
                        read_timeout_seconds)
        service = Service(card, model_workers, limits, settings["batch_wait_ms"] / 1000)
        config = uvicorn.Config(service, http=guarded_protocol(int(settings["max_connections"]),
                                                               read_timeout_seconds),
                                lifespan="on", log_level="warning", timeout_keep_alive=5,
                                timeout_graceful_shutdown=1, backlog=BACKLOG)
        banner = (f"Serving {card.model['name']} {card.model['version']} on http://{host}:{port} "
                  f"({workers} model process{'es' if workers > 1 else ''})")
        # uvicorn raises a caught SIGTERM again once it has stopped: exit 128 + 15
        # at once, quietly (the steps' handler would speak of removed outputs), as
        # the interpreter's teardown would eat into the grace period.
        signal.signal(signal.SIGTERM, lambda signum, frame: exit_now(128 + signum, model_workers))
        ServiceServer(config, service, grace_seconds, banner).run(sockets=[sock])
    finally:
        model_workers.stop()
        sock.close()


if __name__ == "__main__":
    typer.run(main)
