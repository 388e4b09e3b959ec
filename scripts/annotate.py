"""Run a trained pipeline over new text, at scale, and write its entities.

Reads: MODEL (a run's model-best, or the name of an installed pipeline package)
and INPUT, a file or a folder of files: `.txt` (one document per file, or one per
line with --txt-documents line), `.jsonl` with a "text" field (other fields are passed
through), and `.gz` of either.
Writes: OUTPUT_DIR/part-NNNNN.jsonl, one line per document: its id, the fields
passed through, its entities (start, end, label, text) and the model's name and
version; and OUTPUT_DIR/annotate.json: model, inputs with their MD5, counts, and
every record skipped with its file, line and cause.
Input is read as a stream and cut into shards of --shard-size documents, each
written atomically into a work folder beside OUTPUT_DIR; an interrupted job run
again with the same model, input and settings keeps the finished shards and
does only the rest. OUTPUT_DIR appears, whole, when every shard is done.
"""

import gzip
import json
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import spacy
import srsly
import typer
from spacy.language import Language
from tqdm import tqdm
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_output, md5_file, replace_path
from .lib.provenance import package_versions, utc_now

SUFFIXES = (".txt", ".jsonl")
BAD_INPUT_POLICIES = ("skip", "stop")
MANIFEST = "annotate.json"


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


def input_files(path: Path) -> List[Path]:
    """The files to read: INPUT itself, or every supported file below it, sorted."""
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    else:
        raise UserError("input not found", path)
    readable = [p for p in files if _suffix(p) in SUFFIXES]
    for ignored in sorted(set(files) - set(readable)):
        msg.warn(f"Not read: {ignored} (expected {', '.join(SUFFIXES)}, optionally .gz)")
    if not readable:
        raise UserError(f"no {', '.join(SUFFIXES)} files to annotate", path)
    return readable


def _suffix(path: Path) -> str:
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).suffix.lower()


def _lines(path: Path) -> Iterator[Tuple[int, bytes]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as file_:
            yield from enumerate(file_, start=1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise UserError(f"not a readable gzip file ({err})", path) from None


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
    if _suffix(path) == ".txt" and not per_line:
        raw = b"".join(line for _, line in _lines(path))
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
    for number, raw_line in _lines(path):
        try:
            line = raw_line.decode("utf8").rstrip("\r\n").lstrip("\ufeff")
        except UnicodeDecodeError:
            bad(number, "not valid UTF-8")
            continue
        if not line.strip():
            continue
        fields: Dict[str, Any] = {}
        if _suffix(path) == ".jsonl":
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


def annotate_shard(nlp: Language, shard: List[Document], model: Dict[str, str], batch_size: int,
                   n_process: int) -> Iterator[Dict[str, Any]]:
    texts = ((document.text, document) for document in shard)
    for doc, document in nlp.pipe(texts, as_tuples=True, batch_size=batch_size, n_process=n_process):
        yield {"id": document.id, **document.fields, "source": document.source, "line": document.line,
               "entities": [{"start": ent.start_char, "end": ent.end_char, "label": ent.label_,
                             "text": ent.text} for ent in doc.ents],
               "model": model}


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


@exit_on_user_error
def main(
    # fmt: off
    model_path: str = typer.Argument(..., help="A run's model-best folder, or an installed pipeline's name"),
    input_path: Path = typer.Argument(..., help="A file or folder of .txt/.jsonl (optionally .gz)"),
    output_dir: Path = typer.Argument(..., help="Folder for the annotated shards"),
    txt_documents: str = typer.Option("file", help=".txt files: one document per 'file' or per 'line'"),
    batch_size: int = typer.Option(256, help="Texts per nlp.pipe batch"),
    n_process: int = typer.Option(1, help="Processes for nlp.pipe"),
    shard_size: int = typer.Option(10000, help="Documents per output shard (the unit of resumption)"),
    on_bad_input: str = typer.Option("skip", help="Bad records: skip (and list them) or stop"),
    # fmt: on
) -> None:
    if txt_documents not in ("file", "line"):
        raise UserError(f"txt_documents must be 'file' or 'line', got {txt_documents!r}")
    per_line = txt_documents == "line"
    if on_bad_input not in BAD_INPUT_POLICIES:
        raise UserError(f"on_bad_input must be one of {', '.join(BAD_INPUT_POLICIES)}, got {on_bad_input!r}")
    files = input_files(input_path)
    nlp = load_model(model_path)
    settings = {"per_line": per_line, "shard_size": shard_size, "on_bad_input": on_bad_input}
    key = job_key(nlp, model_path, files, settings)
    work = output_dir.with_name(f".{output_dir.name}.work")
    if work.exists() and (not (work / "job.json").is_file() or srsly.read_json(work / "job.json") != key):
        msg.info(f"Discarding {work}: it belongs to another model, input or settings")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    srsly.write_json(work / "job.json", key)
    model = {"name": key["model"]["name"], "version": key["model"]["version"]}
    skipped: List[Skipped] = []
    documents = (doc for path in files
                 for doc in read_documents(path, per_line, nlp.max_length, skipped, on_bad_input))
    counts = {"documents": 0, "entities": 0, "shards": 0, "shards_reused": 0}
    with tqdm(desc="Annotating", unit=" docs", disable=None) as progress:
        for index, shard in enumerate(shards(documents, shard_size)):
            path = work / f"part-{index:05d}.jsonl"
            counts["shards"] += 1
            counts["documents"] += len(shard)
            if path.is_file():  # finished before an interruption
                counts["shards_reused"] += 1
                counts["entities"] += sum(len(r["entities"]) for r in srsly.read_jsonl(path))
                progress.update(len(shard))
                continue
            with atomic_output(path) as tmp, tmp.open("w", encoding="utf8") as out:
                for record in annotate_shard(nlp, shard, model, batch_size, n_process):
                    out.write(srsly.json_dumps(record) + "\n")
                    counts["entities"] += len(record["entities"])
                    progress.update(1)
    srsly.write_json(work / MANIFEST, {**key, "created": utc_now(), "counts": counts,
                                       "skipped": [vars(s) for s in skipped],
                                       "versions": package_versions("spacy")})
    (work / "job.json").unlink()
    replace_path(work, output_dir)
    if skipped:
        msg.warn(f"Skipped {len(skipped)} bad record(s), listed in {output_dir / MANIFEST}: "
                 + "; ".join(f"{s.file}:{s.line}: {s.cause}" for s in skipped[:3]))
    reused = f" ({counts['shards_reused']} finished shard(s) reused)" if counts["shards_reused"] else ""
    msg.good(f"Annotated {counts['documents']:,} documents ({counts['entities']:,} entities) into "
             f"{counts['shards']} shard(s) in {output_dir}{reused}")


if __name__ == "__main__":
    typer.run(main)
