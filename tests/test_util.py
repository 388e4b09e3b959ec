import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import catalogue
import numpy
import pytest
import srsly

from scripts.lib.errors import UserError
from scripts.lib.files import atomic_output, atomic_outputs, md5_file, md5_path
from scripts.lib.tables import markdown_table


def test_atomic_output_replaces_file_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_atomic_output_replaces_whole_directories(tmp_path: Path) -> None:
    target = tmp_path / "model"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "stale.bin").write_text("stale")
    with atomic_output(target) as tmp:
        tmp.mkdir()
        (tmp / "weights.bin").write_text("fresh")
    assert [p.name for p in target.iterdir()] == ["weights.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_atomic_outputs_replace_all_or_nothing(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("A")
    second.write_text("B")
    with pytest.raises(KeyboardInterrupt):
        with atomic_outputs(first, second) as (tmp_a, tmp_b):
            tmp_a.write_text("A2")
            raise KeyboardInterrupt
    assert (first.read_text(), second.read_text()) == ("A", "B")
    with pytest.raises(RuntimeError, match="did not write its output"):
        with atomic_outputs(first, second) as (tmp_a, tmp_b):
            tmp_a.write_text("A2")
    assert first.read_text() == "A"


def test_checksums(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_bytes(b"abc")
    assert md5_file(tmp_path / "d" / "x") == "900150983cd24fb0d6963f7d28e17f72"
    before = md5_path(tmp_path / "d")
    (tmp_path / "d" / "x").write_bytes(b"abd")
    assert md5_path(tmp_path / "d") != before


def test_markdown_table_right_aligns_numbers() -> None:
    table = markdown_table(("label", "F1"), [("PER", "91.20"), ("LOC", "1,024")])
    assert table.splitlines()[1] == "| --- | ---: |"


def test_peak_memory_of_a_child_does_not_include_its_parents() -> None:
    """ru_maxrss would report the parent's 400 MiB for the child too; VmHWM does not."""
    from scripts.lib.provenance import peak_memory_mib

    ballast = bytearray(400 * 2**20)
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])  # touch every page so it is resident
    code = "from scripts.lib.provenance import peak_memory_mib; print(peak_memory_mib())"
    child = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout)
    assert peak_memory_mib() > 400
    assert 0 < child < 200
    del ballast


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_child_started_after_its_parent_died_exits_at_once() -> None:
    """A worker (or preexec_fn) that sets its parent-death signal after the parent
    is gone would never get it: it checks who its parent is and exits itself."""
    code = "from scripts.lib.errors import die_with_parent; die_with_parent({}); print('running')"
    ours = subprocess.run([sys.executable, "-c", code.format(os.getpid())], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout) == (0, "running\n")
    # Any pid but the child's parent: as if the parent had died and the child been adopted.
    adopted = subprocess.run([sys.executable, "-c", code.format(os.getppid())], capture_output=True, text=True)
    assert (adopted.returncode, adopted.stdout) == (128 + signal.SIGTERM, "")


def test_weasel_is_told_from_other_parents_by_its_command_line() -> None:
    """A step dies with weasel (which does not pass on a SIGTERM), never with a
    shell: `nohup python -m scripts.train ... &` must outlive a logout."""
    from scripts.lib.errors import runs_project_commands

    for weasel in (["/venv/bin/python", "/venv/bin/weasel", "run", "train", "."],
                   ["python3", "-X", "utf8", "-m", "weasel", "run", "all", "."],
                   ["/venv/bin/python", "/venv/bin/spacy", "project", "run", "all"]):
        assert runs_project_commands(weasel), weasel
    for other in (["-bash"], ["/usr/bin/python3", "-m", "pytest", "tests"], ["python", "-m", "scripts.train"],
                  ["/venv/bin/python", "/venv/bin/weasel", "assets"], ["/venv/bin/spacy", "train", "c.cfg"], []):
        assert not runs_project_commands(other), other


def test_the_same_training_is_told_by_the_files_it_reads_not_by_their_records(tmp_path: Path) -> None:
    """A run recorded before run.json said more about where its inputs came from
    (the pretraining budget) is still the same training: reused, not retrained."""
    from scripts.lib.run_record import same_training, settings_md5

    config = tmp_path / "config.cfg"
    config.write_text("[training]\n")
    weights = {"path": "training/r/pretrain/tok2vec.bin", "md5": "w0",
               "learnt_from": {"inputs": {"corpus/unlabelled.txt.gz": {"md5": "u"}}, "counts": {}}}
    run = {"config": {"settings_md5": settings_md5(config)}, "seed": 0, "training": {"max_steps": 100},
           "corpus": {"train": {"md5": "t"}, "dev": {"md5": "d"}}, "inputs": {"init_tok2vec": weights}}

    def same(inputs: Dict[str, Any]) -> bool:
        return same_training(run, config, {"train": "t", "dev": "d"}, 0, {"max_steps": 100}, inputs=inputs)

    assert same({"init_tok2vec": weights})
    assert same({"init_tok2vec": {**weights, "learnt_from": {**weights["learnt_from"], "budget_words": 50}}})
    assert not same({"init_tok2vec": {**weights, "md5": "w1"}})  # other weights
    assert not same({"init_tok2vec": {**weights, "path": "elsewhere/tok2vec.bin"}})
    assert not same({})


