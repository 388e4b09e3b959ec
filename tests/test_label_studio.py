"""Label Studio itself, started through its own CLI on 127.0.0.1: review's tasks
and labelling config go in through its API, a person's corrections of the
predictions are saved as annotations, and the project's JSON export, read by
preprocess's reader, gives exactly the corrected spans and review's ids.

Needs the `label-studio` command (the LABEL_STUDIO environment variable, or on
PATH); .ci/run installs requirements-label-studio.txt into a virtual environment
of its own and runs these tests alone (`-m label_studio`)."""

import os
import shutil
import signal
import subprocess
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import requests
import srsly

from scripts.lib.processes import answers, free_port
from scripts.lib.readers import read_records
from scripts.lib.review_tasks import LABEL_STUDIO_CONFIG, LS_FROM, LS_TO, REVIEW_ID, TASK_FILES, Task, stable_id, write_tasks

from .conftest import wait_for

LABEL_STUDIO = os.environ.get("LABEL_STUDIO") or shutil.which("label-studio")
USER, PASSWORD = "reviewer@example.com", "not-a-secret-1"

pytestmark = [pytest.mark.label_studio, pytest.mark.slow,
              pytest.mark.skipif(LABEL_STUDIO is None, reason="label-studio is not installed "
                                 "(pip install -r requirements-label-studio.txt in a venv of its own; set LABEL_STUDIO)")]

TEXTS = ["A ministra Ana Costa visitou Lisboa ontem.", "O Banco Atlântico abriu uma agência em Braga.",
         "Nada a assinalar hoje."]
PREDICTED = [[(11, 20, "ORG"), (29, 35, "LOC")], [(2, 17, "ORG")], []]
# What the person makes of them: a label changed, an entity added, one removed.
CORRECTED = [[(11, 20, "PER"), (29, 35, "LOC")], [(2, 17, "ORG"), (39, 44, "LOC")], []]


@contextmanager
def label_studio(data_dir: Path) -> Iterator[Tuple[requests.Session, str]]:
    """A Label Studio server as its CLI starts it, and a session logged in to it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key not in ("HOST", "PORT")}
    log = (data_dir.parent / "label_studio.log").open("w")
    process = subprocess.Popen([LABEL_STUDIO, "start", "--no-browser", "--internal-host", "127.0.0.1",
                                "--port", str(port), "--data-dir", str(data_dir),
                                "--username", USER, "--password", PASSWORD],
                               stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_for(lambda: answers(f"{base}/health") or process.poll() is not None,
                 "Label Studio never answered on /health", 300)
        assert process.poll() is None, (data_dir.parent / "label_studio.log").read_text()[-3000:]
        session = requests.Session()
        session.get(f"{base}/user/login/", timeout=30)
        login = session.post(f"{base}/user/login/", timeout=30, headers={"Referer": f"{base}/user/login/"},
                             data={"email": USER, "password": PASSWORD,
                                   "csrfmiddlewaretoken": session.cookies.get("csrftoken")})
        assert login.ok and "/user/login" not in login.url, login.text[-2000:]
        session.headers.update({"X-CSRFToken": session.cookies.get("csrftoken"), "Referer": base})
        yield session, base
    finally:
        with suppress(ProcessLookupError):  # exited by itself: the assertion above says why
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def result(text: str, spans: List[Tuple[int, int, str]]) -> List[Dict[str, Any]]:
    return [{"from_name": LS_FROM, "to_name": LS_TO, "type": "labels",
             "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}
            for start, end, label in spans]


def test_tasks_go_through_label_studio_and_come_back_as_corrected(tmp_path: Path) -> None:
    review = tmp_path / "review"
    review.mkdir()
    tasks = [Task(stable_id(text), text, spans, 1.0, "disputed", f"pool:{n}")
             for n, (text, spans) in enumerate(zip(TEXTS, PREDICTED))]
    write_tasks(review, tasks, ["LOC", "ORG", "PER"], "committee")
    data_dir = tmp_path / "label-studio"
    data_dir.mkdir()
    with label_studio(data_dir) as (session, base):
        project = session.post(f"{base}/api/projects", timeout=60, json={
            "title": "review round 1", "label_config": (review / LABEL_STUDIO_CONFIG).read_text(encoding="utf8")})
        assert project.status_code == 201, project.text
        project_id = project.json()["id"]
        imported = session.post(f"{base}/api/projects/{project_id}/import", timeout=120,
                                json=srsly.read_json(review / TASK_FILES["label_studio"]))
        assert imported.status_code == 201 and imported.json()["task_count"] == len(TEXTS), imported.text
        listed = session.get(f"{base}/api/tasks", params={"project": project_id, "page_size": 100}, timeout=60)
        by_id = {task["data"][REVIEW_ID]: task for task in listed.json()["tasks"]}
        assert set(by_id) == {task.review_id for task in tasks}
        assert all(task["total_predictions"] == 1 for task in by_id.values())
        for text, spans in zip(TEXTS, CORRECTED):
            saved = session.post(f"{base}/api/tasks/{by_id[stable_id(text)]['id']}/annotations", timeout=60,
                                 json={"result": result(text, spans)})
            assert saved.status_code == 201, saved.text
        export = session.get(f"{base}/api/projects/{project_id}/export", params={"exportType": "JSON"}, timeout=120)
        assert export.ok, export.text
    exported = tmp_path / "assets" / "review-1.train.json"
    exported.parent.mkdir()
    exported.write_bytes(export.content)
    records = sorted(read_records(exported), key=lambda record: TEXTS.index(record.text))
    assert [record.id for record in records] == [stable_id(text) for text in TEXTS]
    assert [sorted(record.entities) for record in records] == [sorted(spans) for spans in CORRECTED]
    assert all(record.skip is None for record in records)
