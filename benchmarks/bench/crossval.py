"""Cross-validate the template's config against levers on train and dev, to
decide levers too small for one dev split to rank.

Reads: CORPUS_DIR/train.spacy and dev.spacy (never test.spacy), the base config
and overlays. Their docs, pooled in order (train, then dev), are cut into FOLDS
contiguous blocks of about equal words. Contiguous, not shuffled: neighbouring
docs are consecutive sentences of one source document, which share names, and
shuffled folds would put a document on both sides of a split and flatter every
system. Each system trains once per fold and seed: on the other blocks, with
its block as the dev split that picks model-best and that the fold's score
comes from, so every word of train and dev is held out once. Static vectors, if
given, are train-vectors', which read the training split's text: every system
reads the same ones, so the comparison stays fair, though a fold's held-out
text was seen by them (without its labels).

Static vectors as the lever (`--fold-vectors NAME`): the --extra system NAME
reads floret vectors trained for each fold, as train-vectors would if the fold
were the split: on the fold's training docs and UNLABELLED (prepare-unlabelled's
output) without its sentences that repeat the fold's held-out block (exactly or
nearly, as prepare-unlabelled removes dev and test). One set of vectors for all
of a fold's text would have read every held-out block and flattered the lever.
They go to RUNS_DIR/folds/fold-<i>/ (unlabelled.txt.gz, its report and vectors/),
reused while their inputs and settings are unchanged.

Writes: OUTPUT_DIR/results.json and OUTPUT_DIR/results.md: each system's F1, P
and R on every fold (the mean over seeds) and over the folds, per label; each
--extra system's gain against the template fold by fold, with the paired
t-test over folds and the same test corrected for the training data that folds
share (Nadeau and Bengio 2003); the folds' sizes and bounds; what the fold
vectors removed, learnt from and cost; the machine and versions. Fold corpora,
configs, runs and their logs go to RUNS_DIR (default OUTPUT_DIR/runs,
git-ignored); a finished run of the same config, fold corpus, seed and budget
is reused, not retrained, so an interrupted benchmark resumes.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import spacy
import srsly
import typer
from spacy.tokens import Doc, DocBin
from wasabi import msg

from bench.configs import (
    TEMPLATE,
    LeverInputs,
    config_sources,
    parse_extra,
    produced_note,
    save_results,
    train_all,
    write_configs,
)
from scripts.lib.annotation import input_files
from scripts.lib.configs import read_budget, seeds_chosen_on
from scripts.lib.errors import UserError, exit_on_user_error
from scripts.lib.files import atomic_output, md5_file
from scripts.lib.pretrained import VECTORS_RECORD, static_vectors
from scripts.lib.provenance import environment_info, utc_now
from scripts.lib.raw_text import total_words
from scripts.lib.run_record import read_dev_scores, read_run, same_training
from scripts.lib.seeds import mean_std, paired_t_test, parse_seeds
from scripts.lib.tables import markdown_table, percent
from scripts.prepare_unlabelled import write_without_held_out
from scripts.train_vectors import floret_settings, read_floret_settings, write_floret_vectors

SPLITS = ("train", "dev")


def fold_bounds(doc_words: Sequence[int], folds: int) -> List[Tuple[int, int]]:
    """Cut docs of these word counts, in order, into `folds` contiguous blocks
    (start, end) of about equal words: block i ends at the first doc that
    brings the running total to (i + 1)/folds of all words or past it, and no
    block is empty."""
    if folds < 2:
        raise UserError(f"cross-validation needs 2 folds or more, got {folds}")
    if len(doc_words) < folds:
        raise UserError(f"{len(doc_words)} docs in train and dev cannot make {folds} folds")
    total, running, ends = sum(doc_words), 0, []
    for index, words in enumerate(doc_words):
        running += words
        # Leave at least one doc for each block still to come.
        if len(ends) < folds - 1 and running * folds >= total * (len(ends) + 1) \
                and len(doc_words) - (index + 1) >= folds - 1 - len(ends):
            ends.append(index + 1)
    # Too few words late in the corpus: the last blocks take a doc each.
    while len(ends) < folds - 1:
        ends.append(ends[-1] + 1 if ends else 1)
    starts = [0, *ends]
    return list(zip(starts, [*ends, len(doc_words)]))


def check_not_chosen_on_dev(overlays: List[Path]) -> None:
    """Refuse an overlay that a search chose by its dev scores (tune's best trial
    names the seeds it was chosen on): the folds hold dev out, so its score on
    them would be biased upward whatever the seeds."""
    for overlay in overlays:
        if seeds_chosen_on(overlay):
            raise UserError("was chosen by its score on the dev split, which the folds hold out: cross-validate "
                            "settings chosen some other way, or judge it on unseen seeds (`weasel run tuned "
                            "benchmarks`)", overlay)


def check_fold_vectors(names: List[str], extra: Dict[str, List[Path]], settings: Optional[Path]) -> None:
    """--fold-vectors names --extra systems, and needs floret settings."""
    unknown = [name for name in names if name not in extra]
    if unknown:
        raise UserError(f"--fold-vectors names {', '.join(map(repr, unknown))}, not an --extra system")
    if names and settings is None:
        raise UserError("--fold-vectors needs --vectors-settings (configs/vectors.yml)")


def pooled_docs(corpus_dir: Path, lang: str) -> List[Doc]:
    """The docs of train.spacy, then dev.spacy, with their provenance."""
    vocab = spacy.blank(lang).vocab
    docs: List[Doc] = []
    for split in SPLITS:
        path = corpus_dir / f"{split}.spacy"
        if not path.is_file():
            raise UserError("corpus not found (run the 'preprocess' step first)", path)
        docs.extend(DocBin().from_disk(path).get_docs(vocab))
    return docs


def write_if_changed(path: Path, data: bytes) -> None:
    """Write `data` atomically, leaving a file that already holds it untouched."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def write_folds(docs: List[Doc], folds: int, folds_dir: Path) -> List[Dict[str, Any]]:
    """Each fold's corpus as FOLDS_DIR/fold-<i>/{train,dev}.spacy (dev: block i;
    train: the other blocks, in order), and what each holds."""
    bounds = fold_bounds([len(doc) for doc in docs], folds)
    records = []
    for fold, (start, end) in enumerate(bounds):
        held_out = docs[start:end]
        parts = {"train": docs[:start] + docs[end:], "dev": held_out}
        fold_dir = folds_dir / f"fold-{fold}"
        for split, split_docs in parts.items():
            write_if_changed(fold_dir / f"{split}.spacy", DocBin(docs=split_docs, store_user_data=True).to_bytes())
        records.append({
            "fold": fold, "corpus_dir": fold_dir,
            **{f"{split}_{key}": value for split, split_docs in parts.items() for key, value in
               (("docs", len(split_docs)), ("words", sum(len(doc) for doc in split_docs)),
                ("md5", md5_file(fold_dir / f"{split}.spacy")))},
            "first_doc": held_out[0].user_data.get("id", str(start)),
            "last_doc": held_out[-1].user_data.get("id", str(end - 1)),
        })
    return records


