"""Compare every evaluated run under training/, and optionally gate on the latest.

Reads: each training/**/run.json with the metrics.json beside it.
Writes: OUTPUT_DIR/compare.json and OUTPUT_DIR/compare.md: a table of all runs
(name, date, config and data checksums, seed, test F1/P/R, training time and
words/second, CPU kind; a seed the run's config was chosen on by tune is marked),
runs that differ only by seed summarised as mean ± std
(the group best on dev marked, the others with Welch's t-test p against it), and the
per-label F1 difference between the latest run and a baseline (the best earlier
run on the same test data, or the run named by --baseline). With --max-drop N (points), the
step exits 1 after writing when the latest run's test F1 is more than N points
below the baseline's.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import typer
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error
from .lib.run_record import METRICS_JSON, RUN_JSON, run_figures
from .lib.seeds import mean_std, welch_t_test
from .lib.tables import markdown_table, percent, write_json_and_markdown


def load_runs(training_dir: Path) -> List[Dict[str, Any]]:
    """Every evaluated run below `training_dir` (run.json + metrics.json) as a table
    row, oldest first."""
    runs = []
    for manifest_path in sorted(training_dir.rglob(RUN_JSON)):
        run_dir = manifest_path.parent
        if any(part.startswith(".") for part in run_dir.relative_to(training_dir).parts):
            continue  # staging folders of a step in progress
        if not (run_dir / METRICS_JSON).is_file():
            continue
        runs.append({"run": run_dir.relative_to(training_dir).as_posix(), **run_figures(run_dir)})
    runs.sort(key=lambda run: (run["created"], run["run"]))
    return runs


def seed_groups(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Runs with the same config, data, vectors, pretraining text and silver
    corpus but different seeds, as mean ± std. A seed run twice counts once (its
    latest run)."""
    groups: Dict[tuple, Dict[int, Dict[str, Any]]] = {}
    for row in rows:
        key = (row["config_md5"], row["train_md5"], row["dev_md5"], row["test_md5"], row["inputs_md5"])
        groups.setdefault(key, {})[row["seed"]] = row
    summaries = []
    for key, by_seed in groups.items():
        if len(by_seed) < 2:
            continue
        members = [by_seed[seed] for seed in sorted(by_seed)]

        def stats(name: str) -> Dict[str, float]:
            return mean_std([member[name] for member in members])

        summaries.append({"config_md5": key[0], "train_md5": key[1], "test_md5": key[3],
                          "seeds": sorted(by_seed), "runs": [m["run"] for m in members],
                          "f_by_seed": [m["f"] for m in members], "dev_score": stats("dev_score"),
                          "f": stats("f"), "p": stats("p"), "r": stats("r"),
                          "train_seconds": stats("train_seconds")})
    mark_best_on_dev(summaries)
    return summaries


def mark_best_on_dev(groups: List[Dict[str, Any]]) -> None:
    """Among seed groups scored on the same test data, the one with the best mean
    dev score is the choice (decided on dev, never on test); every other group
    gets Welch's t-test p of its test F1 against the chosen one's."""
    for test_md5 in {group["test_md5"] for group in groups}:
        same_test = [group for group in groups if group["test_md5"] == test_md5]
        best = max(same_test, key=lambda group: group["dev_score"]["mean"])
        for group in same_test:
            group["best_on_dev"] = group is best
            group["p_vs_best_on_dev"] = (None if group is best
                                         else welch_t_test(group["f_by_seed"], best["f_by_seed"])["p"])


def choose_baseline(rows: List[Dict[str, Any]], name: Optional[str]) -> Optional[Dict[str, Any]]:
    latest = rows[-1]
    if name:
        named = [row for row in rows if row["run"] == name]
        if not named:
            raise UserError(f"no evaluated run named {name!r} under training/ "
                            f"(runs: {', '.join(r['run'] for r in rows)})")
        return named[0]
    # Scores are only comparable on the same test data.
    earlier = [row for row in rows[:-1] if row["test_md5"] == latest["test_md5"]]
    return max(earlier, key=lambda row: row["f"], default=None)


