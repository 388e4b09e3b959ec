"""Clean and split one dataset's annotated files into spaCy training corpora.

Reads: every data file in the dataset folder, e.g. assets/sample/ (JSONL,
Prodigy, doccano, Label Studio, CoNLL, spaCy DocBin or v2 JSON; see
scripts/readers.py). Files named train.*, dev.* and test.* are pre-split and kept
as given (a missing dev or test split is carved from train); other files are
pooled and split by a seeded hash of each document, or of each text when records
carry no `doc_id`.
Sentences of one document (CoNLL) are joined into Docs of up to N sentences.
Writes: OUTPUT_DIR/{train,dev,test}.spacy (DocBin) and OUTPUT_DIR/data_report.json
with counts per split and label, a conversion report per input file, every
dropped or fixed record with its file, line and reason, and texts shared between
splits (leakage). All four files are
replaced together, and only when the whole step succeeds.
"""

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Tuple

import spacy
import srsly
import typer
from spacy.tokens import Doc, DocBin
from wasabi import msg

from .cleaning import SPLITS, Cleaner, Problem, convert_records, corpus_stats, drop_duplicates
from .cleaning import find_leakage, join_sentences, parse_labels, split_by_hash, summarise_problems
from .readers import FORMATS, SUPPORTED_SUFFIXES, TAG_SCHEMES, ReadOptions, Record, detect_format
from .readers import read_records
from .util import UserError, atomic_outputs, exit_on_user_error, md5_file

DEDUPE_SCOPES = ("all", "train", "none")
SPLIT_ALIASES = {"train": "train", "dev": "dev", "valid": "dev", "validation": "dev", "test": "test"}


