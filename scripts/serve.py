"""Serve a trained pipeline over HTTP (FastAPI on uvicorn).

Reads: MODEL (a run's model-best, or an installed pipeline's name) and, when
MODEL is a run's model-best, the run's run.json and metrics.json beside it.
Serves:
- `POST /ents` with `{"texts": [...]}`: the entities of each text (start, end,
  label, text) and the model's name and version;
- `GET /health`: 200 once the model is loaded;
- `GET /meta`: model name, version and labels, the run's test scores and its
  provenance (seed, config and corpus checksums, versions, git commit);
- `GET /metrics`: Prometheus metrics: requests by endpoint and status, request
  latency, documents, words and entities per label.
A request with more texts than --max-texts, or a text longer than --max-chars,
gets 413 with a JSON error; a malformed body gets 422; neither ever a 500.
SIGTERM (or Ctrl-C) stops accepting connections and lets requests in flight
finish before the process exits.
"""

import signal
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from wasabi import msg

from .lib.annotation import load_model
from .lib.entities import entity_labels, entity_records
from .lib.errors import UserError, exit_on_user_error
from .lib.run_record import read_provenance, read_test_scores


def run_info(model_path: str) -> Dict[str, Any]:
    """Test scores and provenance of the run a model-best folder belongs to."""
    run_dir = Path(model_path).parent
    return {key: value for key, value in (("test_scores", read_test_scores(run_dir)),
                                          ("run", read_provenance(run_dir))) if value}


def create_app(model_path: str, max_texts: int, max_chars: int, batch_size: int = 64) -> Any:
    """The FastAPI app, with the model loaded and its metrics registered."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, PlainTextResponse
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        Counter,
        Histogram,
        generate_latest,
    )
    from pydantic import BaseModel, StrictStr

    nlp = load_model(model_path)
    model = {"name": f"{nlp.meta['lang']}_{nlp.meta['name']}", "version": nlp.meta["version"]}
    labels = entity_labels(nlp)
    meta = {"model": model, "labels": labels, "pipeline": nlp.pipe_names, **run_info(model_path)}
    registry = CollectorRegistry()
    requests = Counter("ner_requests", "HTTP requests", ["endpoint", "status"], registry=registry)
    latency = Histogram("ner_request_seconds", "Request latency", ["endpoint"], registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    documents = Counter("ner_documents", "Documents processed", registry=registry)
    words = Counter("ner_words", "Words (tokens) processed", registry=registry)
    entities = Counter("ner_entities", "Entities found", ["label"], registry=registry)

    class Texts(BaseModel):
        texts: List[StrictStr]

    app = FastAPI(title="NER", version=model["version"])

    @app.middleware("http")
    async def measure(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        endpoint = request.url.path if request.url.path in ("/ents", "/health", "/meta", "/metrics") \
            else "other"
        requests.labels(endpoint, str(response.status_code)).inc()
        latency.labels(endpoint).observe(time.perf_counter() - start)
        return response

    @app.get("/health")
    def health() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/meta")
    def get_meta() -> Dict[str, Any]:
        return meta

    @app.get("/metrics")
    def metrics() -> Any:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/ents")
    def ents(body: Texts) -> Any:
        if len(body.texts) > max_texts:
            return JSONResponse(status_code=413, content={
                "error": f"{len(body.texts)} texts in one request; at most {max_texts}"})
        for index, text in enumerate(body.texts):
            if len(text) > max_chars:
                return JSONResponse(status_code=413, content={
                    "error": f"text {index} has {len(text)} characters; at most {max_chars}"})
        results = []
        for doc in nlp.pipe(body.texts, batch_size=batch_size):
            documents.inc()
            words.inc(len(doc))
            records = entity_records(doc)
            for record in records:
                entities.labels(record["label"]).inc()
            results.append({"entities": records})
        return {"model": model, "results": results}

    return app


@exit_on_user_error
def main(
    # fmt: off
    model_path: str = typer.Argument(..., help="A run's model-best folder, or an installed pipeline's name"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, help="Port to listen on"),
    max_texts: int = typer.Option(128, help="Texts per request at most (more: 413)"),
    max_chars: int = typer.Option(100_000, help="Characters per text at most (more: 413)"),
    graceful_seconds: Optional[int] = typer.Option(30, help="On SIGTERM, how long requests in flight may take to finish"),
    # fmt: on
) -> None:
    import uvicorn

    if max_texts < 1 or max_chars < 1:
        raise UserError("max_texts and max_chars must be at least 1")
    app = create_app(model_path, max_texts, max_chars)
    # uvicorn drains requests in flight on SIGTERM, then raises it again: exit
    # 128 + 15 then, quietly (the steps' handler would speak of removed outputs).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    msg.good(f"Serving {model_path} on http://{host}:{port} (POST /ents, GET /health, /meta, /metrics)")
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=graceful_seconds,
                log_level="warning")


if __name__ == "__main__":
    typer.run(main)
