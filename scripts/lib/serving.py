"""The NER service behind `serve`: model worker processes, micro-batching, the
ASGI app (routes, limits, one error shape, Prometheus metrics, draining) and the
uvicorn pieces it needs beyond uvicorn's own settings (a header timeout, a
connection limit and protocol errors in the same JSON shape).

The model runs in worker processes, never in the process that answers HTTP: the
event loop stays free to read requests, time them out and answer /health while
texts are annotated, and a shutdown can stop a batch that would outlast the grace.
"""

import asyncio
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .annotation import load_model, start_worker_process
from .entities import entity_labels, entity_records
from .errors import UserError
from .run_record import Provenance, TestScores, records_from_meta

ENDPOINTS = {"/ents": ("POST",), "/health": ("GET", "HEAD"), "/meta": ("GET", "HEAD"),
             "/metrics": ("GET", "HEAD")}
ERROR_TYPES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
               408: "request_timeout", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "invalid_body", 500: "internal_error", 503: "unavailable",
               504: "deadline_exceeded"}
REASONS = {408: b"Request Timeout", 503: b"Service Unavailable"}
# JSON escapes a character in at most 6 bytes (\uXXXX): a request of max_texts
# texts of max_chars characters is never refused for its size.
JSON_BYTES_PER_CHAR = 6
JSON_OVERHEAD_BYTES = 64 * 1024
# How long before the grace ends requests still waiting are answered 503, so the
# answers leave before uvicorn closes the connections.
ANSWER_MARGIN_SECONDS = 0.5


class ApiError(Exception):
    """A request that ends in an error response: status, message and details."""

    def __init__(self, status: int, message: str, headers: Optional[Dict[str, str]] = None,
                 **details: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.details = status, message, headers or {}, details


def error_body(status: int, message: str, **details: Any) -> bytes:
    """The one error shape of every response that is not a success."""
    return json_bytes({"error": {"type": ERROR_TYPES.get(status, "error"), "status": status,
                                 "message": message, **details}})


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf8")


@dataclass
class Limits:
    """What one request may ask and how long it may take."""

    max_texts: int
    max_chars: int
    deadline_seconds: float
    read_timeout_seconds: float

    @property
    def max_body_bytes(self) -> int:
        return self.max_texts * (self.max_chars * JSON_BYTES_PER_CHAR + 4) + JSON_OVERHEAD_BYTES


# --- The model worker processes -------------------------------------------------

_worker_nlp: Any = None
_worker_error = ""


def _worker_start(model: str, server_pid: int) -> None:
    """In each worker: die with the server (even a SIGKILLed one), leave Ctrl-C to
    the server (it drains first), load the model once."""
    global _worker_nlp, _worker_error
    start_worker_process(server_pid)
    try:
        _worker_nlp = load_model(model)
    except UserError as err:  # said by _worker_describe: a failing initializer says nothing
        _worker_error = str(err)


def _worker_describe() -> Dict[str, Any]:
    if _worker_nlp is None:
        raise UserError(_worker_error)
    # Plain JSON values: spaCy's meta holds frozen lists that do not unpickle.
    return json.loads(json.dumps({"meta": _worker_nlp.meta, "labels": entity_labels(_worker_nlp),
                                  "pipeline": _worker_nlp.pipe_names}, default=list))


def _worker_annotate(texts: List[str], batch_size: int) -> List[Tuple[List[Dict[str, Any]], int]]:
    """Each text's entity records and its number of words."""
    return [(entity_records(doc), sum(1 for token in doc if not token.is_space))
            for doc in _worker_nlp.pipe(texts, batch_size=batch_size)]


class ModelWorkers:
    """`count` processes that each load the model once and annotate batches."""

    def __init__(self, model: str, count: int, batch_size: int) -> None:
        self.model, self.count, self.batch_size = model, count, batch_size
        self.stopped = False
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a fresh interpreter, not a fork of a process running an event loop.
        return ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(self.model, os.getpid()))

    def start(self) -> Dict[str, Any]:
        """Start every worker (one task each makes the pool spawn them all) and
        return the model's description once all have loaded it."""
        futures = [self.pool.submit(_worker_describe) for _ in range(self.count)]
        try:
            return [future.result() for future in futures][0]
        except BrokenProcessPool:
            raise UserError(f"the model worker processes died loading {self.model}") from None

    async def annotate(self, texts: List[str]) -> List[Tuple[List[Dict[str, Any]], int]]:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, _worker_annotate, texts, self.batch_size)
        except BrokenProcessPool:
            if self.stopped:
                raise ApiError(503, "the server is shutting down and could not finish this request "
                                    "within its grace period; retry on another instance") from None
            # A worker died (e.g. killed for memory): answer this batch 503, start anew.
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            raise ApiError(503, "a model worker process died; the workers are restarting, retry",
                           {"Retry-After": "5"}) from None

    def stop(self) -> None:
        """End the workers now, a batch in progress included."""
        self.stopped = True
        # The executor has no public way to end its processes mid-task.
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=5)


