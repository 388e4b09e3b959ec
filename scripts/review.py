"""Pick the documents of new text most worth annotating next, and write them as
pre-annotated tasks for Label Studio, Prodigy and doccano.

Reads: COMMITTEE, two or more trained runs (the `seeds` workflow's folder of
runs, or a pattern matching run folders); INPUT, the pool of new text (a file or
folder, as `annotate` and `monitor` read it); CORPUS_DIR/{train,dev,test}.spacy,
the dataset as it is; and SETTINGS (configs/review.yml).
Writes OUTPUT_DIR (whole, or not at all): tasks.label_studio.json (tasks with the
committee's entities as predictions) and label_studio.xml (the labelling config
to create the project with), tasks.prodigy.jsonl, tasks.doccano.jsonl, and
review.json: committee, inputs with their MD5, what was read, left out and
picked, with each pick's score and reason.

Informativeness is query by committee: every model annotates every document,
and each entity some model found scores the entropy of the vote on it (0 when
all or none agree, 1 when the committee is split in half); a document scores the
sum, the number of entities the committee is unsure of. A document already in
the dataset (any split: the same text, normalised, or a near duplicate by
held_out's word-set measure; or half its words in such sentences) is never
proposed. Diversity: picks go in order of score, each skipping a document that
repeats or nearly repeats one picked before. When fewer documents than the batch
divide the committee, documents it agrees on fill the batch in the order of
their ids (a hash of the text: a fixed, random-like order). The tasks carry the
entities a majority of the committee found, which never overlap.
"""

import heapq
import math
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional, Set, Tuple

import spacy
import srsly
import typer
from spacy.language import Language
from tqdm import tqdm
from wasabi import msg

from .lib.annotation import (BAD_INPUT_POLICIES, LEGACY_ENCODING_HELP, Skipped, document_name, input_files,
                              read_documents, shards)
from .lib.entities import entity_labels, entity_spans
from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_output, checksum, md5_path
from .lib.held_out import HeldOutIndex
from .lib.provenance import environment_info, peak_memory_mib, utc_now
from .lib.review_tasks import TASK_FILES, Task, stable_id, write_tasks
from .lib.run_record import MODEL_BEST, model_runs
from .lib.settings import Spec, read_settings

SETTINGS: Spec = {"batch_size": (int, 1), "on_bad_input": (str, BAD_INPUT_POLICIES),
                  "candidates_per_pick": (int, 1)}
REPORT = "review.json"
Entity = Tuple[int, int, str]


def vote_entropy(votes: int, voters: int) -> float:
    """Entropy (bits) of a yes/no vote: 0 when unanimous, 1 when split in half."""
    share = votes / voters
    if share in (0.0, 1.0):
        return 0.0
    return -(share * math.log2(share) + (1 - share) * math.log2(1 - share))


def disagreement(predictions: List[Set[Entity]]) -> Tuple[float, List[Entity], List[Tuple[Entity, int]]]:
    """(score, the entities a majority found, the contested entities with their
    votes) of one document, from each committee model's entities."""
    votes = Counter(entity for entities in predictions for entity in entities)
    voters = len(predictions)
    score = sum(vote_entropy(count, voters) for count in votes.values())
    majority = sorted(entity for entity, count in votes.items() if 2 * count > voters)
    contested = sorted(((entity, count) for entity, count in votes.items() if count < voters),
                       key=lambda item: (-vote_entropy(item[1], voters), item[0]))
    return round(score, 6), majority, contested


def reason(contested: List[Tuple[Entity, int]], voters: int, text: str) -> str:
    if not contested:
        return f"the {voters} models agree; picked to fill the batch"
    shown = "; ".join(f"'{text[start:end]}' {label} ({count}/{voters})" for (start, end, label), count in contested[:3])
    more = f" and {len(contested) - 3} more" if len(contested) > 3 else ""
    return f"the {voters} models disagree on {len(contested)} entit{'y' if len(contested) == 1 else 'ies'}: {shown}{more}"


def in_dataset(text: str, dataset: HeldOutIndex, splitter: Language) -> Optional[str]:
    """The split a document already is in (the whole text, or half its words in
    sentences of the dataset, the same or nearly), else None."""
    whole = dataset.match(text)
    if whole:
        return whole[1]
    sentences = [sentence.text for sentence in splitter(text).sents if sentence.text.strip()]
    words = sum(len(sentence.split()) for sentence in sentences)
    matched: Counter = Counter()
    for sentence in sentences:
        found = dataset.match(sentence)
        if found:
            matched[found[1]] += len(sentence.split())
    if matched and 2 * sum(matched.values()) >= words:
        return matched.most_common(1)[0][0]
    return None


def committee_entities(models: List[Language], texts: List[str], batch_size: int) -> List[List[Set[Entity]]]:
    """For each text, each model's entities."""
    by_model = [[{(span.start_char, span.end_char, span.label_) for span in entity_spans(doc)}
                 for doc in model.pipe(texts, batch_size=batch_size)] for model in models]
    return [list(predictions) for predictions in zip(*by_model)]


def pick(candidates: List[Task], batch: int) -> Tuple[List[Task], int]:
    """The best `batch` candidates (score, then id), none repeating or nearly
    repeating an earlier pick; and how many were passed over for that."""
    picked: List[Task] = []
    seen = HeldOutIndex()
    passed_over = 0
    for task in sorted(candidates, key=lambda task: (-task.score, task.review_id)):
        if len(picked) == batch:
            break
        if seen.match(task.text):
            passed_over += 1
            continue
        picked.append(task)
        seen.add("picked", task.text)
    return picked, passed_over


