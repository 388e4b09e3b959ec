"""Make the distillation lever's silver corpus: the template's own runs at the
teacher seeds vote on the prepared unlabelled text, and the sentences they agree
on become silver training data (the template's scripts/distill.py does the
annotating; benchmark-distill then trains the template on gold plus this).

The teacher runs are the benchmark's `template` runs: same config, budget and
folder (RUNS_DIR/template-s<seed>) as bench.configs writes, so they are trained
here only if not finished, and the results table reuses them as its `template`
rows. A teacher run's dev F1 chose its model-best; the test split only scores it
for the table, and prepare-unlabelled removed test sentences from the text.

Reads: CORPUS_DIR/{train,dev,test}.spacy, UNLABELLED (prepare-unlabelled's output:
dev and test sentences are already out of it), the template's base config and
overlays, the budget config, and SETTINGS (the template's configs/distill.yml:
its words and batch_size; its teacher is replaced by the teacher runs).
Writes: the teacher runs (if not finished), OUTPUT (silver DocBin) and REPORT.
"""

from pathlib import Path
from typing import List, Optional

import typer

from scripts.distill import SETTINGS, distill
from scripts.lib.configs import read_budget
from scripts.lib.errors import exit_on_user_error
from scripts.lib.pretrained import static_vectors
from scripts.lib.seeds import parse_seeds
from scripts.lib.settings import read_settings

from .configs import TEMPLATE, corpus_md5s, train_all, training_job, write_configs


@exit_on_user_error
def main(
    # fmt: off
    corpus_dir: Path = typer.Argument(..., help="Folder with train/dev/test.spacy"),
    unlabelled: Path = typer.Argument(..., help="The prepared unlabelled text (prepare-unlabelled's .txt.gz)", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., help="Silver corpus to write (DocBin)"),
    report_path: Path = typer.Argument(..., help="What was annotated and kept (JSON)"),
    runs_dir: Path = typer.Option(..., help="The benchmark's runs folder (the teacher runs are its template runs)"),
    teacher_seeds: str = typer.Option(..., help="Comma-separated seeds of the template runs that vote"),
    lang: str = typer.Option(..., help="spaCy language code"),
    base: Path = typer.Option(..., help="The template's base config", exists=True, dir_okay=False),
    overlay: List[Path] = typer.Option([], help="The template's overlay config(s)"),
    budget_config: Path = typer.Option(..., help="A generated run config whose training budget the teacher runs get", exists=True, dir_okay=False),
    vectors: Optional[Path] = typer.Option(None, help="Folder written by train-vectors: its static vectors, if any, are read by the template", file_okay=False),
    settings_path: Path = typer.Option(..., "--settings", help="The template's configs/distill.yml (words, batch_size)", exists=True, dir_okay=False),
    gpu_id: int = typer.Option(-1, help="GPU id, or -1 for CPU"),
    parallel: int = typer.Option(1, help="Teacher runs trained at a time (at most one per CPU core)"),
    speed_seconds: float = typer.Option(..., min=0, help="Minimum seconds of each run's words/second measurement (evaluate)"),
    # fmt: on
) -> None:
    settings = read_settings(settings_path, SETTINGS)
    budget = read_budget(budget_config)
    vectors_dir = static_vectors(vectors) if vectors is not None else None
    config = write_configs([TEMPLATE], {}, base, overlay, lang, runs_dir / "configs", budget, vectors=vectors_dir)[TEMPLATE]
    corpus_md5 = corpus_md5s(corpus_dir)
    jobs = [training_job(TEMPLATE, seed, config, runs_dir, corpus_md5, budget)
            for seed in parse_seeds(teacher_seeds)]
    train_all(jobs, corpus_dir, gpu_id, parallel, speed_seconds)
    distill([job["run_dir"] for job in jobs], unlabelled, corpus_dir, output, report_path, lang,
            settings["words"], settings["batch_size"])


if __name__ == "__main__":
    typer.run(main)