# --- Micro-batching -------------------------------------------------------------

@dataclass
class Job:
    texts: List[str]
    future: "asyncio.Future[Any]" = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MicroBatcher:
    """Requests that arrive together are annotated in one `nlp.pipe` call: when a
    worker is free, every request waiting (up to `max_texts` texts) goes to it,
    after waiting at most `wait_seconds` for more to join a small batch."""

    def __init__(self, annotate: Callable[[List[str]], Awaitable[List[Any]]], max_texts: int,
                 wait_seconds: float, parallel: int, on_batch: Callable[[int], None]) -> None:
        self.annotate, self.max_texts, self.wait_seconds = annotate, max_texts, wait_seconds
        self.on_batch = on_batch  # told the number of texts of every batch
        self.queue: "asyncio.Queue[Job]" = asyncio.Queue()
        self.slots = asyncio.Semaphore(parallel)
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, texts: List[str]) -> List[Any]:
        job = Job(texts)
        self.queue.put_nowait(job)
        return await job.future

    def fail_waiting(self, error: Exception) -> None:
        """Answer every request still in the queue with `error`."""
        while not self.queue.empty():
            job = self.queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(error)

    async def _next_job(self, timeout: Optional[float]) -> Optional[Job]:
        """The next job whose request still waits (one past its deadline is dropped)."""
        while True:
            try:
                job = await asyncio.wait_for(self.queue.get(), timeout) if timeout is None or timeout > 0 \
                    else self.queue.get_nowait()
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                return None
            if not job.future.done():
                return job

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next_job(None)
            await self.slots.acquire()  # the batch grows while every worker is busy
            if first is None or first.future.done():
                self.slots.release()
                continue
            batch, size = [first], len(first.texts)
            until = loop.time() + self.wait_seconds
            while size < self.max_texts:
                job = await self._next_job(until - loop.time())
                if job is None:
                    break
                batch.append(job)
                size += len(job.texts)
            batch = [job for job in batch if not job.future.done()]
            if batch:
                loop.create_task(self._dispatch(batch))
            else:
                self.slots.release()

    async def _dispatch(self, batch: List[Job]) -> None:
        texts = [text for job in batch for text in job.texts]
        self.on_batch(len(texts))
        try:
            results = await self.annotate(texts)
        except Exception as err:  # noqa: BLE001 - each request gets the error
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(err)
            return
        finally:
            self.slots.release()
        start = 0
        for job in batch:
            if not job.future.done():
                job.future.set_result(results[start:start + len(job.texts)])
            start += len(job.texts)


# --- Metrics --------------------------------------------------------------------

