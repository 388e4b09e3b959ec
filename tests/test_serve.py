"""serve: a real uvicorn on 127.0.0.1 in its own process, as an operator runs it:
its answers and error shape, limits against hostile clients, micro-batching,
metrics, and stopping by signals sent to it or to weasel running it."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import srsly

from scripts.lib.files import process_alive
from scripts.lib.processes import answers as answers_200
from scripts.lib.processes import free_port
from scripts.lib.serving import ApiError, Limits, parse_texts

from .conftest import ROOT, copy_project, rules_model, settings_file, wait_for, workflow_options

SERVE_SETTINGS = srsly.read_yaml(ROOT / "configs" / "serve.yml")
MAX_TEXTS, MAX_CHARS = 8, 2000
SERVER = {"max_texts": MAX_TEXTS, "max_chars": MAX_CHARS, "read_timeout_seconds": 1,
          "max_connections": 10, "batch_wait_ms": 100}
SLOW_TEXT = "Ana mora em Lisboa. " * 50_000  # 1M characters: about a second of work each
# serve's settings files, one folder per server; removed when the test process exits.
SETTINGS_FOLDER = tempfile.TemporaryDirectory(prefix="serve-settings-")


def serve_options(package_name: str = "rules_model", package_version: str = "1.2.3",
                  **settings: Any) -> List[str]:
    """serve's options as the workflow passes them (but the port), with
    configs/serve.yml's values changed by `settings`."""
    path = settings_file("serve", Path(tempfile.mkdtemp(dir=SETTINGS_FOLDER.name)), **settings)
    return workflow_options("serve", port=None, settings=path, package_name=package_name,
                            package_version=package_version)


def start(model: Path, port: int, **overrides: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scripts.serve", str(model), "--port", str(port),
                             *serve_options(**overrides)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def call(base: str, path: str, body: Optional[Any] = None, raw: Optional[bytes] = None,
         method: Optional[str] = None, content_type: str = "application/json",
         timeout: float = 30) -> Tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload, status = response.read().decode(), response.status
    except urllib.error.HTTPError as err:
        payload, status = err.read().decode(), err.code
    try:
        return status, json.loads(payload)
    except json.JSONDecodeError:
        return status, payload


def is_up(base: str) -> bool:
    return answers_200(base + "/health")


def started(model: Path, **overrides: Any) -> Tuple[subprocess.Popen, str]:
    port = free_port()
    process = start(model, port, **overrides)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: is_up(base) or process.poll() is not None, "the server never came up", 60)
    assert process.poll() is None, process.communicate()
    return process, base


