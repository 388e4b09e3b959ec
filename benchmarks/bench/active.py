"""Simulate rounds of annotation on a labelled dataset: which documents should a
person annotate next? Random ones, or those `review`'s committee disputes?

The training split is the pool; its gold entities stand in for the person who
annotates. Round 0 trains on the same random START share of the pool for every
strategy; each later round adds STEP of the pool, chosen by the strategy from
what is not yet labelled: `random` (seeded), or `committee` (the round's seed
runs vote, as `weasel run review` does: summed vote entropy, near repeats passed
over, agreed documents fill up in id order). Every round trains each seed with
the same reduced budget and scores it on the fixed test split; dev picks each
run's best step, as in the workflow.

Reads: CORPUS_DIR/{train,dev,test}.spacy, BUDGET_CONFIG (the template's run
config) and SETTINGS (active.yml: shares, rounds, selection seed, and the
reduced training budget that replaces the config's).
Writes: OUTPUT_DIR/results.json, results.md (a learning-curve table: test F1
mean ± std per round, pool share used, and the annotation saving against
random) and learning_curve.png. Each round's corpus, selection (selection.json:
the pool documents added and why) and runs go to RUNS_DIR; finished runs and
selections are reused, so an interrupted simulation resumes.
"""

import base64
import random
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import srsly
import typer
from confection import Config
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from wasabi import msg

from scripts.lib.cleaning import doc_sentences
from scripts.lib.configs import read_budget, set_budget
from scripts.lib.errors import UserError, exit_on_user_error
from scripts.lib.files import atomic_output
from scripts.lib.plots import plot_png
from scripts.lib.provenance import environment_info, utc_now
from scripts.lib.review_tasks import Task, stable_id
from scripts.lib.run_record import MODEL_BEST, read_test_scores
from scripts.lib.seeds import mean_std, parse_seeds
from scripts.lib.settings import Spec, read_settings
from scripts.lib.tables import markdown_table, write_json_and_markdown
from scripts.review import committee_entities, disagreement, pick

from .configs import corpus_md5s, finished_run, produced_note, train_all

STRATEGIES = ("random", "committee")
BASE = "random"
SELECTION = "selection.json"
SETTINGS: Spec = {"start": (float, 0.0001), "step": (float, 0.0001), "rounds": (int, 1), "selection_seed": (int, 0),
                  "max_steps": (int, 1), "eval_frequency": (int, 1), "patience": (int, 0), "batch_size": (int, 1),
                  "unit": (str, ("sentence", "document"))}


def pool_docs(train: Path, unit: str) -> List[Doc]:
    """The pool: the training split's documents, or their sentences, each a Doc with its gold entities."""
    docs = DocBin(store_user_data=True).from_disk(train).get_docs(Vocab())
    if unit == "document":
        return list(docs)
    return [sentence.as_doc() for doc in docs for sentence in doc_sentences(doc)]


def share_count(share: float, total: int) -> int:
    return max(1, round(share * total))


def initial_selection(total: int, share: float, seed: int) -> List[int]:
    """The pool documents every strategy starts from."""
    return sorted(random.Random(seed).sample(range(total), share_count(share, total)))


def random_selection(unlabelled: List[int], count: int, seed: int, round_number: int) -> Dict[str, Any]:
    chosen = random.Random(f"{seed}-{round_number}").sample(unlabelled, min(count, len(unlabelled)))
    return {"added": sorted(chosen)}


def committee_selection(run_dirs: List[Path], docs: List[Doc], unlabelled: List[int], count: int,
                        batch_size: int) -> Dict[str, Any]:
    """What `review` would pick from the unlabelled pool with these runs' models."""
    models = [spacy.load(run / MODEL_BEST) for run in run_dirs]
    texts = [docs[index].text for index in unlabelled]
    tasks = []
    for index, text, predictions in zip(unlabelled, texts, committee_entities(models, texts, batch_size)):
        score, majority, _contested = disagreement(predictions)
        # The simulation keeps scores only: no reason is written for the picks.
        tasks.append(Task(stable_id(text), text, majority, score, "", str(index)))
    picked, passed_over = pick(tasks, count)
    return {"added": sorted(int(task.source) for task in picked), "near_duplicates_passed_over": passed_over,
            "contested_in_pool": sum(task.score > 0 for task in tasks),
            "scores": {task.source: task.score for task in picked}}


