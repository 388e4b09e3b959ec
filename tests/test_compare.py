"""compare: the runs table, seed groups, baseline choice, per-label diff and the gate."""

from pathlib import Path
from typing import Any, Dict, Optional

import srsly

from scripts.compare import load_runs, seed_groups

from .conftest import ROOT, run, workflow_options


def fake_run(training: Path, name: str, created: str, seed: int, f: float, config: str = "c1",
             test: str = "t1", per_label=None, settings: Optional[str] = None,
             dev: Optional[float] = None, inputs: Optional[Dict[str, Any]] = None,
             cpu: str = "AMD EPYC", chosen_on: Optional[list] = None) -> None:
    run_dir = training / name
    run_dir.mkdir(parents=True)
    per_label = per_label or {"PER": f, "LOC": f}
    srsly.write_json(run_dir / "run.json", {
        "run": name, "created": created, "seed": seed,
        "config": {"md5": config, **({"settings_md5": settings} if settings else {}),
                   **({"chosen_on_seeds": chosen_on} if chosen_on else {})},
        "corpus": {"train": {"md5": "tr"}, "dev": {"md5": "dv"}},
        "training": {"words_per_second": 1000, "steps": 100, "best_step": 80,
                     "best_dev_score": f - 0.01 if dev is None else dev},
        "wall_time_seconds": 60.0, "peak_memory_mib": 300.0, **({"inputs": inputs} if inputs else {}),
        "environment": {"cpu": cpu, "cpu_flags": ["avx2", "fma"], "blas": "OpenBLAS 0.3"}})
    srsly.write_json(run_dir / "metrics.json", {
        "overall": {"p": f, "r": f, "f": f}, "test": {"md5": test},
        "per_label": {label: {"p": v, "r": v, "f": v} for label, v in per_label.items()},
        "speed": {"words_per_second": 5000}})


def compare(training: Path, *options: str):
    return run(["python", "-m", "scripts.compare", str(training), str(training),
                *workflow_options("compare"), *options], ROOT)


def test_table_groups_diff_and_passing_gate(tmp_path: Path) -> None:
    training = tmp_path / "training"
    fake_run(training, "a-s0", "2026-01-01T10:00:00", 0, 0.80)
    fake_run(training, "seeds/s1", "2026-01-02T10:00:00", 1, 0.84)
    fake_run(training, "other-data", "2026-01-02T11:00:00", 0, 0.99, test="t2")
    fake_run(training, "b-s0", "2026-01-03T10:00:00", 0, 0.83, config="c2",
             per_label={"PER": 0.90, "LOC": 0.70})
    (training / "unevaluated").mkdir()
    srsly.write_json(training / "unevaluated" / "run.json", {})
    result = compare(training, "--max-drop", "2")
    assert result.returncode == 0, result.stderr
    data = srsly.read_json(training / "compare.json")
    assert [r["run"] for r in data["runs"]] == ["a-s0", "seeds/s1", "other-data", "b-s0"]
    (group,) = data["seed_groups"]
    assert group["runs"] == ["a-s0", "seeds/s1"] and round(group["f"]["mean"], 6) == 0.82
    # Baseline: the best earlier run on the same test data (not "other-data").
    assert (data["latest"], data["baseline"]) == ("b-s0", "seeds/s1")
    assert round(data["diff"]["LOC"]["delta_points"], 2) == -14.0
    assert round(data["diff"]["overall"]["delta_points"], 2) == -1.0
    markdown = (training / "compare.md").read_text()
    assert "| `b-s0` |" in markdown and "82.00 ± 2.83" in markdown and "Gate passed" in result.stdout
    assert "Every run on one CPU kind: AMD EPYC (avx2 fma); BLAS OpenBLAS 0.3." in markdown
    assert "†" not in markdown  # no config here was chosen on a seed


def test_a_seed_its_config_was_chosen_on_is_marked_in_both_tables(tmp_path: Path) -> None:
    training = tmp_path / "training"
    for seed in (0, 1, 3):
        fake_run(training, f"tuned-s{seed}", f"2026-01-0{seed + 1}T10:00:00", seed, 0.80, config="tuned",
                 chosen_on=[0, 1])
    assert compare(training).returncode == 0
    assert [run["seed_chose_config"] for run in srsly.read_json(training / "compare.json")["runs"]] == \
        [True, True, False]
    markdown = (training / "compare.md").read_text()
    assert "| 0† | 80.00 |" in markdown and "| 3 | 80.00 |" in markdown  # the runs
    assert "| 0†, 1†, 3 |" in markdown  # the seed group
    assert ("† A seed the run's config was chosen on (tune's best trial, named in its header): its dev score, and "
            "its group's, are biased upward.") in markdown


