"""annotate: a pipeline over new text, streamed into resumable shards, bad input
skipped and listed (or stopping the job)."""

import gzip
from pathlib import Path
from typing import List

import pytest
import srsly

from scripts import annotate as annotate_step
from scripts.lib.annotation import input_files
from scripts.lib.errors import UserError

from .conftest import ROOT, rules_model, run, write_lines


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return rules_model(tmp_path_factory.mktemp("model") / "model")


def annotate(model: Path, source: Path, out: Path, *options: str):
    return run(["python", "-m", "scripts.annotate", str(model), str(source), str(out), *options], ROOT)


def records(out: Path) -> List[dict]:
    return [r for part in sorted(out.glob("part-*.jsonl")) for r in srsly.read_jsonl(part)]


def test_jsonl_txt_and_gz_with_fields_passed_through(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "in"
    write_lines(data / "news.jsonl", ['{"id": "n1", "text": "Ana mora em Lisboa.", "source_url": "x"}'])
    write_lines(data / "letter.txt", ["Cara Ana,", "até Lisboa."])
    (data / "more.jsonl.gz").write_bytes(gzip.compress(b'{"text": "Sem entidades."}\n'))
    write_lines(data / "notes.md", ["not read"])
    result = annotate(model, data, tmp_path / "out", "--shard-size", "2")
    assert result.returncode == 0, result.stderr
    by_id = {r["id"]: r for r in records(tmp_path / "out")}
    assert set(by_id) == {"n1", "letter", "more:1"}
    assert by_id["n1"]["source_url"] == "x"
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in by_id["n1"]["entities"]] == \
        [(0, 3, "PER", "Ana"), (12, 18, "LOC", "Lisboa")]
    assert len(by_id["letter"]["entities"]) == 2  # one document per .txt file
    assert by_id["n1"]["model"] == {"name": "pt_rules", "version": "1.2.3"}
    manifest = srsly.read_json(tmp_path / "out" / "annotate.json")
    assert manifest["counts"] == {"documents": 3, "entities": 4, "shards": 2, "shards_reused": 0}
    assert "Not read:" in result.stdout and not (tmp_path / ".out.work").exists()


def test_one_document_per_line_and_two_processes_give_the_same_output(model: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.txt", [f"Ana {i} foi a Lisboa." for i in range(40)])
    assert annotate(model, source, tmp_path / "one", "--txt-documents", "line").returncode == 0
    two = annotate(model, source, tmp_path / "two", "--txt-documents", "line", "--n-process", "2",
                   "--batch-size", "8")
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
    stopped = annotate(model, source, tmp_path / "stopped", "--on-bad-input", "stop")
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

    options = dict(model_path=str(model), input_path=source, output_dir=out, txt_documents="line",
                   batch_size=2, n_process=1, shard_size=2, on_bad_input="skip", scheduler="")
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
    assert [r["id"] for r in records(out)] == [f"in:{i}" for i in range(1, 6)]


def test_a_missing_model_or_input_is_one_line(model: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="input not found"):
        input_files(tmp_path / "nothing")
    result = annotate(tmp_path / "no-model", write_lines(tmp_path / "a.txt", ["x"]), tmp_path / "out")
    assert result.returncode == 1 and "cannot load the pipeline" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_local_two_worker_dask_cluster_gives_the_local_output(model: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    source = write_lines(tmp_path / "lines.txt", [f"Ana {i} mora em Lisboa." for i in range(25)])
    local = annotate(model, source, tmp_path / "local", "--txt-documents", "line", "--shard-size", "4")
    assert local.returncode == 0, local.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = annotate(model, source, tmp_path / "remote", "--txt-documents", "line",
                          "--shard-size", "4", "--scheduler", cluster.scheduler_address)
        assert remote.returncode == 0, remote.stderr
        with distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2
    assert sorted(p.name for p in (tmp_path / "remote").glob("part-*")) == \
        [f"part-{i:05d}.jsonl" for i in range(7)]
    for part in (tmp_path / "local").glob("part-*"):
        assert (tmp_path / "remote" / part.name).read_bytes() == part.read_bytes()


def test_an_unreachable_scheduler_is_one_line(model: Path, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("distributed")
    command = ["python", "-m", "scripts.annotate", str(model), str(write_lines(tmp_path / "a.txt", ["Ana"])),
               str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")  # Dask's own setting
    result = run(command, ROOT)
    assert result.returncode == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