def write_corpus(folder: Path, docs: List[Doc], labelled: List[int], corpus_dir: Path) -> None:
    """FOLDER/train.spacy: the labelled pool documents; dev and test link to the
    dataset's, so every round is selected and scored on the same splits."""
    folder.mkdir(parents=True, exist_ok=True)
    train = DocBin(store_user_data=True)
    for index in labelled:
        train.add(docs[index])
    with atomic_output(folder / "train.spacy") as tmp:
        train.to_disk(tmp)
    for split in ("dev", "test"):
        link = folder / f"{split}.spacy"
        if not link.is_symlink():
            link.symlink_to((corpus_dir / f"{split}.spacy").resolve())


def test_f1(run_dir: Path) -> float:
    scores = read_test_scores(run_dir)
    if scores is None:
        raise UserError("run has no test scores", run_dir)
    return scores["overall"]["f"]


def round_row(strategy: str, number: int, labelled: List[int], docs: List[Doc], values: List[float],
              pool_words: int) -> Dict[str, Any]:
    words = sum(len(docs[index]) for index in labelled)
    return {"strategy": strategy, "round": number, "units": len(labelled),
            "share": round(len(labelled) / len(docs), 4), "words": words,
            "share_words": round(words / pool_words, 4), "f": mean_std(values), "values": values}


def verdict(rows: List[Dict[str, Any]], strategy: str) -> Dict[str, Any]:
    """The share of the pool `strategy` needs to reach random's F1 at the last
    round, the saving that makes, and whether it ever falls below random by more
    than its own seed spread."""
    base = {row["round"]: row for row in rows if row["strategy"] == BASE}
    own = sorted((row for row in rows if row["strategy"] == strategy), key=lambda row: row["round"])
    last = base[max(base)]
    target = last["f"]["mean"]
    reached = next((row for row in own if row["f"]["mean"] >= target), None)
    below = [row["round"] for row in own
             if row["f"]["mean"] < base[row["round"]]["f"]["mean"] - row["f"]["std"]]
    return {"target_f": target, "random_share": last["share"], "random_share_words": last["share_words"],
            "reached_at_share": reached["share"] if reached else None,
            "saving": round(1 - reached["share"] / last["share"], 4) if reached else None,
            # Annotation costs by the word too: a strategy may pick longer units.
            "reached_at_share_words": reached["share_words"] if reached else None,
            "saving_words": round(1 - reached["share_words"] / last["share_words"], 4) if reached else None,
            "rounds_below_random_beyond_spread": below}


