"""Running a pipeline over raw text: reading documents from .txt/.jsonl files
(optionally .gz, .bz2 or .xz) as a stream, cutting them into shards, and
annotating a shard here, in local worker processes, or on the workers of a Dask
cluster (this package and the model shipped to them)."""

import functools
import hashlib
import io
import json
import shutil
import signal
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import spacy
from spacy.language import Language
from wasabi import msg

from .entities import entity_records
from .errors import UserError, die_with_parent
from .files import md5_file
from .readers import COMPRESSED, LEGACY_FIX, binary_lines, data_suffix, decode, legacy_codec

SUFFIXES = (".txt", ".jsonl")
BAD_INPUT_POLICIES = ("skip", "stop")
# The --legacy-encoding option of every step that reads raw text (read_documents).
LEGACY_ENCODING_HELP = "Encoding of input files that are not UTF-8 (e.g. latin-1); empty: they are bad input"


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
        msg.warn(f"Not read: {ignored} (expected {', '.join(SUFFIXES)}, {COMPRESSED})")
    if not readable and not allow_none:
        raise UserError(f"no {', '.join(SUFFIXES)} files {purpose}", path)
    return readable


def document_name(path: Path, input_path: Path) -> str:
    """How documents of `path` are identified: its path below the input folder
    (`a/doc.txt`, `b/doc.txt`), or its file name when the input is the file."""
    return path.relative_to(input_path).as_posix() if input_path.is_dir() else path.name


def read_documents(path: Path, per_line: bool, max_length: int, skipped: List[Skipped],
                   on_bad_input: str, name: str = "", legacy_encoding: str = "") -> Iterator[Document]:
    """Stream one file's documents; a bad record stops the job or is skipped and
    listed, as `on_bad_input` says. Ids: `name` (the file's name by default) for a
    document per file, `name:line` for a document per line, unless a JSONL record
    brings its own "id". A file that is not UTF-8 is read in `legacy_encoding`
    if one is given (as preprocess reads annotated files)."""

    def bad(line: int, cause: str) -> None:
        if on_bad_input == "stop":
            raise UserError(f"{cause} (set on_bad_input to 'skip' to go on past such records)",
                            path, line)
        skipped.append(Skipped(str(path), line, cause))

    name = name or path.name
    codec = legacy_codec(path, legacy_encoding)
    if data_suffix(path) == ".txt" and not per_line:
        decoded, line, cause = decode(b"".join(line for _, line in binary_lines(path, codec)), "file", LEGACY_FIX)
        if decoded is None:
            bad(line, cause)
            return
        text = decoded.lstrip("\ufeff")
        if len(text) > max_length:
            bad(1, f"text of {len(text):,} characters is longer than the pipeline's max_length "
                   f"({max_length:,})")
        elif text.strip():
            yield Document(name, text, str(path), 1)
        return
    for number, raw_line in binary_lines(path, codec):
        decoded, _, cause = decode(raw_line, "line", LEGACY_FIX)
        if decoded is None:
            bad(number, cause)
            continue
        line = decoded.rstrip("\r\n").lstrip("\ufeff")
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
            doc_id = str(record.get("id", f"{name}:{number}"))
        else:
            text, doc_id = line, f"{name}:{number}"
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


def start_worker_process(parent_pid: int) -> None:
    """In each local worker process of `parent_pid`: die with it (even a SIGKILLed
    one), and end on SIGTERM (a forked worker would inherit the step's unwinding handler)."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def annotate_local(model_path: str, shard: List[Document], model: Dict[str, str],
                   batch_size: int) -> List[Dict[str, Any]]:
    """A piece of a shard's records, in a local worker process (one model load each)."""
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
        results = pool.map(annotate_local, [model_path] * len(pieces), pieces,
                           [model] * len(pieces), [batch_size] * len(pieces))
        yield index, [record for piece in results for record in piece]


# --- On a Dask cluster ----------------------------------------------------------
# Workers need neither this project nor the model on their disk: the code goes to
# every worker (and every worker that joins later) with Dask's UploadFile plugin,
# the model's folder zipped and scattered to every worker, unpacked and loaded
# once per worker.

CODE_PLUGIN = "ner-template-code"
RESUBMITS = 3
_shipped_models: Dict[str, Language] = {}


def code_archive(folder: Path) -> Path:
    """The `scripts` package zipped into `folder`, named by its contents' MD5."""
    package = Path(__file__).resolve().parent.parent
    files = sorted(package.rglob("*.py"))
    digest = hashlib.md5(b"".join(f.relative_to(package).as_posix().encode() + f.read_bytes()
                                  for f in files)).hexdigest()
    archive = folder / f"ner_template_code_{digest}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in files:
            zipped.write(file, f"{package.name}/{file.relative_to(package).as_posix()}")
    return archive