def test_runs_from_other_cpu_kinds_are_told_apart(tmp_path: Path) -> None:
    training = tmp_path / "training"
    fake_run(training, "laptop-s0", "2026-01-01T10:00:00", 0, 0.80, cpu="Apple M2")
    fake_run(training, "server-s0", "2026-01-02T10:00:00", 0, 0.81)
    assert compare(training).returncode == 0
    markdown = (training / "compare.md").read_text()
    assert "- A: Apple M2 (avx2 fma); BLAS OpenBLAS 0.3\n- B: AMD EPYC (avx2 fma); BLAS OpenBLAS 0.3\n" in markdown
    assert "| 5000 | A |" in markdown and "| 5000 | B |" in markdown


def test_runs_with_the_same_settings_are_one_seed_group_whatever_their_files(tmp_path: Path) -> None:
    # Config files that differ only in comments or section order (a lever adopted
    # into the base config) hold the same settings.
    training = tmp_path / "training"
    fake_run(training, "lever-s0", "2026-01-01T10:00:00", 0, 0.80, config="file-a", settings="s")
    fake_run(training, "default-s1", "2026-01-02T10:00:00", 1, 0.84, config="file-b", settings="s")
    fake_run(training, "other-s2", "2026-01-03T10:00:00", 2, 0.70, config="file-a", settings="t")
    (group,) = seed_groups(load_runs(training))
    assert group["runs"] == ["lever-s0", "default-s1"]


def test_runs_that_learnt_from_other_vectors_text_or_silver_are_not_one_seed_group(tmp_path: Path) -> None:
    def pretrained(weights: str, text: str, budget_words: int = 5_000_000) -> Dict[str, Any]:
        return {"path": "p", "md5": weights, "learnt_from": {
            "inputs": {"unlabelled.txt.gz": {"md5": text}}, "budget_words": budget_words,
            "counts": {"unlabelled": {"words": 9_000_000 + int(weights[1:])}}}}

    training = tmp_path / "training"
    runs = [("old-vectors-s0", {"vectors": {"path": "v", "md5": "v1"}}),
            ("new-vectors-s1", {"vectors": {"path": "v", "md5": "v2"}}),
            # Pretraining makes new weights for every seed: the text and budget they came from decide.
            ("pretrained-s0", {"init_tok2vec": pretrained("w0", "text-a")}),
            ("pretrained-s1", {"init_tok2vec": pretrained("w1", "text-a")}),
            ("other-text-s2", {"init_tok2vec": pretrained("w2", "text-b")}),
            ("other-budget-s2", {"init_tok2vec": pretrained("w3", "text-a", budget_words=1_000_000)}),
            ("silver-s0", {"silver": {"path": "s", "md5": "s1"}}),
            ("other-silver-s1", {"silver": {"path": "s", "md5": "s2"}})]
    for day, (name, inputs) in enumerate(runs, start=1):
        fake_run(training, name, f"2026-01-0{day}T10:00:00", int(name[-1]), 0.8, inputs=inputs)
    (group,) = seed_groups(load_runs(training))
    assert group["runs"] == ["pretrained-s0", "pretrained-s1"]


def test_the_seed_group_best_on_dev_is_the_choice_and_the_others_get_a_p_value(tmp_path: Path) -> None:
    training = tmp_path / "training"
    for seed, (dev, test) in enumerate([(0.70, 0.80), (0.72, 0.82), (0.71, 0.81)]):
        fake_run(training, f"a-s{seed}", f"2026-01-01T10:0{seed}:00", seed, test, config="a", dev=dev)
    for seed, (dev, test) in enumerate([(0.75, 0.79), (0.76, 0.80), (0.77, 0.78)]):
        fake_run(training, f"b-s{seed}", f"2026-01-02T10:0{seed}:00", seed, test, config="b", dev=dev)
    groups = {group["runs"][0][0]: group for group in seed_groups(load_runs(training))}
    # b is better on dev, though a scores higher on test: dev decides.
    assert groups["b"]["best_on_dev"] and not groups["a"]["best_on_dev"]
    assert groups["b"]["p_vs_best_on_dev"] is None
    # Means 0.81 and 0.79, standard deviations 0.01 each: t 2.449, 4 degrees of freedom.
    assert round(groups["a"]["p_vs_best_on_dev"], 3) == 0.070
    assert compare(training).returncode == 0
    markdown = (training / "compare.md").read_text()
    assert "| best on dev |" in markdown and "| p 0.070 |" in markdown


def test_gate_fails_after_writing_and_baseline_can_be_named(tmp_path: Path) -> None:
    training = tmp_path / "training"
    fake_run(training, "good", "2026-01-01T10:00:00", 0, 0.90)
    fake_run(training, "worse", "2026-01-02T10:00:00", 0, 0.85)
    result = compare(training, "--max-drop", "1")
    assert result.returncode == 1
    assert "gate failed: latest run 'worse' has test F1 85.00, 5.00 points below baseline 'good'" \
        in result.stderr
    assert (training / "compare.md").exists()
    named = compare(training, "--baseline", "nope")
    assert named.returncode == 1 and "no evaluated run named 'nope'" in named.stderr


def test_no_runs_is_a_clear_error(tmp_path: Path) -> None:
    result = compare(tmp_path)
    assert result.returncode == 1 and "no evaluated runs" in result.stderr