def raw_exchange(port: int, data: bytes, wait: float = 10) -> bytes:
    """Send bytes on a fresh connection, then read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def error_of(response: bytes) -> Tuple[int, Dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def metric_values(base: str) -> Dict[str, float]:
    status, text = call(base, "/metrics")
    assert status == 200
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def children(pid: int) -> List[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def run_model(folder: Path) -> Path:
    """The rules model placed as a run's model-best, with the run's records."""
    folder.mkdir(parents=True, exist_ok=True)
    rules_model(folder / "model-best")
    srsly.write_json(folder / "metrics.json", {
        "overall": {"p": 0.9, "r": 0.8, "f": 0.85, "support": 10}, "test": {"md5": "t" * 32},
        "per_label": {"PER": {"p": 1.0, "r": 1.0, "f": 1.0, "support": 5}},
        "speed": {"words_per_second": 1000}})
    srsly.write_json(folder / "run.json", {
        "run": folder.name, "created": "2026-11-23T00:00:00+00:00", "seed": 0,
        "config": {"md5": "c" * 32}, "corpus": {"train": {"md5": "a"}, "dev": {"md5": "b"}},
        "environment": {"versions": {"spacy": "3.8"}, "git": None}})
    return folder / "model-best"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return run_model(tmp_path_factory.mktemp("run") / "sample-rules-s0")


@pytest.fixture(scope="module")
def server(model: Path) -> Iterator[str]:
    process, base = started(model, **SERVER)
    yield base
    process.terminate()
    process.wait(timeout=30)


LIMITS = Limits(MAX_TEXTS, MAX_CHARS, 1.0, 1.0)


@pytest.mark.parametrize("body, status, says", [
    (b"not json", 400, "not valid JSON"),
    (b"\xff\xfe{}", 400, "not valid UTF-8"),
    (b'{"texts": ["\\ud800"]}', 400, "unpaired surrogate (\\ud800) at character 0"),
    (b'{"texts": ["ok", "a\\udfff"]}', 400, "text 1 is not valid Unicode"),
    (b"{}", 422, '"texts": a list of strings'),
    (b"[1]", 422, '"texts": a list of strings'),
    (b'{"texts": "a string"}', 422, "must be a list of strings, got str"),
    (b'{"texts": ["a", 2]}', 422, "text 1 must be a string, got int"),
    (json.dumps({"texts": ["x"] * (MAX_TEXTS + 1)}).encode(), 413, f"at most {MAX_TEXTS}"),
    (json.dumps({"texts": ["ok", "a" * (MAX_CHARS + 1)]}).encode(), 413, "text 1 has 2,001 characters"),
])
def test_request_bodies_are_checked_with_the_cause_named(body: bytes, status: int, says: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_texts(body, LIMITS)
    assert caught.value.status == status and says in caught.value.message


def test_the_largest_legal_body_fits_the_body_limit() -> None:
    # Every character escaped, as Python's json.dumps sends non-ASCII text.
    body = json.dumps({"texts": ["\u00e7" * MAX_CHARS] * MAX_TEXTS}).encode()
    assert len(body) <= LIMITS.max_body_bytes and parse_texts(body, LIMITS)


def test_entities_health_meta_and_head(server: str) -> None:
    status, body = call(server, "/ents", {"texts": ["Ana mora em Lisboa.", "Nada."]})
    assert status == 200
    assert body["results"][0]["entities"] == [
        {"start": 0, "end": 3, "label": "PER", "text": "Ana"},
        {"start": 12, "end": 18, "label": "LOC", "text": "Lisboa"}]
    # A model-best is named as the package it becomes.
    assert body["results"][1]["entities"] == [] and body["model"] == {"name": "pt_rules_model",
                                                                     "version": "1.2.3"}
    assert call(server, "/health") == (200, {"status": "ok"})
    status, meta = call(server, "/meta")
    assert status == 200 and meta["model"] == body["model"]
    assert meta["test_scores"]["overall"]["f"] == 0.85 and meta["test_scores"]["per_label"]["PER"]["f"] == 1.0
    assert meta["run"]["seed"] == 0 and meta["run"]["config_md5"] == "c" * 32
    for path in ("/health", "/meta", "/metrics"):
        assert call(server, path, method="HEAD") == (200, "")


@pytest.mark.parametrize("path, method, body, content_type, status, says", [
    ("/ents", "POST", b'{"texts": ["Ana"]}', "application/x-www-form-urlencoded", 415,
     "Content-Type: application/json"),
    ("/ents", "POST", b'{"texts": ["\\ud800"]}', "application/json", 400, "unpaired surrogate"),
    ("/ents", "POST", b"not json", "application/json", 400, "not valid JSON"),
    ("/ents", "POST", b'{"texts": [1]}', "application/json", 422, "must be a string"),
    ("/ents", "POST", json.dumps({"texts": ["x"] * (MAX_TEXTS + 1)}).encode(), "application/json", 413,
     "at most 8"),
    ("/ents", "GET", None, "application/json", 405, "/ents takes POST"),
    ("/meta", "DELETE", None, "application/json", 405, "takes GET or HEAD"),
    ("/nowhere", "GET", None, "application/json", 404, "no endpoint /nowhere"),
])
def test_every_error_has_one_json_shape(server: str, path: str, method: str, body: Optional[bytes],
                                         content_type: str, status: int, says: str) -> None:
    got, answer = call(server, path, raw=body, method=method, content_type=content_type)
    assert got == status, answer
    assert set(answer) == {"error"} and answer["error"]["status"] == status
    assert answer["error"]["type"] and says in answer["error"]["message"]


def test_the_readme_curl_example_works_as_written(server: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    (line,) = [line for line in readme.splitlines() if line.startswith("$ curl")]
    command = line[2:].replace("127.0.0.1:8000", server.split("//")[1])
    import shlex

    result = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "entities" in json.loads(result.stdout)["results"][0]


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    start_time = time.perf_counter()
    answer = raw_exchange(port, b"POST /ents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 100000000\r\n\r\n{\"texts\": [")
    status, error = error_of(answer)
    assert status == 413 and "100,000,000 bytes" in error["message"]
    assert time.perf_counter() - start_time < 5


@pytest.mark.parametrize("sent, status", [
    (b"POST /ents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{", 408),
    (b"POST /ents HTTP/1.1\r\nHost: x\r\nContent-Ty", 408),
    (b"GARBAGE\x00\r\n\r\n", 400),
])
def test_stalled_or_malformed_requests_are_answered_and_closed(server: str, sent: bytes, status: int) -> None:
    answer = raw_exchange(int(server.rsplit(":", 1)[1]), sent)
    got, error = error_of(answer)
    assert got == status and error["status"] == status


def test_connections_over_the_limit_get_503_and_idle_ones_are_closed(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(SERVER["max_connections"])]
    try:
        time.sleep(0.2)
        status, error = error_of(raw_exchange(port, b""))
        assert status == 503 and "connections" in error["message"]
        for sock in idle:  # closed by the server after the read timeout, without an answer
            sock.settimeout(10)
            assert sock.recv(100) == b""
    finally:
        for sock in idle:
            sock.close()
    assert is_up(server)


def test_concurrent_requests_are_batched_and_metrics_count_every_status(server: str) -> None:
    before = metric_values(server)
    barrier = threading.Barrier(8)
    answers: List[Tuple[int, Any]] = []

    def one_text() -> None:
        barrier.wait()
        answers.append(call(server, "/ents", {"texts": ["Ana e Ana em Lisboa."]}))

    threads = [threading.Thread(target=one_text) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 8
    call(server, "/ents", raw=b"nope")
    call(server, "/nowhere")
    values = metric_values(server)
    batches = values["ner_batch_texts_count"] - before.get("ner_batch_texts_count", 0)
    assert values["ner_batch_texts_sum"] - before.get("ner_batch_texts_sum", 0) == 8 and batches < 8
    ents = 'ner_requests_total{endpoint="/ents",method="POST",status="200"}'
    assert values[ents] - before.get(ents, 0) == 8
    assert values['ner_requests_total{endpoint="/ents",method="POST",status="400"}'] >= 1
    assert values['ner_requests_total{endpoint="other",method="GET",status="404"}'] >= 1
    assert values['ner_entities_total{label="PER"}'] >= 16 and values["ner_documents_total"] >= 8
    durations = 'ner_request_duration_seconds_count{endpoint="/ents"}'
    assert values[durations] - before.get(durations, 0) == 9  # every answer timed: 8 texts and the bad body
    assert values["ner_requests_in_flight"] == 1  # this /metrics request
    assert values['ner_model_info{name="pt_rules_model",run="sample-rules-s0",version="1.2.3"}'] == 1
    assert values["process_resident_memory_bytes"] > 0


def test_a_taken_port_is_one_line_and_a_failure(model: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start(model, taken.getsockname()[1])
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "Serving" not in out
    assert err.strip().count("\n") == 0 and "address already in use" in err.lower(), err


def send_later(base: str, texts: List[str], into: Dict[str, Any], key: str) -> threading.Thread:
    def request() -> None:
        into[key] = call(base, "/ents", {"texts": texts}, timeout=60)
        into[f"{key}_at"] = time.perf_counter()

    thread = threading.Thread(target=request)
    thread.start()
    return thread


@pytest.mark.slow
def test_slow_requests_get_504_at_their_deadline(model: Path) -> None:
    process, base = started(model, max_chars=len(SLOW_TEXT), deadline_seconds=0.5, workers=1)
    try:
        began = time.perf_counter()
        status, body = call(base, "/ents", {"texts": [SLOW_TEXT] * 4})
        assert status == 504 and body["error"]["type"] == "deadline_exceeded"
        assert time.perf_counter() - began < 3
        assert metric_values(base)['ner_requests_total{endpoint="/ents",method="POST",status="504"}'] == 1
    finally:
        process.kill()


@pytest.mark.slow
def test_sigterm_finishes_requests_in_progress_answers_new_ones_503_and_exits_in_grace(model: Path) -> None:
    # A second of work on a quiet machine; 8 s of grace ran out beside two trainings.
    # The server exits as soon as the request is answered, so a long grace costs nothing.
    grace = 30
    process, base = started(model, max_chars=len(SLOW_TEXT), grace_seconds=grace, workers=2)
    workers = children(process.pid)
    answers: Dict[str, Any] = {}
    in_progress = send_later(base, [SLOW_TEXT], answers, "first")
    # In flight (besides the /metrics request asking): on a loaded machine a
    # fixed pause may end before the request even reaches the server.
    wait_for(lambda: metric_values(base)["ner_requests_in_flight"] >= 2, "the first request never arrived", 30)
    stopped_at = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    assert call(base, "/ents", {"texts": ["Ana"]})[0] == 503  # still listening, while draining
    assert call(base, "/health")[0] == 503
    in_progress.join(timeout=60)
    assert answers["first"][0] == 200 and answers["first_at"] > stopped_at
    assert process.wait(timeout=grace + 5) == 128 + signal.SIGTERM
    assert time.perf_counter() - stopped_at < grace + 1
    assert not is_up(base) and len(workers) >= 2
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers outlived the server", 10)


@pytest.mark.slow
def test_a_request_longer_than_the_grace_gets_503_and_the_server_exits_in_time(model: Path) -> None:
    grace = 2
    process, base = started(model, max_chars=len(SLOW_TEXT), grace_seconds=grace,
                            max_texts=16, deadline_seconds=120)
    answers: Dict[str, Any] = {}
    in_progress = send_later(base, [SLOW_TEXT] * 16, answers, "long")  # far more than 2 s of work
    time.sleep(0.5)
    stopped_at = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=grace + 5) == 128 + signal.SIGTERM
    assert time.perf_counter() - stopped_at < grace + 0.5
    in_progress.join(timeout=10)
    status, body = answers["long"]
    assert status == 503 and "grace" in body["error"]["message"]


@pytest.mark.slow
def test_sigterm_to_weasel_stops_the_server_it_started(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    run = "sample-cnn-efficiency-s0"
    run_model(project / "training" / run)
    port = free_port()
    settings_file("serve", project / "configs", max_chars=len(SLOW_TEXT))
    weasel = subprocess.Popen([sys.executable, "-m", "weasel", "run", "serve", ".", "--vars.serve_port",
                               str(port)],
                              cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "PYTHONPATH": str(project)})
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: is_up(base) or weasel.poll() is not None, "weasel run serve never came up", 60)
    (server_pid,) = children(weasel.pid)
    answers: Dict[str, Any] = {}
    in_progress = send_later(base, [SLOW_TEXT], answers, "first")
    time.sleep(0.5)
    weasel.send_signal(signal.SIGTERM)
    in_progress.join(timeout=60)
    assert answers["first"][0] == 200  # the request in progress finished
    weasel.wait(timeout=10)
    wait_for(lambda: not process_alive(server_pid), "the server outlived weasel",
             int(SERVE_SETTINGS["grace_seconds"]) + 5)
    assert not is_up(base)


class BrokenWorkers:
    """Model workers with a bug: every batch raises."""

    count, batch_size = 1, 32

    async def annotate(self, texts: List[str]) -> List[Any]:
        raise RuntimeError("a bug in the model worker")

    def stop(self) -> None:
        pass


def test_a_bug_is_a_json_500_and_counted() -> None:
    """The app in-process (no model to break in a real server): an unexpected
    error answers 500 in the error shape, and /metrics counts it."""
    import asyncio

    from scripts.lib.serving import ModelCard, Service

    card = ModelCard({"name": "pt_x", "version": "1"}, [], [], None, None)
    service = Service(card, BrokenWorkers(), LIMITS, 0.0)  # type: ignore[arg-type]

    async def request(path: str, method: str, body: bytes = b"") -> Tuple[int, bytes]:
        sent: List[Dict[str, Any]] = []
        incoming = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> Dict[str, Any]:
            return incoming.pop(0)

        async def send(message: Dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "path": path, "method": method,
                 "headers": [(b"content-type", b"application/json")]}
        await service(scope, receive, send)
        return sent[0]["status"], sent[1]["body"]

    async def scenario() -> Tuple[Tuple[int, bytes], Tuple[int, bytes]]:
        stop = asyncio.Event()
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def lifespan_receive() -> Dict[str, Any]:
            message = next(messages)
            if message["type"] == "lifespan.shutdown":
                await stop.wait()
            return message

        async def lifespan_send(message: Dict[str, Any]) -> None:
            pass

        lifespan = asyncio.create_task(service({"type": "lifespan"}, lifespan_receive, lifespan_send))
        await asyncio.sleep(0)
        answers = await request("/ents", "POST", b'{"texts": ["Ana"]}'), await request("/metrics", "GET")
        stop.set()
        await lifespan
        return answers

    (status, body), (_, metrics) = asyncio.run(scenario())
    assert status == 500 and json.loads(body)["error"]["type"] == "internal_error"
    assert b'ner_requests_total{endpoint="/ents",method="POST",status="500"} 1.0' in metrics