def ship_code(client: Any) -> None:
    """The project's code onto the scheduler (it unpickles the tasks) and every
    worker, replacing what an earlier upload, maybe of other code, left there."""
    from distributed.diagnostics.plugin import SchedulerUploadFile, UploadFile

    package = Path(__file__).resolve().parent.parent.name

    def forget_earlier_code() -> None:  # nested: Dask sends it by value, not by import
        import sys

        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]

    client.run_on_scheduler(forget_earlier_code)
    client.run(forget_earlier_code)
    with tempfile.TemporaryDirectory(prefix="ner-code-") as folder:
        archive = str(code_archive(Path(folder)))
        client.register_plugin(SchedulerUploadFile(archive), name=CODE_PLUGIN)
        client.register_plugin(UploadFile(archive), name=CODE_PLUGIN)


def model_payload(nlp: Language) -> bytes:
    """The pipeline's folder (as spacy.load reads it) zipped into bytes: the
    same loading path as a local run's, for every kind of component."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="ner-model-") as folder:
        nlp.to_disk(folder)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            for file in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
                # A fixed date: the same model gives the same bytes, so the same key.
                entry = zipfile.ZipInfo(file.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
                zipped.writestr(entry, file.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def model_from_payload(payload: bytes, key: str) -> Language:
    """The shipped pipeline, unpacked into this machine's temporary folder (once
    per model) and loaded."""
    folder = Path(tempfile.gettempdir()) / f"ner-template-model-{key}"
    if not (folder / "config.cfg").is_file():
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-"))
        with zipfile.ZipFile(io.BytesIO(payload)) as zipped:
            zipped.extractall(staging)
        try:
            staging.rename(folder)
        except OSError:  # another worker on this machine unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return spacy.load(folder)


def annotate_shipped(payload: bytes, key: str, shard: List[Document], model: Dict[str, str],
                     batch_size: int) -> List[Dict[str, Any]]:
    """A shard's records, on a Dask worker, with the model shipped to it."""
    nlp = _shipped_models.get(key)
    if nlp is None:
        _shipped_models.clear()  # one model at a time per worker
        nlp = _shipped_models[key] = model_from_payload(payload, key)
    return list(annotate_shard(nlp, shard, model, batch_size))


def distributed_shards(client: Any, nlp: Language, todo: Iterator[Tuple[int, List[Document]]],
                       model: Dict[str, str], batch_size: int, ahead: int
                       ) -> Iterator[Tuple[int, List[Dict[str, Any]]]]:
    """(shard index, records) as the cluster finishes them, with at most `ahead`
    shards submitted and not yet written, so memory stays bounded. A worker lost
    mid-shard is Dask's to handle (the shard runs again on another); a shard
    whose result Dask gives up on (lost with its worker before it was fetched) is
    submitted again, up to RESUBMITS times. Only the result that arrives is
    written, once."""
    from concurrent.futures import CancelledError

    from distributed import as_completed

    ship_code(client)
    payload = model_payload(nlp)
    key = hashlib.md5(payload).hexdigest()
    shipped = [client.scatter(payload, broadcast=True, hash=False)]
    submitted: Dict[str, Tuple[int, List[Document], int]] = {}
    pending = as_completed()

    def submit(index: int, shard: List[Document], tries: int) -> None:
        future = client.submit(annotate_shipped, shipped[0], key, shard, model, batch_size, pure=False)
        submitted[future.key] = (index, shard, tries)
        pending.add(future)

    def finished() -> Iterator[Tuple[int, List[Dict[str, Any]]]]:
        done = next(pending)
        index, shard, tries = submitted.pop(done.key)
        try:
            yield index, done.result()
        except CancelledError:
            if tries >= RESUBMITS:
                raise UserError(f"shard {index} was lost with its Dask worker {tries + 1} times") from None
            if shipped[0].status != "finished":
                # Dask's memory manager keeps one copy of scattered data; it died with
                # its worker, and every shard still to run needs it: scatter it again.
                shipped[0] = client.scatter(payload, broadcast=True, hash=False)
            msg.warn(f"Shard {index} was lost with its Dask worker; submitting it again")
            submit(index, shard, tries + 1)

    for index, shard in todo:
        submit(index, shard, 0)
        while pending.count() >= ahead:
            yield from finished()
    while pending.count():
        yield from finished()


def connect(address: str) -> Any:
    """A client of the scheduler at `address`, once it has a worker; any failure
    is one line."""
    import dask
    from dask.utils import parse_timedelta
    from distributed import Client

    # Dask's own setting (distributed.comm.timeouts.connect, 30 s by default).
    seconds = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
    try:
        client = Client(address, timeout=seconds)
    except Exception as err:  # noqa: BLE001 - malformed: ValueError/TypeError; unreachable: OSError
        cause = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot reach the Dask scheduler at {address!r}: {cause} (an address "
                        "looks like tcp://10.0.0.5:8786)") from None
    try:
        client.wait_for_workers(1, timeout=seconds)
    except Exception:  # noqa: BLE001 - a timeout, however Dask words it
        client.close()
        raise UserError(f"the Dask scheduler at {address} has no workers (start some with "
                        f"`dask worker {address}`)") from None
    return client


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


