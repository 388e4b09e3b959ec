"""Benchmark deployment: annotation throughput, locally and on a Dask cluster,
and the service under concurrent load.

Reads: MODEL (a run's model-best) and TEXTS (a .jsonl file with a "text" field,
e.g. a corpus's texts).
Writes: OUTPUT_DIR/results.json and OUTPUT_DIR/results.md, in one sitting, the
methods taking turns for --rounds rounds (the best round of each counts):
- words/second of `annotate` with one process, with --n-process processes and
  on a Dask cluster of --n-process one-thread workers (started with Dask's own
  CLI on this machine), and of `spacy apply` on the same model and texts;
- `serve` on 127.0.0.1 with 1 and with --n-process model processes, --clients
  concurrent clients each sending one text per request until every text is
  answered: words/second, p50 and p95 latency, failures;
each with its ratio to one-process `annotate`. Annotation figures include
loading the model; the service's are measured once it is up, its start-up
apart. The machine is shared, so read the ratios, not the absolute figures.
"""

import http.client
import json
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import srsly
import typer
from wasabi import msg

from scripts.lib.errors import UserError, exit_on_user_error
from scripts.lib.processes import DaskCluster, answers, free_port
from scripts.lib.provenance import environment_info, utc_now
from scripts.lib.tables import markdown_table, write_json_and_markdown

# serve's settings in the benchmark: the project's defaults would refuse nothing
# the benchmark sends, and the benchmark must not depend on project.yml.
SERVE_OPTIONS = ["--batch-size", "32", "--batch-wait-ms", "2", "--max-texts", "128",
                 "--max-chars", "1000000", "--deadline-seconds", "300", "--read-timeout-seconds", "60",
                 "--max-connections", "256", "--grace-seconds", "10", "--package-name", "benchmark",
                 "--package-version", "0.0.0", "--host", "127.0.0.1"]


def timed(command: List[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"{' '.join(command[:4])} ... failed: {result.stderr[-400:]}")
    return time.perf_counter() - start


def serve_load(base: str, texts: List[str], clients: int) -> Dict[str, Any]:
    """`clients` threads, each on its own keep-alive connection, sending one text
    per POST /ents until every text is answered: seconds, latency percentiles,
    failures. Bounded: one request per text, then it stops."""
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    todo: "queue.Queue[str]" = queue.Queue()
    for text in texts:
        todo.put(text)
    latencies: List[float] = []
    failures = [0]
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        while True:
            try:
                text = todo.get_nowait()
            except queue.Empty:
                break
            start = time.perf_counter()
            try:
                connection.request("POST", "/ents", json.dumps({"texts": [text]}),
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=300)
                ok = False
            with lock:
                latencies.append(time.perf_counter() - start)
                failures[0] += not ok
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "failures": failures[0], "seconds": seconds,
            "p50_ms": round(1000 * cuts[49], 1), "p95_ms": round(1000 * cuts[94], 1)}


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen,
               seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline or process.poll() is not None:
            raise UserError(f"{what} did not start")
        time.sleep(0.2)