def test_seed_lists_are_parsed_in_one_place_with_a_one_line_error() -> None:
    from scripts.lib.seeds import mean_std, parse_seeds

    assert parse_seeds(" 2, 0,2,1 ") == [2, 0, 1]
    with pytest.raises(UserError, match="seeds must be comma-separated integers, got 'a' in '0,a'"):
        parse_seeds("0,a")
    with pytest.raises(UserError, match="give at least 2 seeds"):
        parse_seeds("3", minimum=2)
    assert mean_std([1.0]) == {"mean": 1.0, "std": 0.0}
    assert mean_std([1.0, 3.0])["std"] == pytest.approx(2 ** 0.5)


def test_welch_t_test_matches_published_values() -> None:
    from scripts.lib.seeds import incomplete_beta, welch_t_test

    # Student's t, two-sided: t = 2 with 10 degrees of freedom gives p = 0.0734; t = 1 with 1 gives 0.5.
    assert incomplete_beta(10 / 14, 5, 0.5) == pytest.approx(0.073388, abs=1e-6)
    assert incomplete_beta(0.5, 0.5, 0.5) == pytest.approx(0.5)
    # Welch: means 2.5 and 4, variances 5/3 and 5/2, n 4 and 5 (R's t.test: t -1.5667, df 6.98, p 0.1613).
    result = welch_t_test([1, 2, 3, 4], [2, 3, 4, 5, 6])
    assert (result["t"], result["df"], result["p"]) == pytest.approx((-1.5667, 6.9808, 0.1613), abs=1e-4)
    assert welch_t_test([2, 3, 4, 5, 6], [1, 2, 3, 4])["p"] == pytest.approx(result["p"])
    assert welch_t_test([1.0, 1.0], [1.0, 1.0])["p"] == 1.0
    assert welch_t_test([1.0, 1.0], [2.0, 2.0])["p"] == 0.0
    with pytest.raises(UserError, match="two seeds"):
        welch_t_test([1.0], [1.0, 2.0])


def test_the_paired_t_test_matches_published_values_and_its_correction_widens_it() -> None:
    from scripts.lib.seeds import paired_t_test

    # R's t.test(c(1, 2, 3, 0.5, 1.5)): t 3.7199, df 4, p 0.02048.
    gains = [1.0, 2.0, 3.0, 0.5, 1.5]
    plain = paired_t_test(gains)
    assert (plain["t"], plain["df"], plain["p"]) == pytest.approx((3.7199, 4, 0.020476), abs=1e-4)
    # Nadeau and Bengio: variance s²(1/5 + 1/4) for folds holding out a quarter of what they train on.
    corrected = paired_t_test(gains, held_out_ratio=0.25)
    assert (corrected["t"], corrected["p"]) == pytest.approx((2.4799, 0.068215), abs=1e-4)
    assert paired_t_test([-g for g in gains])["p"] == pytest.approx(plain["p"])
    assert paired_t_test([0.0, 0.0])["p"] == 1.0 and paired_t_test([0.5, 0.5])["p"] == 0.0
    with pytest.raises(UserError, match="two pairs"):
        paired_t_test([1.0])


def test_msgpack_coders_are_looked_up_once_until_another_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the scripts package caches srsly's encoder and decoder lookups (a
    DocBin document loads msgpack three times); one registered later still counts."""
    scans = []
    scan = catalogue.Registry.get_entry_points
    monkeypatch.setattr(catalogue.Registry, "get_entry_points", lambda self: scans.append(1) or scan(self))
    monkeypatch.setattr(catalogue, "REGISTRY", dict(catalogue.REGISTRY))  # the registration below is undone

    def marked(obj, chain=None):
        return "decoded" if obj == {"marked": True} else obj if chain is None else chain(obj)

    srsly.msgpack_decoders.register("test_marked", func=marked)
    assert srsly.msgpack_loads(srsly.msgpack_dumps({"marked": True})) == "decoded"
    for _ in range(20):
        assert list(srsly.msgpack_loads(srsly.msgpack_dumps(numpy.arange(3)))) == [0, 1, 2]
    assert len(scans) == 2  # the encoders once, the decoders once
