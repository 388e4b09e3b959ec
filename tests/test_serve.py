"""serve: a real server on 127.0.0.1, its answers, every bad request, metrics,
a graceful stop and a bounded load."""

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest
import srsly

from scripts.benchmark_deploy import deploy_markdown, free_port, load_test

from .conftest import ROOT, rules_model, wait_for

MAX_TEXTS, MAX_CHARS = 8, 2000


def call(base: str, path: str, body: Optional[Any] = None, raw: Optional[bytes] = None,
         timeout: float = 30) -> Tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as err:
        payload, status = err.read().decode(), err.code
    try:
        return status, json.loads(payload)
    except json.JSONDecodeError:
        return status, payload


def start(model: Path, port: int, max_chars: int = MAX_CHARS) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scripts.serve", str(model), "--port", str(port),
                             "--max-texts", str(MAX_TEXTS), "--max-chars", str(max_chars)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def is_up(base: str) -> bool:
    try:
        return call(base, "/health", timeout=1)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """A server over the rules model, placed as a run's model-best with its records."""
    run_dir = tmp_path_factory.mktemp("run") / "sample-rules-s0"
    run_dir.mkdir()
    rules_model(run_dir / "model-best")
    srsly.write_json(run_dir / "metrics.json", {
        "overall": {"p": 0.9, "r": 0.8, "f": 0.85, "support": 10}, "test": {"md5": "t" * 32},
        "per_label": {"PER": {"p": 1.0, "r": 1.0, "f": 1.0, "support": 5}},
        "speed": {"words_per_second": 1000}})
    srsly.write_json(run_dir / "run.json", {
        "run": run_dir.name, "created": "2026-11-23T00:00:00+00:00", "seed": 0,
        "config": {"md5": "c" * 32}, "corpus": {"train": {"md5": "a"}, "dev": {"md5": "b"}},
        "environment": {"versions": {"spacy": "3.8"}, "git": None}})
    base = f"http://127.0.0.1:{free_port()}"
    process = start(run_dir / "model-best", int(base.rsplit(":", 1)[1]))
    wait_for(lambda: is_up(base) or process.poll() is not None, "the server never came up", 60)
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_entities_health_and_meta(server: str) -> None:
    status, body = call(server, "/ents", {"texts": ["Ana mora em Lisboa.", "Nada."]})
    assert status == 200
    assert body["results"][0]["entities"] == [
        {"start": 0, "end": 3, "label": "PER", "text": "Ana"},
        {"start": 12, "end": 18, "label": "LOC", "text": "Lisboa"}]
    assert body["results"][1]["entities"] == [] and body["model"] == {"name": "pt_rules", "version": "1.2.3"}
    assert call(server, "/health") == (200, {"status": "ok"})
    status, meta = call(server, "/meta")
    assert status == 200 and meta["model"]["version"] == "1.2.3"
    assert meta["test_scores"]["overall"]["f"] == 0.85 and meta["run"]["seed"] == 0
    assert meta["run"]["config_md5"] == "c" * 32


@pytest.mark.parametrize("raw, status, says", [
    (b"not json", 422, "detail"),
    (b"{}", 422, "detail"),
    (b'{"texts": "a string"}', 422, "detail"),
    (b'{"texts": [1, 2]}', 422, "detail"),
    (json.dumps({"texts": ["x"] * (MAX_TEXTS + 1)}).encode(), 413, f"at most {MAX_TEXTS}"),
    (json.dumps({"texts": ["ok", "a" * (MAX_CHARS + 1)]}).encode(), 413, "text 1 has"),
])
def test_bad_requests_get_a_json_error_never_a_500(server: str, raw: bytes, status: int, says: str) -> None:
    got, body = call(server, "/ents", raw=raw)
    assert got == status and isinstance(body, dict) and says in json.dumps(body)


def test_prometheus_metrics_count_requests_documents_and_entities(server: str) -> None:
    call(server, "/ents", {"texts": ["Ana e Ana em Lisboa."]})
    status, text = call(server, "/metrics")
    assert status == 200
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in text.splitlines() if line and not line.startswith("#")}
    assert values['ner_requests_total{endpoint="/ents",status="200"}'] >= 1
    assert values['ner_entities_total{label="PER"}'] >= 2 and values["ner_documents_total"] >= 1
    assert values["ner_words_total"] >= 6 and 'ner_request_seconds_bucket{endpoint="/ents",le="0.1"}' in values


def test_a_bounded_load_is_served_without_errors(server: str) -> None:
    result = load_test(server, clients=4, requests=25, texts=["Ana mora em Lisboa."] * 4)
    assert result["requests"] == 100 and result["failures"] == 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] and result["requests_per_second"] > 0


def test_the_deployment_table_reports_ratios_and_latency() -> None:
    table = deploy_markdown({
        "model": "m", "texts": "t.jsonl", "words": 1000, "rounds": 2, "created": "now",
        "environment": {"cpu_count": 2},
        "annotate": {"annotate, 1 process": 1000, "annotate, 2 processes": 1800, "spacy apply (defaults)": 500},
        "serve": {"clients": 4, "requests_per_client": 50, "texts_per_request": 8, "requests": 200,
                  "failures": 0, "p50_ms": 12.5, "p95_ms": 30.1, "requests_per_second": 150.0}})
    assert "| annotate, 2 processes | 1,800 | 1.80x |" in table and "| 200 | 0 | 12.5 | 30.1 | 150.0 |" in table


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    model = rules_model(tmp_path / "model")
    base = f"http://127.0.0.1:{free_port()}"
    process = start(model, int(base.rsplit(":", 1)[1]), max_chars=1_000_000)
    wait_for(lambda: is_up(base) or process.poll() is not None, "the server never came up", 60)
    answer: Dict[str, Any] = {}
    texts = ["Ana mora em Lisboa. " * 10_000] * MAX_TEXTS  # about a second of work

    def slow_request() -> None:
        answer["status"], answer["body"] = call(base, "/ents", {"texts": texts}, timeout=60)
        answer["at"] = time.perf_counter()

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.3)
    stopped_at = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    thread.join(timeout=60)
    assert answer.get("status") == 200 and len(answer["body"]["results"]) == MAX_TEXTS
    assert answer["at"] > stopped_at  # the answer came after the signal
    # uvicorn shuts down gracefully, then re-raises SIGTERM: exit 128 + 15, as every step.
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert not is_up(base)
