"""annotate: a pipeline over new text, streamed into resumable shards, bad input
skipped and listed (or stopping the job)."""

import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import srsly

from scripts import annotate as annotate_step
from scripts.lib.annotation import Skipped, input_files, read_documents
from scripts.lib.readers import NO_BOM_HINT
from scripts.lib.files import process_alive
from scripts.lib.processes import DaskCluster
from scripts.lib.errors import UserError

from .conftest import ROOT, rules_model, run, settings_file, wait_for, workflow_options, write_lines
from .test_serve import children


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return rules_model(tmp_path_factory.mktemp("model") / "model")


def annotate_command(model: Path, source: Path, out: Path, *options: str, **settings: Any) -> List[str]:
    """annotate as the workflow runs it, with configs/annotate.yml's `settings`
    and `options` changed."""
    settings_path = settings_file("annotate", out.parent / f"{out.name}-settings", **settings)
    return [sys.executable, "-m", "scripts.annotate", str(model), str(source), str(out),
            *workflow_options("annotate", settings=settings_path), *options]


def annotate(model: Path, source: Path, out: Path, *options: str, **settings: Any):
    return run(annotate_command(model, source, out, *options, **settings), ROOT)


def records(out: Path) -> List[dict]:
    return [r for part in sorted(out.glob("part-*.jsonl")) for r in srsly.read_jsonl(part)]


def test_jsonl_txt_and_gz_with_fields_passed_through(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "in"
    write_lines(data / "news.jsonl", ['{"id": "n1", "text": "Ana mora em Lisboa.", "source_url": "x"}'])
    write_lines(data / "letter.txt", ["Cara Ana,", "até Lisboa."])
    (data / "more.jsonl.gz").write_bytes(gzip.compress(b'{"text": "Sem entidades."}\n'))
    write_lines(data / "notes.md", ["not read"])
    result = annotate(model, data, tmp_path / "out", shard_size=2)
    assert result.returncode == 0, result.stderr
    by_id = {r["id"]: r for r in records(tmp_path / "out")}
    assert set(by_id) == {"n1", "letter.txt", "more.jsonl.gz:1"}
    assert by_id["n1"]["source_url"] == "x"
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in by_id["n1"]["entities"]] == \
        [(0, 3, "PER", "Ana"), (12, 18, "LOC", "Lisboa")]
    assert len(by_id["letter.txt"]["entities"]) == 2  # one document per .txt file
    assert by_id["n1"]["model"] == {"name": "pt_rules", "version": "1.2.3"}
    manifest = srsly.read_json(tmp_path / "out" / "annotate.json")
    assert manifest["counts"] == {"documents": 3, "entities": 4, "shards": 2, "shards_reused": 0}
    assert "Not read:" in result.stdout and not (tmp_path / ".out.work").exists()


@pytest.mark.parametrize("per_line", [True, False], ids=["per line", "per file"])
def test_new_text_in_utf16_with_its_mark_reads_as_utf8_and_without_it_is_named(tmp_path: Path,
                                                                              per_line: bool) -> None:
    """Text saved by a Windows tool (PowerShell's `>` writes UTF-16 with a byte-order
    mark) gives the documents of the UTF-8 file; without its mark, a bad record.
    Carriage returns alone (classic Mac OS) end lines as line feeds do."""
    text = "A ministra Ana Costa visitou Lisboa.\r\nO Banco do Brasil abriu em São Paulo.\r\n"
    read = {}
    for name, content in (("utf8", text.encode("utf8")), ("utf16", text.encode("utf-16")),
                          ("no-mark", text.encode("utf-16-le")), ("cr", text.replace("\r\n", "\r").encode("utf8"))):
        path = tmp_path / f"{name}.txt"
        path.write_bytes(content)
        skipped: List[Skipped] = []
        read[name] = ([(d.text, d.line) for d in read_documents(path, per_line, 10 ** 6, skipped, "skip", "x.txt")],
                      [(s.line, s.cause) for s in skipped])
    assert read["utf16"] == read["utf8"] and read["utf8"][0] and not read["utf8"][1]
    if per_line:  # carriage returns alone end lines too; a whole file keeps its bytes
        assert read["cr"] == read["utf8"]
    assert read["no-mark"][0] == [] and read["no-mark"][1][0] == (1, NO_BOM_HINT)