class Metrics:
    """Prometheus metrics of the service, in their own registry."""

    def __init__(self, model: Dict[str, str], run: str) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            GCCollector,
            Histogram,
            PlatformCollector,
            ProcessCollector,
        )

        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.requests = Counter("ner_requests", "HTTP requests answered, by endpoint, method and status",
                                ["endpoint", "method", "status"], registry=registry)
        self.duration = Histogram("ner_request_duration_seconds", "Time to answer a request",
                                  ["endpoint"], registry=registry,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.in_flight = Gauge("ner_requests_in_flight", "Requests being answered", registry=registry)
        self.info = Gauge("ner_model_info", "The model served (always 1)", ["name", "version", "run"],
                          registry=registry)
        self.info.labels(model["name"], model["version"], run).set(1)
        self.documents = Counter("ner_documents", "Texts annotated", registry=registry)
        self.words = Counter("ner_words", "Words (tokens) annotated", registry=registry)
        self.entities = Counter("ner_entities", "Entities found, by label", ["label"], registry=registry)
        self.batch_texts = Histogram("ner_batch_texts", "Texts per nlp.pipe batch (micro-batching)",
                                     registry=registry, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))

    def render(self) -> Tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


# --- The app --------------------------------------------------------------------

def endpoint_label(path: str) -> str:
    """The path as a metrics label: known endpoints by name, anything else "other"
    (a client's made-up paths must not grow the metrics without bound)."""
    return path if path in ENDPOINTS else "other"


def media_type(headers: Dict[bytes, bytes]) -> str:
    return headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")


def parse_texts(body: bytes, limits: Limits) -> List[str]:
    """The texts of a POST /ents body, or the ApiError that says what is wrong."""
    try:
        decoded = body.decode("utf8")
    except UnicodeDecodeError as err:
        raise ApiError(400, f"the body is not valid UTF-8 (byte {err.start})") from None
    try:
        value = json.loads(decoded)
    except json.JSONDecodeError as err:
        raise ApiError(400, f"the body is not valid JSON ({err.msg} at line {err.lineno}, "
                            f"column {err.colno})") from None
    if not isinstance(value, dict) or "texts" not in value:
        raise ApiError(422, 'the body must be a JSON object with "texts": a list of strings',
                       field="texts")
    texts = value["texts"]
    if not isinstance(texts, list):
        raise ApiError(422, f'"texts" must be a list of strings, got {type(texts).__name__}',
                       field="texts")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ApiError(422, f"text {index} must be a string, got {type(text).__name__}",
                           field=f"texts[{index}]")
    if len(texts) > limits.max_texts:
        raise ApiError(413, f"{len(texts)} texts in one request; at most {limits.max_texts}",
                       field="texts")
    for index, text in enumerate(texts):
        if len(text) > limits.max_chars:
            raise ApiError(413, f"text {index} has {len(text):,} characters; at most "
                                f"{limits.max_chars:,}", field=f"texts[{index}]")
        try:
            text.encode("utf8")
        except UnicodeEncodeError as err:
            raise ApiError(400, f"text {index} is not valid Unicode: an unpaired surrogate "
                                f"(\\u{ord(text[err.start]):04x}) at character {err.start}",
                           field=f"texts[{index}]") from None
    return texts


@dataclass
class ModelCard:
    """What the service says about its model, the same whether it serves a run's
    model-best or the installed package built from it."""

    model: Dict[str, str]
    labels: List[str]
    pipeline: List[str]
    test_scores: Optional[TestScores]
    run: Optional[Provenance]

    def as_meta(self) -> Dict[str, Any]:
        meta: Dict[str, Any] = {"model": self.model, "labels": self.labels, "pipeline": self.pipeline}
        meta.update({key: value for key, value in (("test_scores", self.test_scores), ("run", self.run))
                     if value})
        return meta