def same_md5s(recorded: Dict[str, Dict[str, Any]], expected: Dict[str, str]) -> bool:
    """Whether a record's inputs ({path: {"md5": ...}}) are these files with these MD5s."""
    return {path: entry.get("md5") for path, entry in recorded.items()} == expected


def fold_text(fold: Dict[str, Any], unlabelled_md5: Dict[str, str], lang: str) -> Tuple[Path, Dict[str, Any]]:
    """The unlabelled files (`unlabelled_md5`: {path: MD5}) without the sentences
    that repeat the fold's held-out block, in the fold's folder, with
    prepare-unlabelled's report on it (reused while the text and the block are
    unchanged)."""
    fold_dir = fold["corpus_dir"]
    output, report_path = fold_dir / "unlabelled.txt.gz", fold_dir / "unlabelled_report.json"
    held_out = {"held-out fold": fold_dir / "dev.spacy"}
    if report_path.is_file() and output.is_file():
        report = srsly.read_json(report_path)
        inputs = {entry["path"]: entry for entry in report.get("inputs", [])}
        if (same_md5s(inputs, unlabelled_md5)
                and same_md5s(report.get("held_out", {}), {"held-out fold": fold["dev_md5"]})
                and report["output"]["md5"] == md5_file(output)):
            return output, report
    msg.info(f"Fold {fold['fold']}: unlabelled text without the sentences of its held-out block")
    unlabelled = [Path(path) for path in unlabelled_md5]
    return output, write_without_held_out(unlabelled, held_out, output, report_path, lang, legacy_encoding="")