def markdown(results: Dict[str, Any]) -> str:
    rows = results["rounds"]
    others = [s for s in results["strategies"] if s != BASE]
    table = []
    for number in sorted({row["round"] for row in rows}):
        by = {row["strategy"]: row for row in rows if row["round"] == number}
        base = by[BASE]
        cells = [str(number), f"{100 * base['share']:.1f}", f"{100 * base['share_words']:.1f}",
                 f"{100 * base['f']['mean']:.2f} ± {100 * base['f']['std']:.2f}"]
        for strategy in others:
            row = by[strategy]
            cells += [f"{100 * row['share_words']:.1f}", f"{100 * row['f']['mean']:.2f} ± {100 * row['f']['std']:.2f}",
                      f"{100 * (row['f']['mean'] - base['f']['mean']):+.2f}"]
        table.append(cells)
    header = ["round", "pool share %", "random: words %", "random: test F1"]
    for strategy in others:
        header += [f"{strategy}: words %", f"{strategy}: test F1", f"{strategy} − random"]
    budget = ", ".join(f"{key} {value}" for key, value in results["budget"].items())
    lines = [f"# Annotation rounds on {results['dataset']}: random against the committee\n",
             f"Pool: the training split, {results['pool']['units']:,} {results['pool']['unit']}s ({results['pool']['words']:,} words). "
             f"Start {100 * results['start']:g}% (the same {results['pool']['unit']}s for every strategy), then {results['rounds_after_start']} "
             f"rounds of +{100 * results['step']:g}% of them. Each round: seeds "
             f"{', '.join(map(str, results['seeds']))}, reduced budget ({budget}); test F1 on the fixed test split "
             f"({results['test_docs']:,} documents), mean ± std over the seeds.\n",
             markdown_table(tuple(header), table), ""]
    unit = results["pool"]["unit"]
    for strategy, outcome in results["verdicts"].items():
        reached = (f"reaches it with {100 * outcome['reached_at_share']:.0f}% of the pool's {unit}s, a saving of "
                   f"{100 * outcome['saving']:.0f}% ({100 * outcome['reached_at_share_words']:.1f}% of its words against "
                   f"random's {100 * outcome['random_share_words']:.1f}%: a saving of {100 * outcome['saving_words']:.0f}% "
                   "by the word)") if outcome["reached_at_share"] else "never reaches it"
        below = outcome["rounds_below_random_beyond_spread"]
        lines.append(f"- `{strategy}`: random reaches {100 * outcome['target_f']:.2f} with "
                     f"{100 * outcome['random_share']:.0f}% of the pool; `{strategy}` {reached}; below random by more "
                     f"than its seed spread in rounds: {', '.join(map(str, below)) or 'none'}.")
    return "\n".join(lines) + "\n" + produced_note(results)


def write_plot(path: Path, results: Dict[str, Any]) -> None:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot(1, 1, 1)
        for strategy in results["strategies"]:
            own = sorted((r for r in results["rounds"] if r["strategy"] == strategy), key=lambda r: r["round"])
            shares = [100 * r["share"] for r in own]
            means = [100 * r["f"]["mean"] for r in own]
            spreads = [100 * r["f"]["std"] for r in own]
            axes.errorbar(shares, means, yerr=spreads, marker="o", capsize=3, label=strategy)
        axes.set_xlabel(f"pool annotated ({results['pool']['unit']}s, %)")
        axes.set_ylabel("test F1")
        axes.set_title(f"{results['dataset']}: learning curve, mean ± std over seeds")
        axes.legend()

    with atomic_output(path) as tmp:
        tmp.write_bytes(base64.b64decode(plot_png(draw, size=(7, 4))))


