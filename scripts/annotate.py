"""Run a trained pipeline over new text, at scale, and write its entities.

Reads: MODEL (a run's model-best, or the name of an installed pipeline package)
and INPUT, a file or a folder of files: `.txt` (one document per file, or one per
line with --txt-documents line), `.jsonl` with a "text" field (other fields are
passed through), and either compressed (`.gz`, `.bz2`, `.xz`).
Writes: OUTPUT_DIR/part-NNNNN.jsonl, one line per document: its id, the fields
passed through, its entities (start, end, label, text) and the model's name and
version; and OUTPUT_DIR/annotate.json: model, inputs with their MD5, counts, and
every record skipped with its file, line and cause.
Input is read as a stream and cut into shards of --shard-size documents, each
written atomically into a work folder beside OUTPUT_DIR; an interrupted job run
again with the same model, input and settings keeps the finished shards and
does only the rest. OUTPUT_DIR appears, whole, when every shard is done.
Documents are identified by their file's path below INPUT (`a/doc.txt`, with
`:line` for a document per line) unless a JSONL record has an "id".
With --n-process N, N worker processes annotate pieces of each shard and send
back only the records; they end with this process, even a killed one. With
--scheduler, the workers of a Dask distributed cluster annotate the shards, a
few shards ahead of the writer: the project's code and the model are shipped to
them (they need neither on disk, only the same packages), and a shard whose
worker dies runs again on another. Either way the output is byte for byte a
one-process run's.
"""

import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator, List, Tuple

import srsly
import typer
from tqdm import tqdm
from wasabi import msg

from .lib.annotation import (
    BAD_INPUT_POLICIES,
    LEGACY_ENCODING_HELP,
    Document,
    Skipped,
    annotate_shard,
    connect,
    distributed_shards,
    document_name,
    input_files,
    job_key,
    load_model,
    parallel_shards,
    read_documents,
    shards,
    start_worker_process,
)
from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_output, replace_path
from .lib.provenance import package_versions, utc_now
from .lib.settings import Spec, read_settings

MANIFEST = "annotate.json"
# The keys of the settings file, with their types and smallest values or choices.
SETTINGS: Spec = {"batch_size": (int, 1), "n_process": (int, 1), "shard_size": (int, 1),
                  "on_bad_input": (str, BAD_INPUT_POLICIES)}


@exit_on_user_error
def main(
    # fmt: off
    model_path: str = typer.Argument(..., help="A run's model-best folder, or an installed pipeline's name"),
    input_path: Path = typer.Argument(..., help="A file or folder of .txt/.jsonl (optionally .gz, .bz2 or .xz)"),
    output_dir: Path = typer.Argument(..., help="Folder for the annotated shards"),
    txt_documents: str = typer.Option(..., help=".txt files: one document per 'file' or per 'line'"),
    settings_path: Path = typer.Option(..., "--settings", help="Batch and shard sizes, processes, bad-input policy, e.g. configs/annotate.yml"),
    scheduler: str = typer.Option(..., help="Address of a Dask distributed scheduler (e.g. tcp://10.0.0.5:8786); empty: this machine"),
    legacy_encoding: str = typer.Option(..., help=LEGACY_ENCODING_HELP),
    # fmt: on
) -> None:
    if txt_documents not in ("file", "line"):
        raise UserError(f"txt_documents must be 'file' or 'line', got {txt_documents!r}")
    per_line = txt_documents == "line"
    options = read_settings(settings_path, SETTINGS)
    batch_size, n_process, shard_size = options["batch_size"], options["n_process"], options["shard_size"]
    on_bad_input = options["on_bad_input"]
    files = input_files(input_path)
    nlp = load_model(model_path)
    settings = {"per_line": per_line, "shard_size": shard_size, "on_bad_input": on_bad_input,
                "legacy_encoding": legacy_encoding}
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
                 for doc in read_documents(path, per_line, nlp.max_length, skipped, on_bad_input,
                                           document_name(path, input_path), legacy_encoding))
    counts = {"documents": 0, "entities": 0, "shards": 0, "shards_reused": 0}
    progress = tqdm(desc="Annotating", unit=" docs", disable=None)

    def todo() -> Iterator[Tuple[int, List[Document]]]:
        """Shards still to annotate; finished ones (from an interrupted run) are counted."""
        for index, shard in enumerate(shards(documents, shard_size)):
            counts["shards"] += 1
            counts["documents"] += len(shard)
            path = work / f"part-{index:05d}.jsonl"
            if path.is_file():
                counts["shards_reused"] += 1
                counts["entities"] += sum(len(r["entities"]) for r in srsly.read_jsonl(path))
                progress.update(len(shard))
            else:
                yield index, shard

    stack = ExitStack()
    if scheduler:
        client = connect(scheduler)
        workers = max(1, len(client.scheduler_info()["workers"]))
        stack.callback(client.close)
        results = distributed_shards(client, nlp, todo(), model, batch_size, 2 * workers)
    elif n_process > 1:
        pool = stack.enter_context(ProcessPoolExecutor(n_process, initializer=start_worker_process,
                                                         initargs=(os.getpid(),)))
        results = parallel_shards(pool, model_path, todo(), model, batch_size, n_process)
    else:
        results = ((index, list(annotate_shard(nlp, shard, model, batch_size)))
                   for index, shard in todo())
    with stack, progress:
        for index, records in results:
            with atomic_output(work / f"part-{index:05d}.jsonl") as tmp:
                srsly.write_jsonl(tmp, records)
            counts["entities"] += sum(len(record["entities"]) for record in records)
            progress.update(len(records))
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
