"""Train and evaluate one config with several seeds, each seed its own run.

Reads: CONFIG (a generated training config) and CORPUS_DIR/{train,dev,test}.spacy.
Writes: GROUP_DIR/s<seed>/ for every seed, each a complete run folder (model-best,
model-last, train_log.jsonl, run.json with its seed, metrics.json, metrics.md),
and GROUP_DIR/summary.json with test P/R/F1 as mean ± std over the seeds (and the
seeds the config was chosen on, if tune chose it: it warns when those are trained). The
whole group is built in a staging folder and replaces the previous one only when
every seed succeeded. `weasel run compare` lists the runs and the group.
"""

from pathlib import Path
from typing import Dict

import srsly
import typer
from wasabi import msg

from .lib.configs import read_budget, warn_if_chosen_on
from .lib.errors import exit_on_user_error
from .lib.files import atomic_output
from .lib.run_record import read_test_scores
from .lib.scored_runs import train_and_evaluate
from .lib.seeds import mean_std, parse_seeds


@exit_on_user_error
def main(
    # fmt: off
    config_path: Path = typer.Argument(..., help="Generated training config", exists=True, dir_okay=False),
    corpus_dir: Path = typer.Argument(..., help="Folder with train/dev/test.spacy"),
    group_dir: Path = typer.Argument(..., help="Folder for the seed runs, e.g. training/sample-cnn-efficiency-seeds"),
    seeds: str = typer.Option(..., help="Comma-separated training seeds"),
    gpu_id: int = typer.Option(..., help="GPU id, or -1 for CPU"),
    speed_seconds: float = typer.Option(..., min=0, help="Minimum seconds of each run's words/second measurement (evaluate)"),
    # fmt: on
) -> None:
    seed_list = sorted(parse_seeds(seeds, minimum=2))  # one seed is the 'train' command
    budget = read_budget(config_path)
    chosen_on = warn_if_chosen_on(config_path, seed_list)
    with atomic_output(group_dir) as staging:
        staging.mkdir()
        scores: Dict[str, list] = {"f": [], "p": [], "r": []}
        for seed in seed_list:
            msg.divider(f"Seed {seed}")
            run_dir = staging / f"s{seed}"
            train_and_evaluate(config_path, corpus_dir, run_dir, seed, gpu_id, speed_seconds)
            overall = read_test_scores(run_dir)["overall"]  # type: ignore[index]
            for key in scores:
                scores[key].append(overall[key])
        summary = {"config": config_path.as_posix(), "seeds": seed_list, "chosen_on_seeds": chosen_on,
                   "budget": budget,
                   **{key: {**mean_std(values), "values": values} for key, values in scores.items()}}
        srsly.write_json(staging / "summary.json", summary)
    f = summary["f"]
    msg.good(f"Test F1 over seeds {seed_list}: {100 * f['mean']:.2f} ± {100 * f['std']:.2f}; "
             f"runs in {group_dir}/")


if __name__ == "__main__":
    typer.run(main)