def test_new_text_in_a_legacy_encoding_reads_under_the_var_and_is_named_without_it(model: Path, tmp_path: Path) -> None:
    source = tmp_path / "cartas.txt"
    source.write_bytes("A Ana Costa visitou Lisboa.\nSão Lisboa, ô Ana.\n".encode("cp1252"))
    stopped = annotate(model, source, tmp_path / "stopped", "--txt-documents", "line", on_bad_input="stop")
    assert stopped.returncode == 1 and "cartas.txt:2: not valid UTF-8" in stopped.stderr
    assert "name its encoding with the legacy_encoding var" in " ".join(stopped.stderr.split())
    result = annotate(model, source, tmp_path / "out", "--txt-documents", "line", "--legacy-encoding", "cp1252")
    assert result.returncode == 0, result.stderr
    assert [[(e["start"], e["text"]) for e in r["entities"]] for r in records(tmp_path / "out")] == [
        [(2, "Ana"), (20, "Lisboa")], [(4, "Lisboa"), (14, "Ana")]]  # "São", "ô": one character each
    assert srsly.read_json(tmp_path / "out" / "annotate.json")["counts"]["documents"] == 2


def test_one_document_per_line_and_two_processes_give_the_same_output(model: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.txt", [f"Ana {i} foi a Lisboa." for i in range(40)])
    assert annotate(model, source, tmp_path / "one", "--txt-documents", "line").returncode == 0
    two = annotate(model, source, tmp_path / "two", "--txt-documents", "line", n_process=2, batch_size=8)
    assert two.returncode == 0, two.stderr
    assert records(tmp_path / "one") == records(tmp_path / "two") and len(records(tmp_path / "one")) == 40


def test_bad_records_are_skipped_and_listed_or_stop_the_job(model: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"text": "Ana"}\n{"text": \n{"id": 3}\n{"text": "S\xe3o"}\n{"text": "Lisboa"}\n'
                       + b'{"text": "' + b"a" * 1_000_001 + b'"}\n')
    result = annotate(model, source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in (e for rec in records(tmp_path / "out") for e in rec["entities"])] == \
        ["Ana", "Lisboa"]
    skipped = srsly.read_json(tmp_path / "out" / "annotate.json")["skipped"]
    assert [(s["line"], s["cause"].split(" (")[0]) for s in skipped] == [
        (2, "not valid JSON"), (3, 'no "text" string'), (4, "not valid UTF-8"),
        (6, "text of 1,000,001 characters is longer than the pipeline's max_length")]
    stopped = annotate(model, source, tmp_path / "stopped", on_bad_input="stop")
    assert stopped.returncode == 1 and len(stopped.stderr.strip().splitlines()) == 1
    assert f"{source}:2: not valid JSON" in stopped.stderr and not (tmp_path / "stopped").exists()


def test_an_interrupted_job_resumes_without_redoing_finished_shards(model: Path, tmp_path: Path,
                                                                     monkeypatch) -> None:
    source = write_lines(tmp_path / "in.txt", [f"Ana {i}" for i in range(5)])
    out = tmp_path / "out"
    real = annotate_step.annotate_shard
    calls: List[int] = []

    def crash_on_second_shard(nlp, shard, *args):
        calls.append(len(shard))
        if len(calls) == 2:
            raise KeyboardInterrupt
        yield from real(nlp, shard, *args)

    options = dict(model_path=str(model), input_path=source, output_dir=out, txt_documents="line", scheduler="",
                   settings_path=settings_file("annotate", tmp_path / "settings", batch_size=2, shard_size=2),
                   legacy_encoding="")
    monkeypatch.setattr(annotate_step, "annotate_shard", crash_on_second_shard)
    with pytest.raises(KeyboardInterrupt):
        annotate_step.main(**options)
    work = tmp_path / ".out.work"
    assert sorted(p.name for p in work.glob("part-*")) == ["part-00000.jsonl"] and not out.exists()
    first_shard = (work / "part-00000.jsonl").read_bytes()
    calls.clear()
    monkeypatch.setattr(annotate_step, "annotate_shard", real)
    annotate_step.main(**options)
    counts = srsly.read_json(out / "annotate.json")["counts"]
    assert counts == {"documents": 5, "entities": 5, "shards": 3, "shards_reused": 1}
    assert (out / "part-00000.jsonl").read_bytes() == first_shard
    assert [r["id"] for r in records(out)] == [f"in.txt:{i}" for i in range(1, 6)]


def test_a_missing_model_or_input_is_one_line(model: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="input not found"):
        input_files(tmp_path / "nothing")
    result = annotate(tmp_path / "no-model", write_lines(tmp_path / "a.txt", ["x"]), tmp_path / "out")
    assert result.returncode == 1 and "cannot load the pipeline" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ids_are_unique_across_files_of_the_same_name(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "in"
    write_lines(data / "a" / "doc.txt", ["Ana"])
    write_lines(data / "b" / "doc.txt", ["Lisboa"])
    write_lines(data / "doc.jsonl", ['{"text": "Ana"}', '{"text": "Ana", "id": "mine"}'])
    assert annotate(model, data, tmp_path / "out").returncode == 0
    assert sorted(r["id"] for r in records(tmp_path / "out")) == ["a/doc.txt", "b/doc.txt", "doc.jsonl:1", "mine"]
    lines = annotate(model, data / "a", tmp_path / "lines", "--txt-documents", "line")
    assert lines.returncode == 0 and [r["id"] for r in records(tmp_path / "lines")] == ["doc.txt:1"]


def slow_input(path: Path, documents: int) -> Path:
    """Documents of about 5,000 characters: a few seconds of work in all."""
    srsly.write_jsonl(path, [{"text": "Ana mora em Lisboa e trabalha no Porto. " * 120 + str(i)}
                             for i in range(documents)])
    return path


def test_worker_processes_end_with_a_killed_annotate(model: Path, tmp_path: Path) -> None:
    source = slow_input(tmp_path / "in.jsonl", 2000)
    command = annotate_command(model, source, tmp_path / "out", n_process=2, shard_size=200)
    parent = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(children(parent.pid)) >= 2, "annotate started no worker processes", 60)
        workers = children(parent.pid)
        parent.kill()  # SIGKILL: nothing of the parent runs, the workers are orphaned
        parent.wait()
        wait_for(lambda: not any(process_alive(pid) for pid in workers), "orphaned workers kept running", 15)
    finally:
        if parent.poll() is None:
            parent.kill()


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskCluster]:
    """A real Dask cluster of two workers that know nothing of the project."""
    pytest.importorskip("distributed")
    with DaskCluster(2) as started:
        yield started


