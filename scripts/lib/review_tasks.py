"""Annotation tasks for the documents `review` picks: the text, the committee's
entities as pre-annotations, why it was picked, and a stable id, in the import
formats of Label Studio (predictions), Prodigy and doccano. The one owner of the
file names and of REVIEW_ID, the field each tool carries back in its export and
preprocess's readers take as the record's id."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple
from xml.sax.saxutils import quoteattr

import srsly

REVIEW_ID = "review_id"
# Each tool's import file, in the output folder of `review`.
TASK_FILES = {"label_studio": "tasks.label_studio.json", "prodigy": "tasks.prodigy.jsonl",
              "doccano": "tasks.doccano.jsonl"}
# The labelling interface to create the Label Studio project with.
LABEL_STUDIO_CONFIG = "label_studio.xml"
# The control and object names that label_studio.xml and the predictions share.
LS_FROM, LS_TO = "label", "text"


@dataclass
class Task:
    """One picked document."""

    review_id: str
    text: str
    entities: List[Tuple[int, int, str]]  # (start char, end char, label): the committee's majority
    score: float
    reason: str
    source: str  # the pool document's id (file, line or its own "id")


def stable_id(text: str) -> str:
    """The same text gets the same id in every round, on every machine."""
    return "r" + hashlib.md5(text.encode("utf8")).hexdigest()[:16]


def label_studio_task(task: Task, model_version: str) -> Dict[str, Any]:
    result = [{"id": f"{task.review_id}-{index}", "from_name": LS_FROM, "to_name": LS_TO, "type": "labels",
               "value": {"start": start, "end": end, "text": task.text[start:end], "labels": [label]}}
              for index, (start, end, label) in enumerate(task.entities)]
    return {"data": {LS_TO: task.text, REVIEW_ID: task.review_id, "source": task.source, "reason": task.reason},
            "predictions": [{"model_version": model_version, "score": task.score, "result": result}]}


def prodigy_task(task: Task) -> Dict[str, Any]:
    return {"text": task.text, "spans": [{"start": start, "end": end, "label": label}
                                         for start, end, label in task.entities],
            "meta": {REVIEW_ID: task.review_id, "score": task.score, "reason": task.reason, "source": task.source}}


def doccano_task(task: Task) -> Dict[str, Any]:
    return {"text": task.text, "label": [[start, end, label] for start, end, label in task.entities],
            REVIEW_ID: task.review_id, "score": task.score, "reason": task.reason, "source": task.source}


def label_studio_config(labels: Iterable[str]) -> str:
    """A Label Studio labelling config for span labels over the task's text."""
    rows = "".join(f"    <Label value={quoteattr(label)}/>\n" for label in sorted(labels))
    return (f"<View>\n  <Labels name={quoteattr(LS_FROM)} toName={quoteattr(LS_TO)}>\n{rows}  </Labels>\n"
            f"  <Text name={quoteattr(LS_TO)} value=\"${LS_TO}\"/>\n</View>\n")


def write_tasks(folder: Path, tasks: List[Task], labels: Iterable[str], model_version: str) -> None:
    srsly.write_json(folder / TASK_FILES["label_studio"], [label_studio_task(task, model_version) for task in tasks])
    (folder / LABEL_STUDIO_CONFIG).write_text(label_studio_config(labels), encoding="utf8")
    srsly.write_jsonl(folder / TASK_FILES["prodigy"], [prodigy_task(task) for task in tasks])
    srsly.write_jsonl(folder / TASK_FILES["doccano"], [doccano_task(task) for task in tasks])


def carried_id(data: Dict[str, Any], fallback: Any) -> str:
    """A record's id: the review id a task carried through the tool (at the top,
    in Prodigy's meta or Label Studio's data), else the tool's own."""
    for holder in (data, data.get("meta"), data.get("data")):
        if isinstance(holder, dict) and holder.get(REVIEW_ID) is not None:
            return str(holder[REVIEW_ID])
    return str(fallback)
