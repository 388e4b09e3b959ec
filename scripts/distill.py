"""Distil a teacher into silver training data: a stronger or combined model
annotates the prepared unlabelled text, and the sentences it is sure of join the
training split of the run's own, faster model (train reads them beside gold).

Reads: UNLABELLED (the text prepare-unlabelled kept: dev and test sentences are
already out of it), CORPUS_DIR/train.spacy and dev.spacy (the teacher must have
been trained and selected on these), and SETTINGS (configs/distill.yml): the
teacher, a run folder (its model-best) or a folder of runs (the `seeds`
workflow's), whose models vote: a sentence is kept only when every model finds
exactly the same entities in it; the word budget, an even sample of the text.
Writes: OUTPUT (silver.spacy: one doc a kept sentence, with its entities) and
REPORT (silver_report.json: teachers with their MD5, the text's MD5, sentences
and words read and kept, entities by label, time and peak memory). With no
teacher, OUTPUT holds no docs and train reads gold only.
The step always runs (cheap) and redoes the work only when the teacher, the text,
the training split or the settings changed: unchanged, its outputs are left as
they are, so train is not rerun.
"""

import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import spacy
import srsly
import typer
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm
from wasabi import msg

from .lib.annotation import read_documents
from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_outputs, checksum, md5_file, md5_path
from .lib.provenance import environment_info, peak_memory_mib, utc_now
from .lib.raw_text import even_sample
from .lib.run_record import MODEL_BEST, model_runs, read_run
from .lib.settings import Spec, read_settings

SETTINGS: Spec = {"teacher": (str, None), "words": (int, 1), "batch_size": (int, 1)}


def text_lines(path: Path, max_length: int) -> Iterator[str]:
    """The texts of prepare-unlabelled's output, one a line, streamed."""
    for document in read_documents(path, per_line=True, max_length=max_length, skipped=[], on_bad_input="stop"):
        yield document.text


def check_teacher(runs: List[Path], corpus_dir: Path) -> None:
    """Each model of the teacher was trained on this training split and chosen on
    this dev split: a teacher of other data would leak it into the student."""
    for split in ("train", "dev"):
        expected = md5_file(corpus_dir / f"{split}.spacy")
        for run in runs:
            record = read_run(run)
            if record is None or record["corpus"][split]["md5"] != expected:
                raise UserError(f"this teacher was not trained on {corpus_dir / f'{split}.spacy'} as it is now "
                                "(its run.json differs or is missing): retrain it on this dataset", run)


def agrees(docs: List[Doc]) -> bool:
    """Whether every model found the same entities (character offsets and labels)
    in the same text: the first model's doc then holds what they all say, and
    every other word is, by their vote, no entity."""
    found = [[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents] for doc in docs]
    return all(entities == found[0] for entities in found)


def sentences(splitter: Language, lines: Iterator[str], total: int, budget: int,
              batch_size: int) -> Iterator[str]:
    """The sentences of an even sample of `budget` of the `total` words of `lines`
    (the sample is made of whole texts, each split by `splitter`)."""
    sample = even_sample(lines, lambda line: len(line.split()), total, budget)
    for doc in splitter.pipe(sample, batch_size=batch_size):
        for sentence in doc.sents:
            if sentence.text.strip():
                yield sentence.text.strip()