def fold_vectors(fold: Dict[str, Any], text: Path, text_md5: str, lang: str,
                 settings: Dict[str, Any]) -> Dict[str, Any]:
    """floret vectors of the fold's training docs and `text` (whose MD5 its
    report gives), in FOLD/vectors, as train-vectors makes them; returns their
    record. Vectors of the same inputs and settings are reused."""
    output = fold["corpus_dir"] / "vectors"
    train = fold["corpus_dir"] / "train.spacy"
    record_path = output / VECTORS_RECORD
    if static_vectors(output) is not None and record_path.is_file():
        record = srsly.read_json(record_path)
        applied = {**floret_settings(settings, total_words(record)), "threads": 1}
        if (same_md5s(record["inputs"], {str(train): fold["train_md5"], str(text): text_md5})
                and record["settings"] == applied):
            msg.info(f"Reusing fold {fold['fold']}'s vectors in {output}")
            return record
    msg.info(f"Fold {fold['fold']}: floret vectors of its training docs and {text}")
    write_floret_vectors(train, text, lang, settings, output)
    return srsly.read_json(record_path)


def prepare_fold_vectors(folds: List[Dict[str, Any]], unlabelled: List[Path], lang: str,
                         settings: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each fold's vectors (FOLD/vectors), and what making them removed, read and cost."""
    records = []
    unlabelled_md5 = {file.as_posix(): md5_file(file) for file in unlabelled}
    for fold in folds:
        text, report = fold_text(fold, unlabelled_md5, lang)
        record = fold_vectors(fold, text, report["output"]["md5"], lang, settings)
        records.append({
            "fold": fold["fold"], "vectors": (fold["corpus_dir"] / "vectors").as_posix(),
            "removed": report["removed"], "unlabelled_words_kept": report["kept"].get("words", 0),
            "words": total_words(record), "settings": record["settings"],
            "seconds": record["seconds"], "peak_memory_mib": record["peak_memory_mib"],
        })
    return records


def fold_vectors_source(overlays: List[Path], base: Path, unlabelled: List[Path]) -> str:
    """How a --fold-vectors system's config is made, for the table."""
    text = " and ".join(f"`{file.as_posix()}`" for file in unlabelled)
    return (" + ".join(f"`{path.as_posix()}`" for path in [base, *overlays])
            + " + floret vectors trained per fold on its training docs"
            + (f" and {text} without the sentences that repeat its held-out block" if text else ""))


def fold_jobs(systems: List[str], configs: Dict[int, Dict[str, Path]], folds: List[Dict[str, Any]],
              seeds: List[int], runs_dir: Path, budget: Dict[str, int]) -> List[Dict[str, Any]]:
    """One training job a system, fold and seed (`configs`: each fold's configs by
    system), in RUNS_DIR/<system>-f<fold>-s<seed>, marked "reused" when that
    folder holds a finished run of the same training."""
    jobs = []
    for fold in folds:
        corpus_md5 = {split: fold[f"{split}_md5"] for split in SPLITS}
        for seed in seeds:
            for system in systems:
                run_dir = runs_dir / f"{system}-f{fold['fold']}-s{seed}"
                config = configs[fold["fold"]][system]
                reused = (read_dev_scores(run_dir) is not None
                          and same_training(read_run(run_dir), config, corpus_md5, seed, budget))
                jobs.append({"system": system, "seed": seed, "fold": fold["fold"], "config": config,
                             "corpus_dir": fold["corpus_dir"], "run_dir": run_dir, "reused": reused})
    return jobs


def run_result(job: Dict[str, Any]) -> Dict[str, Any]:
    """What a finished fold run scored on its held-out block, and what it cost."""
    scores = read_dev_scores(job["run_dir"])
    run = read_run(job["run_dir"])
    if scores is None or run is None:
        raise UserError("run did not finish", job["run_dir"])
    return {"system": job["system"], "fold": job["fold"], "seed": job["seed"], "reused": job["reused"],
            **scores["overall"], "per_label": {label: s["f"] for label, s in scores["per_label"].items()},
            "best_step": run["training"]["best_step"], "steps": run["training"]["steps"],
            "train_seconds": run["wall_time_seconds"]}


def summarise(runs: List[Dict[str, Any]], folds: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Each system's scores fold by fold (the mean over its seeds) and over the
    folds; against the template, the gain on each fold and its paired tests."""
    fold_ids = [fold["fold"] for fold in folds]
    summary: Dict[str, Any] = {}
    for system in dict.fromkeys(run["system"] for run in runs):
        own = [run for run in runs if run["system"] == system]

        def by_fold(key: str, label: Optional[str] = None) -> List[float]:
            return [mean_std([run["per_label"].get(label, 0.0) if label else run[key]
                              for run in own if run["fold"] == fold])["mean"] for fold in fold_ids]

        labels = sorted({label for run in own for label in run["per_label"]})
        summary[system] = {
            "f_by_fold": by_fold("f"),
            **{key: mean_std(by_fold(key)) for key in ("f", "p", "r", "best_step", "train_seconds")},
            "per_label_f": {label: mean_std(by_fold("f", label)) for label in labels},
        }
    # Held-out words over training words, averaged over folds: the correction's ratio.
    ratio = mean_std([fold["dev_words"] / fold["train_words"] for fold in folds])["mean"]
    reference = summary.get(TEMPLATE)
    for system, values in summary.items():
        if reference is None or system == TEMPLATE:
            continue
        gains = [mine - theirs for mine, theirs in zip(values["f_by_fold"], reference["f_by_fold"])]
        values["vs_template"] = {
            "gain_by_fold": gains, "gain": mean_std(gains),
            "folds_ahead": sum(gain > 0 for gain in gains), "folds_behind": sum(gain < 0 for gain in gains),
            "p_paired": paired_t_test(gains)["p"], "p_corrected": paired_t_test(gains, ratio)["p"],
        }
    return summary


def fold_vectors_markdown(records: List[Dict[str, Any]]) -> str:
    """The --fold-vectors table: what each fold's text lost and its vectors cost."""
    if not records:
        return ""
    rows = [(record["fold"], f"{record['removed']['exact']:,} / {record['removed']['near']:,}",
             f"{record['removed']['distinctive']:,}", f"{record['words']:,}", f"{record['seconds']:,.0f}",
             f"{record['peak_memory_mib']:,.0f}") for record in records]
    settings = ", ".join(f"{key} {value}" for key, value in records[0]["settings"].items())
    return ("\n## Static vectors per fold (made once, reused by every seed)\n\n"
            f"floret: {settings}. Sentences of the unlabelled text removed because they repeat the fold's "
            "held-out block, exactly or nearly (distinctive: not a formula of a few words).\n\n"
            + markdown_table(("fold", "removed (exact / near)", "distinctive", "words learnt from", "seconds",
                              "peak MiB"), rows))


def results_markdown(results: Dict[str, Any]) -> str:
    def pm(value: Dict[str, float], scale: float = 100.0, digits: int = 2) -> str:
        return f"{scale * value['mean']:.{digits}f} ± {scale * value['std']:.{digits}f}"

    summary, folds = results["summary"], results["folds"]
    main = []
    for system, values in summary.items():
        against = values.get("vs_template")
        main.append((f"`{system}`", ", ".join(percent(f) for f in values["f_by_fold"]), pm(values["f"]),
                     pm(values["p"]), pm(values["r"]),
                     f"{100 * against['gain']['mean']:+.2f}" if against else "",
                     f"{against['folds_ahead']} / {against['folds_behind']}" if against else "",
                     f"{against['p_paired']:.3f}" if against else "",
                     f"{against['p_corrected']:.3f}" if against else "",
                     pm(values["best_step"], 1, 0), pm(values["train_seconds"], 1, 0)))
    labels = sorted({label for values in summary.values() for label in values["per_label_f"]})
    per_label = [(label, *(pm(summary[s]["per_label_f"].get(label, {"mean": 0, "std": 0})) for s in summary))
                 for label in labels]
    fold_rows = [(fold["fold"], f"{fold['dev_docs']:,}", f"{fold['dev_words']:,}", f"`{fold['first_doc']}`",
                  f"`{fold['last_doc']}`", f"{fold['train_words']:,}") for fold in folds]
    budget = ", ".join(f"{key} {value}" for key, value in results["budget"].items())
    words = sum(fold["dev_words"] for fold in folds)
    seeds = f"seed{'s' if len(results['seeds']) > 1 else ''} {', '.join(map(str, results['seeds']))}"
    return (
        f"# Cross-validation: {results['dataset']}\n\n"
        f"Train and dev of `{results['corpus_dir']}` pooled ({words:,} words; the test split is not read), "
        f"cut into {len(folds)} contiguous folds; each system trains once per fold and seed "
        f"({seeds}) on the other folds, and its fold's F1 is what "
        f"model-best scored on the held-out fold. Same budget for every run ({budget}); "
        f"{results['parallel']} training run(s) at a time. Mean ± standard deviation over folds; Δ: the "
        f"gain against `{TEMPLATE}`, fold by fold; p: the paired t-test over folds (two-sided), and the same "
        "corrected for the training data that folds share (Nadeau and Bengio), which is the one to "
        "decide by.\n\n"
        + markdown_table(("system", "F1 per fold", "F1", "P", "R", "ΔF1 (points)", "folds ahead / behind",
                          "p (paired)", "p (corrected)", "best step", "train s"), main)
        + "\n## Folds\n\n"
        + markdown_table(("fold", "docs", "words", "first doc", "last doc", "training words"), fold_rows)
        + "\n## F1 per label (mean over folds)\n\n"
        + markdown_table(("label", *(f"`{s}`" for s in summary)), per_label)
        + fold_vectors_markdown(results.get("fold_vectors", []))
        + "\n## Configs\n\n"
        + markdown_table(("system", "config"), [(f"`{s}`", source) for s, source in results["configs"].items()])
        + produced_note(results)
    )


@exit_on_user_error
def main(
    # fmt: off
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy and dev.spacy (test.spacy is not read)"),
    output_dir: Path = typer.Argument(..., help="Where to write results.json and results.md"),
    lang: str = typer.Option("pt", help="spaCy language code"),
    base: Path = typer.Option(Path("configs/base.cfg"), help="The template's base config"),
    overlay: List[Path] = typer.Option([], help="The template's overlay config(s)"),
    extra: List[str] = typer.Option([], help="Also cross-validate NAME=OVERLAY[,OVERLAY...]: the base config with those overlays, in order"),
    vectors: Optional[Path] = typer.Option(None, help="Folder written by train-vectors: its static vectors, if any, are read by every system but those of --fold-vectors", file_okay=False),
    fold_vectors_for: List[str] = typer.Option([], "--fold-vectors", help="An --extra system that reads floret vectors trained for each fold on its training docs and --unlabelled without the fold's held-out sentences"),
    unlabelled: Optional[Path] = typer.Option(None, help="Unlabelled text for --fold-vectors (prepare-unlabelled's output); without it they learn from the training docs alone"),
    vectors_settings: Optional[Path] = typer.Option(None, help="floret settings of --fold-vectors (configs/vectors.yml)", exists=True, dir_okay=False),
    folds: int = typer.Option(5, help="Number of folds"),
    seeds: str = typer.Option("0", help="Comma-separated training seeds, each run on every fold"),
    budget_config: Path = typer.Option(..., help="A generated run config whose training budget every run gets", exists=True, dir_okay=False),
    runs_dir: Optional[Path] = typer.Option(None, help="Where fold corpora and runs go (default OUTPUT_DIR/runs)"),
    gpu_id: int = typer.Option(-1, help="GPU id, or -1 for CPU"),
    parallel: int = typer.Option(1, help="Training runs at a time (at most one per CPU core)"),
    # fmt: on
) -> None:
    seed_list = parse_seeds(seeds)
    extra_overlays = parse_extra(extra)
    check_not_chosen_on_dev([*overlay, *(path for paths in extra_overlays.values() for path in paths)])
    check_fold_vectors(fold_vectors_for, extra_overlays, vectors_settings)
    unlabelled_files = input_files(unlabelled, purpose="of unlabelled text") if unlabelled is not None else []
    systems = [TEMPLATE, *extra_overlays]
    runs_dir = runs_dir or output_dir / "runs"
    budget = read_budget(budget_config)
    vectors_dir = static_vectors(vectors) if vectors is not None else None
    fold_records = write_folds(pooled_docs(corpus_dir, lang), folds, runs_dir / "folds")
    msg.info(f"{folds} folds of {corpus_dir}'s train and dev: "
             + ", ".join(f"{fold['dev_words']:,}" for fold in fold_records) + " words")
    shared = write_configs([s for s in systems if s not in fold_vectors_for], extra_overlays, base, overlay, lang,
                           runs_dir / "configs", budget, vectors=vectors_dir)
    vector_records = (prepare_fold_vectors(fold_records, unlabelled_files, lang, read_floret_settings(vectors_settings))
                      if fold_vectors_for else [])
    configs = {fold["fold"]: shared for fold in fold_records}
    for fold, record in zip(fold_records, vector_records):
        levers = {name: LeverInputs(vectors=Path(record["vectors"])) for name in fold_vectors_for}
        configs[fold["fold"]] = {**shared, **write_configs(fold_vectors_for, extra_overlays, base, overlay, lang,
                                                            runs_dir / "configs" / f"fold-{fold['fold']}", budget,
                                                            levers=levers)}
    jobs = fold_jobs(systems, configs, fold_records, seed_list, runs_dir, budget)
    train_all(jobs, corpus_dir, gpu_id, parallel, speed_seconds=0.0, evaluate=False)
    runs = [run_result(job) for job in jobs]
    results = {
        "dataset": corpus_dir.name,
        "corpus_dir": corpus_dir.as_posix(),
        "seeds": seed_list,
        "budget": budget,
        "parallel": parallel,
        "folds": [{key: value.as_posix() if isinstance(value, Path) else value for key, value in fold.items()}
                  for fold in fold_records],
        "configs": {**config_sources(systems, extra_overlays, base, overlay, vectors_dir),
                    **{name: fold_vectors_source(extra_overlays[name], base, unlabelled_files)
                       for name in fold_vectors_for}},
        "fold_vectors": vector_records,
        "created": utc_now(),
        "environment": environment_info(),
        "summary": summarise(runs, fold_records),
        "runs": runs,
    }
    save_results(output_dir, results, results_markdown(results))


if __name__ == "__main__":
    typer.run(main)
