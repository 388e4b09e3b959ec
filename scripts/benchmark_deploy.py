"""Benchmark deployment: annotation throughput and the service under load.

Reads: MODEL (a run's model-best) and TEXTS (a .jsonl file with a "text" field,
e.g. a corpus's texts).
Writes: OUTPUT_DIR/results.json and OUTPUT_DIR/results.md:
- words/second of `annotate` with one process and with --n-process processes,
  and of `spacy apply` (its defaults, then a batch size of 256) on the same model
  and texts, each the best of --rounds, with ratios to one-process annotate;
- `serve` on 127.0.0.1 under a fixed load (clients x requests, each request
  --texts-per-request texts): p50 and p95 latency and requests/second.
"""

import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

import srsly
import typer
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error
from .lib.provenance import environment_info, utc_now
from .lib.tables import markdown_table, write_json_and_markdown


def timed(command: List[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"{' '.join(command[:4])} ... failed: {result.stderr[-400:]}")
    return time.perf_counter() - start


def post(url: str, texts: List[str]) -> int:
    request = urllib.request.Request(url, data=json.dumps({"texts": texts}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        return response.status


def load_test(base: str, clients: int, requests: int, texts: List[str]) -> Dict[str, float]:
    """`clients` threads each sending `requests` POST /ents: latency percentiles,
    throughput and failures. Bounded: clients x requests calls, then it stops."""
    latencies: List[float] = []
    failures = [0]
    lock = threading.Lock()

    def client() -> None:
        for _ in range(requests):
            start = time.perf_counter()
            try:
                ok = post(base + "/ents", texts) == 200
            except OSError:
                ok = False
            with lock:
                latencies.append(time.perf_counter() - start)
                failures[0] += not ok

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "failures": failures[0], "p50_ms": round(1000 * cuts[49], 1),
            "p95_ms": round(1000 * cuts[94], 1), "requests_per_second": round(len(latencies) / elapsed, 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_under_load(model: Path, texts: List[str], clients: int, requests: int, cwd: Path) -> Dict[str, Any]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "scripts.serve", str(model), "--port", str(port),
                                "--max-texts", str(len(texts))], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise UserError("the server did not start") from None
                time.sleep(0.2)
        post(base + "/ents", texts)  # warm-up
        return {"clients": clients, "requests_per_client": requests, "texts_per_request": len(texts),
                **load_test(base, clients, requests, texts)}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def deploy_markdown(results: Dict[str, Any]) -> str:
    base = results["annotate"]["annotate, 1 process"]
    rows = [(name, f"{wps:,}", f"{wps / base:.2f}x") for name, wps in results["annotate"].items()]
    serve = results["serve"]
    return ("# Deployment benchmark\n\n"
            f"Model `{results['model']}`; {results['words']:,} words from `{results['texts']}`; "
            f"{results['environment']['cpu_count']} cores; {results['created']}. Words/second are "
            f"the best of {results['rounds']} rounds, including loading the model.\n\n## Annotation\n\n"
            + markdown_table(("how", "words/s", "vs annotate, 1 process"), rows)
            + f"\n## Service under load\n\n{serve['clients']} clients x {serve['requests_per_client']} "
            f"requests of {serve['texts_per_request']} texts on 127.0.0.1.\n\n"
            + markdown_table(("requests", "failures", "p50 (ms)", "p95 (ms)", "requests/s"),
                             [(serve["requests"], serve["failures"], serve["p50_ms"], serve["p95_ms"],
                               serve["requests_per_second"])]))


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="A run's model-best", exists=True, file_okay=False),
    texts_path: Path = typer.Argument(..., help="A .jsonl file with a text field", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(Path("benchmarks/deploy"), help="Where to write results.json and results.md"),
    n_process: int = typer.Option(2, help="Processes of the parallel annotate run"),
    rounds: int = typer.Option(2, help="Timed rounds per method (the best counts)"),
    clients: int = typer.Option(4, help="Concurrent clients of the load test"),
    requests: int = typer.Option(50, help="Requests per client"),
    texts_per_request: int = typer.Option(8, help="Texts per request"),
    # fmt: on
) -> None:
    project_dir = Path(__file__).resolve().parent.parent
    texts = [record["text"] for record in srsly.read_jsonl(texts_path)]
    import spacy

    words = sum(len(doc) for doc in spacy.blank("xx").pipe(texts))
    methods = {
        "annotate, 1 process": lambda out: [sys.executable, "-m", "scripts.annotate", str(model),
                                            str(texts_path), str(out)],
        f"annotate, {n_process} processes": lambda out: [
            sys.executable, "-m", "scripts.annotate", str(model), str(texts_path), str(out),
            "--n-process", str(n_process)],
        "spacy apply (defaults)": lambda out: [sys.executable, "-m", "spacy", "apply", str(model),
                                               str(texts_path), str(out / "out.spacy")],
        "spacy apply, batch 256": lambda out: [sys.executable, "-m", "spacy", "apply", str(model),
                                               str(texts_path), str(out / "out.spacy"),
                                               "--batch-size", "256"],
    }
    speeds: Dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        for round_ in range(rounds):  # methods take turns, so load hits them alike
            for name, command in methods.items():
                out = Path(tmp) / f"{len(speeds)}-{round_}-{abs(hash(name))}"
                out.mkdir()
                seconds = timed(command(out), project_dir)
                speeds[name] = max(speeds.get(name, 0), round(words / seconds))
                msg.info(f"{name}: {words / seconds:,.0f} words/s")
    serve = serve_under_load(model, texts[:texts_per_request], clients, requests, project_dir)
    msg.info(f"serve: p50 {serve['p50_ms']} ms, p95 {serve['p95_ms']} ms, "
             f"{serve['requests_per_second']} requests/s")
    results = {"created": utc_now(), "model": str(model), "texts": str(texts_path), "words": words,
               "rounds": rounds, "annotate": speeds, "serve": serve, "environment": environment_info()}
    write_json_and_markdown(output_dir / "results", results, deploy_markdown(results))
    msg.good(f"Results saved to {output_dir}/results.md")


if __name__ == "__main__":
    typer.run(main)
