"""Running a pipeline over raw text: reading documents from .txt/.jsonl (and
.gz) files as a stream, cutting them into shards, and annotating a shard here or
on a Dask distributed worker (which imports this module by name)."""

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import spacy
from spacy.language import Language
from wasabi import msg

from .entities import entity_records
from .errors import UserError
from .files import md5_file
from .readers import binary_lines, data_suffix

SUFFIXES = (".txt", ".jsonl")
BAD_INPUT_POLICIES = ("skip", "stop")


@dataclass
class Document:
    """One text to annotate, where it came from, and the fields passed through."""

    id: str
    text: str
    source: str
    line: int
    fields: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    file: str
    line: int
    cause: str


def input_files(path: Path, purpose: str = "to annotate", allow_none: bool = False) -> List[Path]:
    """The files to read: INPUT itself, or every supported file below it, sorted
    (hidden files and READMEs are left out unannounced)."""
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                       and not p.name.lower().startswith("readme"))
    else:
        raise UserError("input not found", path)
    readable = [p for p in files if data_suffix(p) in SUFFIXES]
    for ignored in sorted(set(files) - set(readable)):
        msg.warn(f"Not read: {ignored} (expected {', '.join(SUFFIXES)}, optionally .gz)")
    if not readable and not allow_none:
        raise UserError(f"no {', '.join(SUFFIXES)} files {purpose}", path)
    return readable


def read_documents(path: Path, per_line: bool, max_length: int,
                   skipped: List[Skipped], on_bad_input: str) -> Iterator[Document]:
    """Stream one file's documents; a bad record stops the job or is skipped and
    listed, as `on_bad_input` says."""

    def bad(line: int, cause: str) -> None:
        if on_bad_input == "stop":
            raise UserError(f"{cause} (set on_bad_input to 'skip' to go on past such records)",
                            path, line)
        skipped.append(Skipped(str(path), line, cause))

    stem = path.name.split(".")[0]
    if data_suffix(path) == ".txt" and not per_line:
        raw = b"".join(line for _, line in binary_lines(path))
        try:
            text = raw.decode("utf8").lstrip("\ufeff")
        except UnicodeDecodeError as err:
            bad(raw[: err.start].count(b"\n") + 1, "not valid UTF-8")
            return
        if len(text) > max_length:
            bad(1, f"text of {len(text):,} characters is longer than the pipeline's max_length "
                   f"({max_length:,})")
        elif text.strip():
            yield Document(stem, text, str(path), 1)
        return
    for number, raw_line in binary_lines(path):
        try:
            line = raw_line.decode("utf8").rstrip("\r\n").lstrip("\ufeff")
        except UnicodeDecodeError:
            bad(number, "not valid UTF-8")
            continue
        if not line.strip():
            continue
        fields: Dict[str, Any] = {}
        if data_suffix(path) == ".jsonl":
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                bad(number, f"not valid JSON ({err.msg} at column {err.colno})")
                continue
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                bad(number, 'no "text" string')
                continue
            text = record.pop("text")
            fields = record
            doc_id = str(record.get("id", f"{stem}:{number}"))
        else:
            text, doc_id = line, f"{stem}:{number}"
        if len(text) > max_length:
            bad(number, f"text of {len(text):,} characters is longer than the pipeline's max_length "
                        f"({max_length:,})")
            continue
        yield Document(doc_id, text, str(path), number, fields)


def shards(documents: Iterator[Document], size: int) -> Iterator[List[Document]]:
    shard: List[Document] = []
    for document in documents:
        shard.append(document)
        if len(shard) == size:
            yield shard
            shard = []
    if shard:
        yield shard


def annotate_shard(nlp: Language, shard: List[Document], model: Dict[str, str],
                   batch_size: int) -> Iterator[Dict[str, Any]]:
    """One output record per document: id, fields passed through, entities, model."""
    texts = ((document.text, document) for document in shard)
    for doc, document in nlp.pipe(texts, as_tuples=True, batch_size=batch_size):
        yield {"id": document.id, **document.fields, "source": document.source, "line": document.line,
               "entities": entity_records(doc),
               "model": model}


@functools.lru_cache(maxsize=2)
def _cached_model(model_path: str) -> Language:
    return spacy.load(model_path)


def annotate_remote(model_path: str, shard: List[Document], model: Dict[str, str],
                    batch_size: int) -> List[Dict[str, Any]]:
    """A shard's records, computed in a worker process or on a cluster worker
    (one model load per worker)."""
    return list(annotate_shard(_cached_model(model_path), shard, model, batch_size))


def parallel_shards(pool: Any, model_path: str, todo: Iterator[Tuple[int, List[Document]]],
                    model: Dict[str, str], batch_size: int, n_process: int
                    ) -> Iterator[Tuple[int, List[Dict[str, Any]]]]:
    """(shard index, records), each shard cut into pieces that `n_process` worker
    processes annotate in parallel. Workers send back the records only, not Docs
    (`nlp.pipe(n_process=...)` sends whole Docs, which the parent then decodes)."""
    for index, shard in todo:
        size = max(1, -(-len(shard) // (4 * n_process)))
        pieces = [shard[i:i + size] for i in range(0, len(shard), size)]
        results = pool.map(annotate_remote, [model_path] * len(pieces), pieces,
                           [model] * len(pieces), [batch_size] * len(pieces))
        yield index, [record for piece in results for record in piece]


def distributed_shards(client: Any, model_path: str, todo: Iterator[Tuple[int, List[Document]]],
                       model: Dict[str, str], batch_size: int, ahead: int
                       ) -> Iterator[Tuple[int, List[Dict[str, Any]]]]:
    """(shard index, records) as the cluster finishes them, with at most `ahead`
    shards submitted and not yet written, so memory stays bounded."""
    from distributed import as_completed

    index_of: Dict[str, int] = {}
    pending = as_completed()
    for index, shard in todo:
        future = client.submit(annotate_remote, model_path, shard, model, batch_size, pure=False)
        index_of[future.key] = index
        pending.add(future)
        while pending.count() >= ahead:
            done = next(pending)
            yield index_of.pop(done.key), done.result()
    for done in pending:
        yield index_of.pop(done.key), done.result()


def connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address)  # waits distributed.comm.timeouts.connect (30 s by default)
    except OSError as err:
        raise UserError(f"cannot reach the Dask scheduler at {address}: {err}") from None


def load_model(model: str) -> Language:
    try:
        return spacy.load(model)
    except OSError as err:
        raise UserError(f"cannot load the pipeline {model!r}: {str(err).splitlines()[0]}") from None


def job_key(model: Language, model_path: str, files: List[Path], settings: Dict[str, Any]) -> Dict[str, Any]:
    """What makes two runs the same job: finished shards are reused only if it matches."""
    return {"model": {"path": model_path, "name": f"{model.meta['lang']}_{model.meta['name']}",
                      "version": model.meta["version"]},
            "inputs": [{"path": str(path), "md5": md5_file(path)} for path in files],
            "settings": settings}