def serve_round(model: Path, texts: List[str], workers: int, clients: int, cwd: Path) -> Dict[str, Any]:
    """One server started with `workers` model processes and measured once it is
    up: a service starts once and then serves, so its start-up is reported apart."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "scripts.serve", str(model), "--port", str(port),
                                "--workers", str(workers), *SERVE_OPTIONS], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(base + "/health"), "the server", process)
        startup_seconds = round(time.perf_counter() - started, 1)
        return {**serve_load(base, texts, clients), "startup_seconds": startup_seconds}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def deploy_markdown(results: Dict[str, Any]) -> str:
    base = results["annotate"]["annotate, 1 process"]
    rows = [(name, f"{wps:,}", f"{wps / base:.2f}x") for name, wps in results["annotate"].items()]
    serve_rows = [(name, f"{row['words_per_second']:,}", f"{row['words_per_second'] / base:.2f}x",
                   row["p50_ms"], row["p95_ms"], row["requests"], row["failures"], row["startup_seconds"])
                  for name, row in results["serve"].items()]
    return ("# Deployment benchmark\n\n"
            f"Model `{results['model']}`; {results['words']:,} words in {results['documents']:,} texts "
            f"from `{results['texts']}`; {results['environment']['cpu_count']} cores "
            f"({results['environment'].get('cpu', 'CPU not recorded')}); {results['created']}. "
            f"Words/second are the best of {results['rounds']} rounds, methods taking turns; the "
            "machine is shared, so compare the ratios. Annotation includes loading the model (a job "
            f"starts, reads, writes and ends; shards of {results['shard_size']:,} texts); the service is "
            "measured once it answers /health (it starts once, then serves), its start-up shown apart."
            "\n\n## Annotation\n\n"
            + markdown_table(("how", "words/s", "vs annotate, 1 process"), rows)
            + f"\n## Service under load\n\n{results['clients']} concurrent clients on 127.0.0.1, one "
            "text per request, until every text is answered (latency of the best round).\n\n"
            + markdown_table(("how", "words/s", "vs annotate, 1 process", "p50 (ms)", "p95 (ms)",
                              "requests", "failures", "start-up (s)"), serve_rows))


def take_turns(rounds: int, methods: Dict[str, Callable[[], float]]) -> Iterator[str]:
    for _ in range(rounds):
        yield from methods


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="A run's model-best", exists=True, file_okay=False),
    texts_path: Path = typer.Argument(..., help="A .jsonl file with a text field", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Where to write results.json and results.md"),
    n_process: int = typer.Option(..., help="Processes, Dask workers and model processes of the parallel runs"),
    rounds: int = typer.Option(..., help="Rounds per method (the best counts)"),
    clients: int = typer.Option(..., help="Concurrent clients of the service"),
    # fmt: on
) -> None:
    project_dir = Path(__file__).resolve().parent.parent
    texts = [record["text"] for record in srsly.read_jsonl(texts_path)]
    import spacy

    words = sum(len(doc) for doc in spacy.blank("xx").pipe(texts))
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    cluster = DaskCluster(n_process)

    # Shards small enough that every worker of the parallel runs gets several.
    shard_size = max(1, -(-len(texts) // (8 * n_process)))

    def annotate(*options: str) -> Callable[[], float]:
        def run() -> float:
            out = Path(tempfile.mkdtemp(dir=work))
            return timed([sys.executable, "-m", "scripts.annotate", str(model), str(texts_path),
                          str(out / "out"), "--shard-size", str(shard_size), *options], project_dir)
        return run

    def apply(*options: str) -> Callable[[], float]:
        def run() -> float:
            out = Path(tempfile.mkdtemp(dir=work))
            return timed([sys.executable, "-m", "spacy", "apply", str(model), str(texts_path),
                          str(out / "out.spacy"), *options], project_dir)
        return run

    annotation = {
        "annotate, 1 process": annotate(),
        f"annotate, {n_process} processes": annotate("--n-process", str(n_process)),
        f"annotate, Dask ({n_process} one-thread workers)": annotate("--scheduler", cluster.address),
        "spacy apply (defaults)": apply(),
    }
    serving: Dict[str, Dict[str, Any]] = {}
    serve_methods = {f"serve, {workers} model process{'es' if workers > 1 else ''}": workers
                     for workers in (1, n_process)}
    speeds: Dict[str, int] = {}
    try:
        for name in take_turns(rounds, {**annotation, **serve_methods}):
            if name in annotation:
                wps = round(words / annotation[name]())
                speeds[name] = max(speeds.get(name, 0), wps)
            else:
                result = serve_round(model, texts, serve_methods[name], clients, project_dir)
                wps = round(words / result["seconds"])
                if result["failures"]:
                    raise UserError(f"{name}: {result['failures']} failed requests")
                if wps > serving.get(name, {}).get("words_per_second", 0):
                    serving[name] = {**result, "words_per_second": wps}
            msg.info(f"{name}: {wps:,} words/s")
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    results = {"created": utc_now(), "model": str(model), "texts": str(texts_path), "words": words,
               "documents": len(texts), "rounds": rounds, "clients": clients, "shard_size": shard_size,
               "annotate": speeds,
               "serve": serving, "environment": environment_info()}
    write_json_and_markdown(output_dir / "results", results, deploy_markdown(results))
    msg.good(f"Results saved to {output_dir}/results.md")


if __name__ == "__main__":
    typer.run(main)