def annotate(models: List[Language], texts: Iterator[str], batch_size: int) -> Iterator[Tuple[Doc, bool]]:
    """Each text as the first model's doc, and whether all models agree on it."""
    batch: List[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from _annotate_batch(models, batch, batch_size)
            batch = []
    yield from _annotate_batch(models, batch, batch_size)


def _annotate_batch(models: List[Language], batch: List[str], batch_size: int) -> Iterator[Tuple[Doc, bool]]:
    predictions = [list(model.pipe(batch, batch_size=batch_size)) for model in models]
    for docs in zip(*predictions):
        yield docs[0], agrees(list(docs))


def distill(runs: List[Path], unlabelled: Path, corpus_dir: Path, output: Path, report_path: Path, lang: str,
            words: int, batch_size: int) -> None:
    """Write OUTPUT and REPORT from the model-best of each of `runs` (none: an
    empty silver corpus), unless they are up to date."""
    if not runs:
        key: Dict[str, Any] = {"teacher": None}
    else:
        check_teacher(runs, corpus_dir)
        key = {"teacher": [{"run": run.as_posix(), "md5": md5_path(run / MODEL_BEST)} for run in runs],
               "unlabelled": {"path": unlabelled.as_posix(), **checksum(unlabelled)},
               "train_md5": md5_file(corpus_dir / "train.spacy"), "words": words, "batch_size": batch_size}
    if output.is_file() and report_path.is_file() and srsly.read_json(report_path).get("key") == key:
        msg.good(f"{output} is up to date (same teacher, text, training split and settings)")
        return
    if not runs:
        with atomic_outputs(output, report_path) as (output_tmp, report_tmp):
            DocBin().to_disk(output_tmp)
            srsly.write_json(report_tmp, {"key": key})
        msg.good(f"No teacher: {output} holds no docs, train reads gold only")
        return
    started = time.perf_counter()
    models = [spacy.load(run / MODEL_BEST) for run in runs]
    splitter = spacy.blank(lang)
    splitter.add_pipe("sentencizer")
    total = sum(len(line.split()) for line in text_lines(unlabelled, splitter.max_length))
    if not total:
        raise UserError("no unlabelled text to annotate (set unlabelled_text, then run prepare-unlabelled)",
                        unlabelled)
    budget = min(words, total)
    msg.info(f"{len(models)} teacher model(s) annotate {budget:,} of {total:,} words of {unlabelled}")
    silver = DocBin(attrs=["ENT_IOB", "ENT_TYPE"])
    read: Counter = Counter()
    kept: Counter = Counter()
    labels: Counter = Counter()
    texts = sentences(splitter, text_lines(unlabelled, splitter.max_length), total, budget, batch_size)
    for doc, agreed in tqdm(annotate(models, texts, batch_size), desc="Annotating", unit=" sentences"):
        read["sentences"] += 1
        read["words"] += len(doc)
        if not agreed:
            continue
        silver.add(doc)
        kept["sentences"] += 1
        kept["words"] += len(doc)
        kept["with_entities"] += bool(doc.ents)
        labels.update(ent.label_ for ent in doc.ents)
    with atomic_outputs(output, report_path) as (output_tmp, report_tmp):
        silver.to_disk(output_tmp)
        srsly.write_json(report_tmp, {
            "key": key,
            "created": utc_now(),
            "agreement": "every teacher model finds the same entities (offsets and labels) in the sentence",
            "read": dict(read), "kept": dict(kept), "entities": dict(labels.most_common()),
            "output": {"path": output.as_posix(), **checksum(output_tmp)},
            "seconds": round(time.perf_counter() - started, 1),
            "peak_memory_mib": peak_memory_mib(),
            "environment": environment_info(),
        })
    # Said on screen, not only in the report: silver mostly without entities pulls recall down (benchmarks/NOTES.md).
    msg.good(f"Kept {kept['sentences']:,} of {read['sentences']:,} sentences ({kept['words']:,} words, "
             f"{sum(labels.values()):,} entities, {kept['with_entities']:,} sentence(s) with one) where the "
             f"{len(models)} teacher model(s) agree: {output}")


@exit_on_user_error
def main(
    # fmt: off
    unlabelled: Path = typer.Argument(..., help="The prepared unlabelled text (prepare-unlabelled's .txt.gz)"),
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy and dev.spacy"),
    output: Path = typer.Argument(..., help="Silver corpus to write (DocBin)"),
    report_path: Path = typer.Argument(..., help="What was annotated and kept (JSON)"),
    lang: str = typer.Option(..., help="spaCy language code (its sentencizer splits the texts)"),
    settings_path: Path = typer.Option(..., "--settings", help="Teacher and budget (configs/distill.yml)"),
    # fmt: on
) -> None:
    settings = read_settings(settings_path, SETTINGS)
    runs = model_runs(settings["teacher"]) if settings["teacher"] else []
    distill(runs, unlabelled, corpus_dir, output, report_path, lang, settings["words"], settings["batch_size"])

if __name__ == "__main__":
    typer.run(main)