@exit_on_user_error
def main(
    # fmt: off
    committee_path: str = typer.Argument(..., help="Runs whose models vote: a folder of runs (the seeds workflow's) or a pattern"),
    input_path: Path = typer.Argument(..., help="Pool of new text: a .txt/.jsonl file (optionally .gz, .bz2 or .xz) or a folder of them"),
    corpus_dir: Path = typer.Argument(..., help="Folder with train/dev/test.spacy: documents in them are never proposed"),
    output_dir: Path = typer.Argument(..., help="Folder to write the tasks and review.json to"),
    batch: int = typer.Option(..., min=1, help="Documents to pick"),
    txt_documents: str = typer.Option(..., help=".txt input: one document per 'file' or per 'line'"),
    settings_path: Path = typer.Option(..., "--settings", help="configs/review.yml"),
    legacy_encoding: str = typer.Option(..., help=LEGACY_ENCODING_HELP),
    # fmt: on
) -> None:
    settings = read_settings(settings_path, SETTINGS)
    if txt_documents not in ("file", "line"):
        raise UserError(f"--txt-documents must be 'file' or 'line', not {txt_documents!r}")
    runs = model_runs(committee_path)
    if len(runs) < 2:
        raise UserError("a committee needs two models or more to disagree: train several seeds "
                        "(`weasel run seeds`) and name their folder", runs[0])
    started = time.perf_counter()
    models = [spacy.load(run / MODEL_BEST) for run in runs]
    splitter = spacy.blank(models[0].lang)
    splitter.add_pipe("sentencizer")
    corpora = {split: corpus_dir / f"{split}.spacy" for split in ("train", "dev", "test")}
    for path in corpora.values():
        if not path.is_file():
            raise UserError("corpus file not found (run preprocess first)", path)
    dataset = HeldOutIndex.from_corpora(corpora)
    files = input_files(input_path, "to review")
    skipped: List[Skipped] = []
    documents = (document for path in files
                 for document in read_documents(path, txt_documents == "line", models[0].max_length, skipped,
                                                settings["on_bad_input"], document_name(path, input_path),
                                                legacy_encoding))
    keep = batch * settings["candidates_per_pick"]
    heap: List[Tuple[float, str, int, Task]] = []  # the best `keep` so far: lowest score on top
    counts: Counter = Counter()
    for chunk in tqdm(shards(documents, settings["batch_size"]), desc="Reviewing", unit=" batches", disable=None):
        fresh = []
        for document in chunk:
            counts["read"] += 1
            split = in_dataset(document.text, dataset, splitter)
            if split:
                counts[f"in_{split}"] += 1
            else:
                fresh.append(document)
        for position, (document, predictions) in enumerate(zip(fresh, committee_entities(
                models, [d.text for d in fresh], settings["batch_size"])), start=counts["scored"]):
            score, majority, contested = disagreement(predictions)
            counts["contested" if contested else "agreed"] += 1
            counts["scored"] += 1
            task = Task(stable_id(document.text), document.text, majority, score,
                        reason(contested, len(models), document.text), document.id)
            # Ties go to the smaller id, then the earlier document: the heap's order is the picking order.
            entry = (score, _reverse(task.review_id), -position, task)
            if len(heap) < keep:
                heapq.heappush(heap, entry)
            elif entry[:3] > heap[0][:3]:
                heapq.heapreplace(heap, entry)
    if not counts["read"]:
        raise UserError("no documents to review", input_path)
    tasks, passed_over = pick([entry[3] for entry in heap], batch)
    if not tasks:
        raise UserError(f"every one of the {counts['read']:,} documents is already in the dataset", input_path)
    labels = sorted({label for model in models for label in entity_labels(model)}
                    | {label for task in tasks for _, _, label in task.entities})
    model_version = ", ".join(run.as_posix() for run in runs)
    report = {
        "created": utc_now(),
        "committee": [{"run": run.as_posix(), "md5": md5_path(run / MODEL_BEST)} for run in runs],
        "inputs": [{"path": path.as_posix(), **checksum(path)} for path in files],
        "corpus": {split: {"path": path.as_posix(), **checksum(path)} for split, path in corpora.items()},
        "settings": {"batch": batch, **settings},
        "informativeness": "sum over the entities any model found of the entropy of the committee's vote on it",
        "counts": {**counts, "near_duplicates_passed_over": passed_over, "picked": len(tasks)},
        "skipped": [vars(item) for item in skipped],
        "files": TASK_FILES,
        "picked": [{"review_id": task.review_id, "source": task.source, "score": task.score,
                    "reason": task.reason} for task in tasks],
        "seconds": round(time.perf_counter() - started, 1),
        "peak_memory_mib": peak_memory_mib(),
        "environment": environment_info(),
    }
    with atomic_output(output_dir) as staging:
        staging.mkdir(parents=True)
        write_tasks(staging, tasks, labels, model_version)
        srsly.write_json(staging / REPORT, report)
    in_data = sum(value for key, value in counts.items() if key.startswith("in_"))
    msg.good(f"Picked {len(tasks)} of {counts['read']:,} documents ({counts['contested']:,} divide the "
             f"{len(models)} models, {in_data:,} are already in the dataset, {passed_over} near duplicates "
             f"passed over): {output_dir}")
    if len(tasks) < batch:
        msg.warn(f"Fewer documents than the batch of {batch} could be picked")


def _reverse(review_id: str) -> Tuple[int, ...]:
    """An order in which the smaller id is the greater, for the min-heap."""
    return tuple(-ord(char) for char in review_id)


if __name__ == "__main__":
    typer.run(main)