def label_diff(latest: Dict[str, Any], baseline: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    labels = sorted(set(latest["per_label_f"]) | set(baseline["per_label_f"]))
    diff = {"overall": {"baseline": baseline["f"], "latest": latest["f"]}}
    diff.update({label: {"baseline": baseline["per_label_f"].get(label, 0.0),
                         "latest": latest["per_label_f"].get(label, 0.0)} for label in labels})
    for values in diff.values():
        values["delta_points"] = 100 * (values["latest"] - values["baseline"])
    return diff


def cpu_kinds_markdown(rows: List[Dict[str, Any]]) -> Tuple[Dict[Optional[str], str], str]:
    """A letter for each CPU kind among the runs and the legend under the table:
    a seed trains the same weights only on the same kind of machine."""
    kinds = list(dict.fromkeys(row["cpu_kind"] for row in rows))
    letters = {kind: chr(ord("A") + i) for i, kind in enumerate(kinds)}
    if len(kinds) == 1:
        return letters, f"\nEvery run on one CPU kind: {kinds[0] or 'not recorded'}.\n"
    legend = "".join(f"- {letters[kind]}: {kind or 'not recorded'}\n" for kind in kinds)
    return letters, ("\nCPU kinds (the same seed, data and config give other weights on another kind):\n\n"
                     + legend)


# Marks a seed its run's config was chosen on, in both tables.
CHOSE_CONFIG = "†"


def seeds_markdown(runs: List[Dict[str, Any]]) -> str:
    return ", ".join(f"{run['seed']}{CHOSE_CONFIG if run.get('seed_chose_config') else ''}" for run in runs)


def comparison_markdown(result: Dict[str, Any]) -> str:
    letters, legend = cpu_kinds_markdown(result["runs"])
    if any(run.get("seed_chose_config") for run in result["runs"]):
        legend += (f"\n{CHOSE_CONFIG} A seed the run's config was chosen on (tune's best trial, named in its "
                   "header): its dev score, and its group's, are biased upward. Judge the config on other seeds.\n")
    runs = [(f"`{r['run']}`", r["created"][:16].replace("T", " "), r["config_md5"][:8],
             f"{r['train_md5'][:8]}/{r['dev_md5'][:8]}/{r['test_md5'][:8]}", seeds_markdown([r]), percent(r["f"]),
             percent(r["p"]), percent(r["r"]), f"{r['train_seconds']:.0f}", r["train_words_per_second"],
             r["inference_words_per_second"], letters[r["cpu_kind"]]) for r in result["runs"]]
    text = ("# Runs\n\n" + markdown_table(
        ("run", "date (UTC)", "config", "data train/dev/test", "seed", "F1", "P", "R", "train s",
         "train words/s", "infer words/s", "CPU"), runs) + legend)
    if result["seed_groups"]:
        def mean_std(stats: Dict[str, float]) -> str:
            return f"{percent(stats['mean'])} ± {percent(stats['std'])}"

        def chosen(group: Dict[str, Any]) -> str:
            p_value = group["p_vs_best_on_dev"]
            return "best on dev" if group["best_on_dev"] else f"p {p_value:.3f}"

        by_name = {run["run"]: run for run in result["runs"]}
        groups = [(", ".join(f"`{name}`" for name in g["runs"]), seeds_markdown([by_name[name] for name in g["runs"]]),
                   mean_std(g["dev_score"]), mean_std(g["f"]), mean_std(g["p"]), mean_std(g["r"]), chosen(g))
                  for g in result["seed_groups"]]
        text += ("\n# Same config, data and inputs, several seeds\n\nThe group with the best mean dev score is "
                 "the choice; p: Welch's t-test of another group's test F1 against it (two-sided).\n\n"
                 + markdown_table(("runs", "seeds", "dev score", "F1", "P", "R", "against the choice"), groups))
    if result["diff"]:
        rows = [(label, percent(v["baseline"]), percent(v["latest"]), f"{v['delta_points']:+.2f}")
                for label, v in result["diff"].items()]
        text += (f"\n# `{result['latest']}` against `{result['baseline']}`\n\n"
                 + markdown_table(("label", "baseline F1", "latest F1", "Δ points"), rows))
    return text


@exit_on_user_error
def main(
    # fmt: off
    training_dir: Path = typer.Argument(Path("training"), help="Folder holding the runs"),
    output_dir: Path = typer.Argument(Path("training"), help="Where to write compare.json and compare.md"),
    baseline: str = typer.Option(..., help="Run to compare the latest with; empty: best earlier run"),
    max_drop: float = typer.Option(..., help="Fail if the latest run's F1 is this many points below the baseline's; negative: never fail"),
    # fmt: on
) -> None:
    rows = load_runs(training_dir)
    if not rows:
        raise UserError("no evaluated runs (run.json with metrics.json) found", training_dir)
    latest = rows[-1]
    base = choose_baseline(rows, baseline or None)
    result = {
        "runs": rows,
        "seed_groups": seed_groups(rows),
        "latest": latest["run"],
        "baseline": base["run"] if base else None,
        "diff": label_diff(latest, base) if base else None,
        "max_drop": max_drop,
    }
    markdown = comparison_markdown(result)
    write_json_and_markdown(output_dir / "compare", result, markdown)
    print(markdown)
    msg.good(f"Compared {len(rows)} runs; saved {output_dir}/compare.json and compare.md")
    if base and max_drop >= 0:
        drop = 100 * (base["f"] - latest["f"])
        if drop > max_drop:
            raise UserError(f"gate failed: latest run {latest['run']!r} has test F1 {100 * latest['f']:.2f}, "
                            f"{drop:.2f} points below baseline {base['run']!r} ({100 * base['f']:.2f}); "
                            f"allowed drop {max_drop:g}")
        msg.good(f"Gate passed: F1 change {-drop:+.2f} points (allowed drop {max_drop:g})")


if __name__ == "__main__":
    typer.run(main)