def discover(input_dir: Path) -> Tuple[Dict[str, List[Path]], List[Path]]:
    """Data files by split name ("train", "dev", "test"), and unsplit files."""
    if not input_dir.is_dir():
        raise UserError("dataset folder not found (run the 'fetch' step, or check the "
                        "'dataset' var)", input_dir)
    named: Dict[str, List[Path]] = {}
    pooled: List[Path] = []
    for path in sorted(input_dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        split = SPLIT_ALIASES.get(path.stem.lower())
        if split:
            named.setdefault(split, []).append(path)
        else:
            pooled.append(path)
    if not named and not pooled:
        raise UserError(f"no data files ({', '.join(SUPPORTED_SUFFIXES)}) in the dataset folder",
                        input_dir)
    if named and pooled:
        raise UserError(f"mixes split files ({', '.join(p.name for ps in named.values() for p in ps)}) "
                        f"with unsplit files ({', '.join(p.name for p in pooled)}); name every "
                        "file train/dev/test, or none", input_dir)
    if named and "train" not in named:
        raise UserError("pre-split data needs a train.* file", input_dir)
    return named, pooled


Pairs = List[Tuple[Record, Doc]]


def read_and_clean(files: Dict[str, List[Path]], options: ReadOptions, cleaner: Cleaner,
                   dedupe: str) -> Tuple[Dict[str, Pairs], List[Dict[str, Any]]]:
    """Records of each split (or of the "pool" of unsplit files) as cleaned Docs,
    and a description of each source file."""
    pairs_by_split: Dict[str, Pairs] = {}
    sources = []
    for split, paths in files.items():
        pairs: Pairs = []
        for path in paths:
            # Detect the format once: the report names it, and the reader need not sniff again.
            fmt = detect_format(path) if options.format == "auto" else options.format
            records = read_records(path, replace(options, format=fmt))
            pairs.extend(convert_records(records, cleaner, desc=f"Converting {path.name}"))
            sources.append({"path": str(path), "md5": md5_file(path), "split": split, "format": fmt,
                            "records": len(records),
                            "entities": sum(len(r.entities) for r in records)})
        # Unsplit data is deduplicated before splitting, so "train" covers the pool too.
        in_scope = dedupe == "all" or (dedupe == "train" and split in ("train", "pool"))
        pairs_by_split[split] = drop_duplicates(pairs, cleaner.problems) if in_scope else pairs
    return pairs_by_split, sources


def complete_splits(pairs_by_split: Dict[str, Pairs], seed: int,
                    ratios: Dict[str, float]) -> Dict[str, str]:
    """Carve missing dev/test splits from train (pre-split data) or from the pool;
    return how each split was made."""
    missing = {split: ratio for split, ratio in ratios.items() if split not in pairs_by_split}
    method = {split: "given" for split in pairs_by_split if split != "pool"}
    if missing:
        base = "pool" if "pool" in pairs_by_split else "train"
        pairs_by_split.update(split_by_hash(pairs_by_split.pop(base), seed, missing))
        for split, ratio in missing.items():
            method[split] = f"{ratio:g} of {base} by seeded hash (seed {seed})"
        if base == "pool":
            method["train"] = f"rest of pool (seed {seed})"
    return method


@exit_on_user_error
def main(
    # fmt: off
    input_dir: Path = typer.Argument(..., help="Dataset folder, e.g. assets/sample"),
    output_dir: Path = typer.Argument(..., help="Where to write the corpora and report"),
    lang: str = typer.Option("pt", help="spaCy language code for tokenization"),
    labels: str = typer.Option("", help="Comma-separated labels to keep; empty keeps all"),
    on_problem: str = typer.Option("drop", help="Misaligned/overlapping spans, unknown labels: drop, fix or fail"),
    seed: int = typer.Option(0, help="Seed of the split"),
    dev_ratio: float = typer.Option(0.15, help="Share of unsplit data for dev"),
    test_ratio: float = typer.Option(0.15, help="Share of unsplit data for test"),
    data_format: str = typer.Option("auto", "--format", help=f"Input format: {', '.join(FORMATS)}"),
    tag_column: int = typer.Option(-1, help="CoNLL column holding the tag (0-based; -1: last)"),
    tag_scheme: str = typer.Option("auto", help=f"CoNLL tag scheme: {', '.join(TAG_SCHEMES)} (auto is lenient)"),
    n_sents: int = typer.Option(10, help="Join up to N sentences of one document into a Doc"),
    dedupe: str = typer.Option("all", help="Drop repeated texts in: all splits, train only, or none"),
    # fmt: on
) -> None:
    if dedupe not in DEDUPE_SCOPES:
        raise UserError(f"dedupe must be one of {', '.join(DEDUPE_SCOPES)}, got {dedupe!r}")
    read_options = ReadOptions(data_format, tag_column, tag_scheme)
    named, pooled = discover(input_dir)
    try:
        nlp = spacy.blank(lang)
    except ImportError as err:
        raise UserError(f"spaCy has no language '{lang}' ({err}); check the 'lang' var") from None
    cleaner = Cleaner(nlp, parse_labels(labels), on_problem)
    pairs_by_split, sources = read_and_clean(named or {"pool": pooled}, read_options, cleaner, dedupe)
    split_method = complete_splits(pairs_by_split, seed, {"dev": dev_ratio, "test": test_ratio})
    for split in SPLITS:
        if not pairs_by_split.get(split):
            raise UserError(f"the {split} split is empty after cleaning; add data or change "
                            "dev_ratio/test_ratio", input_dir)

    docs_by_split = {s: join_sentences(pairs_by_split[s], n_sents) for s in SPLITS}
    add_file_reports(sources, pairs_by_split, cleaner.problems)
    leakage = find_leakage({s: [r for r, _ in pairs_by_split[s]] for s in SPLITS})
    problems = cleaner.problems
    report = {
        "dataset_dir": str(input_dir),
        "lang": lang,
        "labels": sorted(parse_labels(labels) or []) or None,
        "on_problem": on_problem,
        "seed": seed,
        "ratios": {"dev": dev_ratio, "test": test_ratio},
        "sources": sources,
        "n_sents": n_sents,
        "dedupe": dedupe,
        "records": {"read": sum(s["records"] for s in sources),
                    "kept": sum(len(p) for p in pairs_by_split.values())},
        "entities": {"read": sum(s["entities"] for s in sources),
                     "kept": sum(len(doc.ents) for d in docs_by_split.values() for doc in d)},
        "problem_counts": summarise_problems(problems),
        "split_method": split_method,
        "splits": {s: corpus_stats(docs_by_split[s], len(pairs_by_split[s])) for s in SPLITS},
        "leakage": leakage,
        "problems": [p.as_dict() for p in problems],
    }
    outputs = [output_dir / f"{s}.spacy" for s in SPLITS] + [output_dir / "data_report.json"]
    with atomic_outputs(*outputs) as temps:
        for split, tmp in zip(SPLITS, temps):
            DocBin(docs=docs_by_split[split], store_user_data=True).to_disk(tmp)
        srsly.write_json(temps[-1], report)
    _print_summary(report, output_dir)


def add_file_reports(sources: List[Dict[str, Any]], pairs_by_split: Dict[str, Pairs],
                     problems: List[Problem]) -> None:
    """Per input file: records and entities kept, and problems by action and kind."""
    kept = Counter(record.source for pairs in pairs_by_split.values() for record, _ in pairs)
    kept_ents = Counter()
    for pairs in pairs_by_split.values():
        for record, doc in pairs:
            kept_ents[record.source] += len(doc.ents)
    for source in sources:
        own = [p for p in problems if p.file == source["path"]]
        source.update({
            "records_kept": kept[source["path"]],
            "entities_kept": kept_ents[source["path"]],
            "problems": summarise_problems(own),
        })


def _print_summary(report: dict, output_dir: Path) -> None:
    msg.divider("Data report")
    rows = [(s, v["docs"], v["sentences"], v["tokens"], v["entities"],
             ", ".join(f"{k} {n}" for k, n in v["labels"].items()))
            for s, v in report["splits"].items()]
    msg.table(rows, header=("split", "docs", "sentences", "tokens", "entities", "labels"), divider=True)
    msg.table([(Path(s["path"]).name, s["format"], s["records"], s["records_kept"], s["entities"],
                s["entities_kept"]) for s in report["sources"]],
              header=("file", "format", "records", "kept", "entities", "kept"), divider=True)
    records, entities = report["records"], report["entities"]
    msg.info(f"Records: {records['read']} read, {records['kept']} kept; entities: "
             f"{entities['read']} read, {entities['kept']} kept")
    for action, counts in report["problem_counts"].items():
        msg.warn(f"{action}: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
    for pair, counts in report["leakage"]["pairs"].items():
        if counts["normalised"]:
            msg.warn(f"Leakage {pair}: {counts['exact']} identical texts, "
                     f"{counts['normalised']} after folding case and punctuation")
    msg.good(f"Saved corpora and data_report.json to {output_dir}")


if __name__ == "__main__":
    typer.run(main)