def model_card(description: Dict[str, Any], model_dir: Optional[Path], package_name: str,
               package_version: str) -> ModelCard:
    """The model's name as its package is named (`<lang>_<package_name>`), its
    labels, and the run's test scores and provenance: from the run's records beside
    a model-best, or from the package meta of an installed pipeline."""
    meta = description["meta"]
    test_scores, provenance = records_from_meta(meta, model_dir)
    packaged = "ner_template" in meta
    name = meta["name"] if packaged or not package_name else package_name
    version = meta["version"] if packaged or not package_version else package_version
    return ModelCard({"name": f"{meta['lang']}_{name}", "version": version}, description["labels"],
                     description["pipeline"], test_scores, provenance)


class Service:
    """The ASGI app: POST /ents, GET|HEAD /health, /meta, /metrics."""

    def __init__(self, card: ModelCard, workers: ModelWorkers, limits: Limits,
                 batch_wait_seconds: float) -> None:
        self.card, self.workers, self.limits = card, workers, limits
        self.batch_wait_seconds = batch_wait_seconds
        self.metrics = Metrics(card.model, (card.run or {}).get("run", ""))
        self.meta_body = json_bytes(card.as_meta())
        self.batcher: Optional[MicroBatcher] = None
        self.draining = False
        self.working = 0  # POST /ents requests being answered

    def begin_drain(self) -> None:
        """From now on every request is answered 503 (the server is stopping)."""
        self.draining = True

    async def drain(self, grace_seconds: float, forced: Callable[[], bool]) -> None:
        """Wait for the requests in progress, at most until shortly before the
        grace ends (or `forced()`, a second Ctrl-C); answer those still waiting 503
        and stop the workers."""
        self.begin_drain()
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, grace_seconds - ANSWER_MARGIN_SECONDS)
        while self.working and loop.time() < until and not forced():
            await asyncio.sleep(0.05)
        if self.batcher:
            self.batcher.fail_waiting(ApiError(
                503, "the server is shutting down and could not start this request within its "
                     "grace period; retry on another instance"))
        self.workers.stop()  # a batch still running is answered 503 by ModelWorkers.annotate
        await asyncio.sleep(0.05)  # let the handlers send their answers

    async def __call__(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        endpoint = endpoint_label(scope["path"])
        status = [500]

        async def send_tracking(message: Dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self._handle(scope, receive, send_tracking)
        except ApiError as err:
            await respond(send_tracking, err.status, error_body(err.status, err.message, **err.details),
                          headers=err.headers)
        except Exception:  # noqa: BLE001 - any bug: a JSON 500, logged, counted
            import logging

            logging.getLogger("uvicorn.error").exception("error answering %s %s", scope["method"],
                                                         scope["path"])
            await respond(send_tracking, 500, error_body(500, "internal error; the server's log has "
                                                              "the details"))
        finally:
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(endpoint, scope["method"], str(status[0])).inc()
            self.metrics.duration.labels(endpoint).observe(time.perf_counter() - started)

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.batcher = MicroBatcher(self.workers.annotate, self.workers.batch_size,
                                            self.batch_wait_seconds, self.workers.count,
                                            self.metrics.batch_texts.observe)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.batcher:
                    self.batcher.task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        path, method = scope["path"], scope["method"]
        if path not in ENDPOINTS:
            raise ApiError(404, f"no endpoint {path}; there are {', '.join(ENDPOINTS)}")
        allowed = ENDPOINTS[path]
        if method not in allowed:
            raise ApiError(405, f"{path} takes {' or '.join(allowed)}, not {method}",
                           {"Allow": ", ".join(allowed)})
        if self.draining:
            raise ApiError(503, "the server is shutting down", {"Retry-After": "1"})
        if path == "/health":
            await respond(send, 200, json_bytes({"status": "ok"}))
        elif path == "/meta":
            await respond(send, 200, self.meta_body)
        elif path == "/metrics":
            body, content_type = self.metrics.render()
            await respond(send, 200, body, content_type)
        else:
            await self._entities(scope, receive, send)

    async def _entities(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        headers = dict(scope["headers"])
        kind = media_type(headers)
        if kind != "application/json" and not kind.endswith("+json"):
            raise ApiError(415, f"the body must be JSON, sent with Content-Type: application/json "
                                f"(got {kind or 'no content type'})")
        body = await read_body(receive, headers, self.limits)
        texts = parse_texts(body, self.limits)
        assert self.batcher is not None
        self.working += 1
        try:
            results = await asyncio.wait_for(self.batcher.submit(texts), self.limits.deadline_seconds)
        except asyncio.TimeoutError:
            raise ApiError(504, f"not answered within the deadline of {self.limits.deadline_seconds:g} s; "
                                "send fewer or shorter texts per request") from None
        finally:
            self.working -= 1
        self.metrics.documents.inc(len(results))
        records = []
        for entities, words in results:
            self.metrics.words.inc(words)
            for entity in entities:
                self.metrics.entities.labels(entity["label"]).inc()
            records.append({"entities": entities})
        await respond(send, 200, json_bytes({"model": self.card.model, "results": records}))


async def read_body(receive: Callable, headers: Dict[bytes, bytes], limits: Limits) -> bytes:
    """The request body, refused before it is read when its declared length is over
    the limit, and while it is read once it grows past it or stalls."""
    limit = limits.max_body_bytes
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"a body of {int(declared):,} bytes; at most {limit:,}",
                       {"Connection": "close"})
    loop = asyncio.get_running_loop()
    until = loop.time() + limits.read_timeout_seconds
    chunks, size = [], 0
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, until - loop.time()))
        except asyncio.TimeoutError:
            raise ApiError(408, f"the body did not arrive within {limits.read_timeout_seconds:g} s",
                           {"Connection": "close"}) from None
        if message["type"] == "http.disconnect":
            raise ApiError(400, "the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"a body of more than {limit:,} bytes", {"Connection": "close"})
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Callable, status: int, body: bytes, content_type: str = "application/json",
                  headers: Optional[Dict[str, str]] = None) -> None:
    raw_headers = [(b"content-type", content_type.encode("latin-1")),
                   (b"content-length", str(len(body)).encode("latin-1"))]
    raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


