"""benchmark-deploy: the load generator against a real server, and its table."""

from typing import Iterator

import pytest

from bench.deploy import deploy_markdown, serve_load
from tests.test_serve import run_model, started


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    process, base = started(run_model(tmp_path_factory.mktemp("run") / "sample-rules-s0"))
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_a_bounded_load_is_served_without_errors(server: str) -> None:
    result = serve_load(server, [f"Ana {n} mora em Lisboa." for n in range(100)], clients=4)
    assert result["requests"] == 100 and result["failures"] == 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] and result["seconds"] > 0


def test_the_deployment_table_reports_ratios_and_latency() -> None:
    table = deploy_markdown({
        "model": "m", "texts": "t.jsonl", "words": 1000, "documents": 10, "rounds": 2, "created": "now",
        "clients": 8, "shard_size": 5, "environment": {"cpu_count": 2, "cpu": "Some CPU"},
        "annotate": {"annotate, 1 process": 1000, "annotate, 2 processes": 1800},
        "serve": {"serve, 2 model processes": {"words_per_second": 1750, "p50_ms": 12.5, "p95_ms": 30.1,
                                               "requests": 10, "failures": 0, "startup_seconds": 3.1}}})
    assert "| annotate, 2 processes | 1,800 | 1.80x |" in table and "(Some CPU)" in table
    assert "| serve, 2 model processes | 1,750 | 1.75x | 12.5 | 30.1 | 10 | 0 | 3.1 |" in table