@pytest.mark.slow
def test_a_real_cluster_gives_the_local_output_even_when_a_worker_is_killed(
        model: Path, tmp_path: Path, cluster: DaskCluster) -> None:
    address, processes = cluster.address, cluster.processes
    source = slow_input(tmp_path / "in.jsonl", 800)
    local = annotate(model, source, tmp_path / "local", shard_size=20)
    assert local.returncode == 0, local.stderr
    remote = subprocess.Popen(annotate_command(model, source, tmp_path / "remote", "--scheduler", address,
                                               shard_size=20),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any((tmp_path / ".remote.work").glob("part-*")) or remote.poll() is not None,
             "no shard was ever written", 120)
    assert remote.poll() is None, "the job ended before a worker could be killed"
    os.killpg(processes[1].pid, signal.SIGKILL)  # the worker and its nanny, mid-job
    out, err = remote.communicate(timeout=300)
    assert remote.returncode == 0, err
    local_parts = sorted(p.name for p in (tmp_path / "local").glob("part-*"))
    assert local_parts == sorted(p.name for p in (tmp_path / "remote").glob("part-*")) and len(local_parts) == 40
    for name in local_parts:
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    counts = srsly.read_json(tmp_path / "remote" / "annotate.json")["counts"]
    assert counts["documents"] == 800


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "not-an-address", "tcp://[::1"])
def test_a_bad_or_unreachable_scheduler_is_one_line(model: Path, tmp_path: Path, monkeypatch,
                                                    address: str) -> None:
    pytest.importorskip("distributed")
    command = annotate_command(model, write_lines(tmp_path / "a.txt", ["Ana"]), tmp_path / "out",
                               "--scheduler", address)
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")  # Dask's own setting
    result = run(command, ROOT)
    assert result.returncode == 1 and f"cannot reach the Dask scheduler at {address!r}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