@exit_on_user_error
def main(
    # fmt: off
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy (the pool), dev.spacy and test.spacy", exists=True, file_okay=False),
    output_dir: Path = typer.Argument(..., help="Folder for results.json, results.md and learning_curve.png"),
    runs_dir: Path = typer.Option(..., help="Folder for each round's corpus, selection and runs"),
    budget_config: Path = typer.Option(..., help="The template's run config, trained with the budget below", exists=True, dir_okay=False),
    settings_path: Path = typer.Option(..., "--settings", help="Schedule and budget of the simulation (active.yml)"),
    seeds: str = typer.Option(..., help="Comma-separated training seeds; the committee is their runs"),
    dataset: str = typer.Option(..., help="Dataset name for the table"),
    gpu_id: int = typer.Option(..., help="GPU id; -1: CPU"),
    parallel: int = typer.Option(..., min=1, help="Runs at a time"),
    speed_seconds: float = typer.Option(..., min=0, help="Minimum seconds of each run's words/second measurement (evaluate)"),
    # fmt: on
) -> None:
    settings = read_settings(settings_path, SETTINGS)
    start, step, rounds, selection_seed = (settings[key] for key in ("start", "step", "rounds", "selection_seed"))
    seed_list = parse_seeds(seeds, minimum=2)
    docs = pool_docs(corpus_dir / "train.spacy", settings["unit"])
    if start + rounds * step > 1:
        raise UserError(f"start {start} + {rounds} rounds of {step} is more than the whole pool", settings_path)
    pool_words = sum(len(doc) for doc in docs)
    budget = {**read_budget(budget_config), "max_epochs": 0,
              **{key: settings[key] for key in ("max_steps", "eval_frequency", "patience")}}
    runs_dir.mkdir(parents=True, exist_ok=True)
    config = runs_dir / "config.cfg"
    set_budget(Config().from_disk(budget_config, interpolate=False), budget).to_disk(config)
    labelled: Dict[str, List[int]] = {strategy: initial_selection(len(docs), start, selection_seed)
                                      for strategy in STRATEGIES}
    rows: List[Dict[str, Any]] = []
    for number in range(rounds + 1):
        folders = {strategy: runs_dir / ("start-r0" if number == 0 else f"{strategy}-r{number}")
                   for strategy in STRATEGIES}
        jobs = []
        for strategy, folder in folders.items():
            if any(job["corpus_dir"] == folder / "corpus" for job in jobs):
                continue  # round 0 is shared
            write_corpus(folder / "corpus", docs, labelled[strategy], corpus_dir)
            md5 = corpus_md5s(folder / "corpus")
            for seed in seed_list:
                run_dir = folder / f"s{seed}"
                jobs.append({"system": f"{strategy if number else 'start'} round {number}", "seed": seed,
                             "config": config, "run_dir": run_dir, "corpus_dir": folder / "corpus",
                             "reused": finished_run(run_dir, config, md5, seed, budget)})
        sizes = ", ".join(f"{strategy} {len(labelled[strategy])} {settings['unit']}s" for strategy in STRATEGIES)
        msg.divider(f"Round {number}: {sizes}")
        train_all(jobs, corpus_dir, gpu_id, parallel, speed_seconds)
        for strategy, folder in folders.items():
            rows.append(round_row(strategy, number, labelled[strategy], docs,
                                  [test_f1(folder / f"s{seed}") for seed in seed_list], pool_words))
        if number == rounds:
            break
        count = share_count(step, len(docs))
        for strategy, folder in folders.items():
            target = runs_dir / f"{strategy}-r{number + 1}" / SELECTION
            taken = set(labelled[strategy])
            unlabelled = [index for index in range(len(docs)) if index not in taken]
            selection: Optional[Dict[str, Any]] = None
            if target.is_file():
                selection = srsly.read_json(target)
                if selection.get("from") != labelled[strategy]:
                    selection = None  # made for another labelled set: choose again
            if selection is None:
                chosen = (random_selection(unlabelled, count, selection_seed, number + 1) if strategy == BASE else
                          committee_selection([folder / f"s{seed}" for seed in seed_list], docs, unlabelled, count,
                                              settings["batch_size"]))
                selection = {"from": labelled[strategy], **chosen}
                target.parent.mkdir(parents=True, exist_ok=True)
                with atomic_output(target) as tmp:
                    srsly.write_json(tmp, selection)
            labelled[strategy] = sorted(taken | set(selection["added"]))
    results = {
        "dataset": dataset, "created": utc_now(), "environment": environment_info(),
        "pool": {"unit": settings["unit"], "units": len(docs), "words": pool_words},
        "test_docs": len(DocBin().from_disk(corpus_dir / "test.spacy")),
        "start": start, "step": step, "rounds_after_start": rounds, "selection_seed": selection_seed,
        "seeds": seed_list, "budget": budget, "strategies": list(STRATEGIES), "rounds": rows,
        "verdicts": {strategy: verdict(rows, strategy) for strategy in STRATEGIES if strategy != BASE},
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    write_json_and_markdown(output_dir / "results", results, markdown(results))
    write_plot(output_dir / "learning_curve.png", results)
    msg.good(f"Saved {output_dir / 'results.json'}, results.md and learning_curve.png")


if __name__ == "__main__":
    typer.run(main)