# --- uvicorn's HTTP protocol, guarded -------------------------------------------

def raw_error_response(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 error response, for answers given outside any request cycle."""
    body = error_body(status, message)
    reason = REASONS.get(status, b"Bad Request")
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % (status, reason, len(body))) + body


def guarded_protocol(max_connections: int, header_timeout_seconds: float) -> type:
    """uvicorn's h11 protocol with what uvicorn has no setting for: connections
    over `max_connections` are answered 503 and closed at once (uvicorn's own
    limit_concurrency answers in plain text and only once headers arrive); a
    request whose headers do not arrive within `header_timeout_seconds` is
    answered 408 and closed; malformed HTTP gets the JSON error shape."""

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self.transport.write(raw_error_response(
                    503, f"more than {max_connections} connections are open; retry later"))
                self.transport.close()
                return
            self._arm_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_header_timer()

        def _arm_header_timer(self) -> None:
            cycle = self.cycle
            self.loop.call_later(header_timeout_seconds, self._headers_overdue, cycle)

        def _headers_overdue(self, cycle_when_armed: Any) -> None:
            # No new request began since the timer was armed: close the connection,
            # answering 408 if part of a request arrived (an idle one is closed quietly,
            # as a client may be about to send on it and would take a 408 for its answer).
            if self.cycle is not cycle_when_armed or self.transport.is_closing() \
                    or self.conn.their_state is not h11.IDLE:
                return
            if self.conn.trailing_data[0]:
                self.transport.write(raw_error_response(
                    408, f"the request's headers did not arrive within {header_timeout_seconds:g} s"))
            self.transport.close()

        def send_400_response(self, msg: str) -> None:
            self.transport.write(raw_error_response(400, f"malformed HTTP request: {msg}"))
            self.transport.close()

    return GuardedH11Protocol
