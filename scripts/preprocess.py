"""Clean and split one dataset's annotated files into spaCy training corpora.

Reads: every file in the dataset folder, e.g. assets/sample/ (JSONL, Prodigy,
doccano, Label Studio, CoNLL, spaCy's iob, CSV, brat, spaCy DocBin or v2 JSON,
each optionally .gz, .bz2 or .xz; see scripts/lib/readers.py), and the fetch
step's manifest of that folder, which must still match it. A file is read, or
listed with the reason it was not and the var that would read it. Files named train.*, dev.* and test.* are pre-split: dev and
test are kept as given (a missing one is carved from train); other files are
pooled and split by a seeded hash of each document, or of each text when records
carry no `doc_id`. Sentences of one document (CoNLL) are joined into Docs of up
to N sentences.
Writes: OUTPUT_DIR/{train,dev,test}.spacy (DocBin) and OUTPUT_DIR/data_report.json
with counts and labels per split, a conversion report per input file, the files
not read, every dropped, fixed or repaired record with its file, line and reason,
label warnings and texts shared between splits (leakage). All four files are
replaced together, and only when the whole step succeeds; a step that fails
after reading writes OUTPUT_DIR/data_report.failed.json instead.
Records stream through: memory grows with the corpora being written, not with
the input.
"""

import fnmatch
import hashlib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import spacy
import srsly
import typer
from spacy.tokens import Doc, DocBin
from srsly import msgpack
from tqdm import tqdm
from wasabi import msg

from .lib.cleaning import (
    LABELS_KEY,
    READ_OPTIONS_KEY,
    SPLITS,
    Cleaner,
    Deduper,
    LeakageIndex,
    SentenceJoiner,
    SplitStats,
    TokenizedDoc,
    check_ratios,
    hash_split,
    label_warnings,
    parse_labels,
    summarise_problems,
)
from .lib.entities import with_entity_spans
from .lib.errors import UserError, check_plain_path, exit_on_user_error
from .lib.files import atomic_outputs, md5_file, md5_path, write_json
from .lib.readers import (
    BRAT_SUFFIX,
    BRAT_TEXT_SUFFIX,
    COMPRESSED,
    FORMATS,
    SUPPORTED_SUFFIXES,
    TAG_SCHEMES,
    FileStats,
    ReadOptions,
    Record,
    check_options,
    data_suffix,
    detect_format,
    guess_format,
    is_brat_text,
    iter_records,
)

DEDUPE_SCOPES = ("auto", "all", "train", "none")
# Words in a file name that mark its split; testa/testb are CoNLL-2002/2003's dev and test.
SPLIT_ALIASES = {"train": "train", "training": "train", "dev": "dev", "valid": "dev",
                 "validation": "dev", "testa": "dev", "test": "test", "testb": "test"}
# Archives of several files; a file compressed on its own (x.conll.bz2) is read as its content.
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tbz2", ".txz", ".7z", ".rar", ".tar.gz", ".tar.bz2", ".tar.xz")
DOC_PREFIXES = ("readme", "license", "licence", "copying", "source", "citation", "changelog")
DOC_SUFFIXES = (".md", ".pdf", ".html", ".rst")
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
# Hugging Face datasets as save_to_disk and the Hub store them: Arrow or Parquet
# tables beside JSON metadata, none of it records.
HF_TABLE_SUFFIXES = (".arrow", ".parquet")
HF_METADATA = ("dataset_dict.json", "dataset_info.json", "state.json")
HF_READ_WITH = ("write each split as JSON lines, e.g. dataset['train'].to_json('train.jsonl'): the tokens format "
                "(numeric tags need the tag_names var)")
# Formats whose files look alike to guess_format: a file with an unknown suffix
# is read under an explicit format only if it looks like that format's family.
FORMAT_FAMILIES = {"conll": "conll", "iob": "conll", "jsonl": "jsonl", "tokens": "jsonl", "prodigy": "jsonl",
                   "doccano": "jsonl", "label_studio": "json", "spacy_json": "json", "spacy": "spacy", "brat": "brat",
                   "csv": "csv"}
# How many repairs and warnings the console shows before "... and N more".
SHOWN = 5


@dataclass
class Inventory:
    """The dataset folder's files: pre-split by name, pooled, and not read (with why)."""

    named: Dict[str, List[Path]] = field(default_factory=dict)
    pooled: List[Path] = field(default_factory=list)
    ignored: List[Dict[str, str]] = field(default_factory=list)
    # MD5 of files already checksummed (against the fetch manifest), by posix path.
    md5s: Dict[str, str] = field(default_factory=dict)


def parse_split_files(value: str) -> Dict[str, List[str]]:
    """The split_files var: "train=*train*,dev=dev_*.conll" -> {split: [globs]}."""
    patterns: Dict[str, List[str]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        split, _, glob = (part.strip() for part in item.partition("="))
        if split not in SPLITS or not glob:
            raise UserError(f"split_files: {item!r} is not SPLIT=PATTERN with SPLIT one of "
                            f"{', '.join(SPLITS)} (e.g. 'train=*train*,dev=*dev*,test=*test*')")
        patterns.setdefault(split, []).append(glob)
    return patterns


def discover(input_dir: Path, data_format: str = "auto",
             patterns: Optional[Dict[str, List[str]]] = None) -> Inventory:
    """Sort every entry of the dataset folder into read (by split) or not read."""
    if not input_dir.is_dir():
        raise UserError("dataset folder not found (run the 'fetch' step, or check the "
                        "'dataset' var)", input_dir)
    inventory = Inventory()
    for path in sorted(input_dir.iterdir()):
        if is_brat_text(path):
            continue  # read through the .ann file of the same name
        reason = _not_read_because(path, data_format)
        split = split_of(path, patterns)
        if reason and split and not path.name.startswith("."):
            # Never carve a test split from train because test.* could not be read.
            raise UserError(f"named like the {split} split but not read: {reason['reason']}"
                            + (f"; {reason['read_with']}" if reason.get("read_with") else ""), path)
        if reason:
            inventory.ignored.append({"path": str(path), **reason})
            continue
        if path.is_dir():
            inventory.ignored += _not_brat_documents(path)
        if split:
            inventory.named.setdefault(split, []).append(path)
        else:
            inventory.pooled.append(path)
    named, pooled = inventory.named, inventory.pooled
    if not named and not pooled:
        raise UserError(f"no data files ({', '.join(SUPPORTED_SUFFIXES)}, {COMPRESSED}) in the "
                        "dataset folder" + _ignored_summary(inventory), input_dir)
    if pooled and set(named) - {"train"}:
        raise UserError(f"mixes split files ({', '.join(p.name for ps in named.values() for p in ps)}) "
                        f"with unsplit files ({', '.join(p.name for p in pooled)}); name every "
                        "file train/dev/test, or none, or only files to add to train (e.g. corrected "
                        "review batches, review-1.train.jsonl)", input_dir)
    if named and "train" not in named:
        raise UserError("pre-split data needs a train.* file", input_dir)
    return inventory


def split_of(path: Path, patterns: Optional[Dict[str, List[str]]] = None) -> Optional[str]:
    """The split of a file: from the `split_files` patterns it matches, else from
    the words of its name (train.conll, lener_dev.tsv, esp.testa.gz, and runs of
    letters between digits, wnut17train.conll), if any."""
    matched = {split for split, globs in (patterns or {}).items()
               if any(fnmatch.fnmatch(path.name, glob) for glob in globs)}
    if len(matched) > 1:
        raise UserError(f"the file matches the split_files patterns of {', '.join(sorted(matched))}; "
                        "make them match one split each", path)
    if matched:
        return matched.pop()
    words = re.findall(r"[a-z]+", path.name.lower().removesuffix(".gz"))
    found = {SPLIT_ALIASES[word] for word in words if word in SPLIT_ALIASES}
    if len(found) > 1:
        raise UserError(f"the file name names several splits ({', '.join(sorted(found))}); "
                        "rename it", path)
    return found.pop() if found else None


def _not_read_because(path: Path, data_format: str) -> Optional[Dict[str, str]]:
    """Why a folder entry is not read, and what would read it; None if it is read."""
    name = path.name.lower()
    if name.startswith("."):
        return {"reason": "hidden file"}
    if path.is_dir():
        if data_format in ("auto", "brat") and any(path.rglob(f"*{BRAT_SUFFIX}")):
            return None  # a brat collection, named like a split or pooled
        if any((path / metadata).is_file() for metadata in HF_METADATA):
            return {"reason": "a Hugging Face dataset folder (save_to_disk's Arrow tables)", "read_with": HF_READ_WITH}
        return {"reason": "folder (only files directly in the dataset folder, and folders of brat "
                          f"{BRAT_SUFFIX}/{BRAT_TEXT_SUFFIX} pairs, are read)",
                "read_with": "move its files up into the dataset folder"}
    if name.endswith(ARCHIVE_SUFFIXES):
        return {"reason": "archive", "read_with": "extract it into the dataset folder"}
    if name.startswith(DOC_PREFIXES) or name.endswith(DOC_SUFFIXES):
        return {"reason": "documentation"}
    if name.endswith(HF_TABLE_SUFFIXES) or name in HF_METADATA:
        return {"reason": "a Hugging Face dataset's " + ("metadata" if name in HF_METADATA else "table"),
                "read_with": HF_READ_WITH}
    if name.endswith(SPREADSHEET_SUFFIXES):
        return {"reason": "spreadsheet", "read_with": "save it as CSV: a table of one token a row with a header "
                                                      "naming the token and tag columns is read (format csv)"}
    if data_suffix(path) in SUPPORTED_SUFFIXES:
        return None
    guess = guess_format(path)
    if data_format != "auto":
        if guess is not None and FORMAT_FAMILIES.get(guess) == FORMAT_FAMILIES[data_format]:
            return None
        return {"reason": f"unknown file type '{data_suffix(path) or 'no extension'}' that does not "
                          f"look like {data_format}" + (f" (it looks like {guess})" if guess else ""),
                "read_with": f"give it a {data_format} file suffix to read it anyway"}
    return {"reason": f"unknown file type '{data_suffix(path) or 'no extension'}'",
            "read_with": (f"looks like {guess}: set the 'format' var to {guess} to read it"
                          if guess else "set the 'format' var to read it")}


def _not_brat_documents(folder: Path) -> List[Dict[str, str]]:
    """The files of a brat folder that are neither an annotation file nor its text,
    listed as not read (brat's own .conf files among them)."""
    return [{"path": str(path), "reason": f"in a brat folder, neither a {BRAT_SUFFIX} file nor the "
                                          f"{BRAT_TEXT_SUFFIX} of one (brat's .conf files configure its editor)"}
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix.lower() != BRAT_SUFFIX and not is_brat_text(path)]


def _ignored_summary(inventory: Inventory) -> str:
    if not inventory.ignored:
        return ""
    shown, said = [], set()
    for item in inventory.ignored[:SHOWN]:
        read_with = item.get("read_with")
        shown.append(f"{Path(item['path']).name}: {item['reason']}" + (f", {read_with}" if read_with not in said
                                                                        and read_with else ""))
        said.add(read_with)
    return " (not read: " + "; ".join(shown) + ")"


def check_manifest(manifest: Path, input_dir: Path) -> Dict[str, str]:
    """Stop if the dataset folder no longer matches the fetch step's manifest:
    weasel tracks that file, so a stale one would let an added, removed or
    renamed file go unnoticed. Return the MD5 of each file, now checked."""
    if not manifest.is_file():
        raise UserError("manifest not found (run the 'fetch' step first)", manifest)
    listed = {entry["dest"]: entry["md5"] for entry in srsly.read_json(manifest)["files"]}
    present = {p.as_posix() for p in input_dir.rglob("*")
               if p.is_file() and not p.name.startswith(".")}
    added, removed = sorted(present - set(listed)), sorted(set(listed) - present)
    changed = sorted(p for p in present & set(listed) if md5_file(p) != listed[p])
    if added or removed or changed:
        parts = [f"{what}: {', '.join(Path(p).relative_to(input_dir).as_posix() for p in paths[:SHOWN])}"
                 for what, paths in (("added", added), ("removed", removed), ("changed", changed))
                 if paths]
        raise UserError(f"the dataset folder changed since the 'fetch' step ({'; '.join(parts)}); "
                        "run `weasel run fetch` or `weasel run all` so the change is tracked",
                        input_dir)
    return listed


class ProvenanceDocBin(DocBin):
    """A DocBin of the corpus's attributes that stores each Doc's user_data (its
    provenance) with one reused msgpack Packer: `DocBin.add` builds a new Packer
    per Doc through srsly, which looks up its encoders every time and costs more
    than the Doc itself."""

    def __init__(self) -> None:
        # Only what the corpus holds (ORTH and SPACY are always stored): the
        # default 13 attributes would triple the memory of writing a big split.
        super().__init__(attrs=["ENT_IOB", "ENT_TYPE", "SENT_START"], store_user_data=True)
        self._packer = msgpack.Packer(use_bin_type=True)

    def add(self, doc: Doc) -> None:
        self.store_user_data = False
        try:
            super().add(doc)
        finally:
            self.store_user_data = True
        self.user_data.append(self._packer.pack(doc.user_data))


@dataclass
class SplitWriter:
    """One split's corpus as records stream in: sentences joined, Docs added to a
    DocBin, counts kept."""

    n_sents: int
    docbin: DocBin = field(default_factory=ProvenanceDocBin)
    stats: SplitStats = field(default_factory=SplitStats)

    def __post_init__(self) -> None:
        self.joiner = SentenceJoiner(self.n_sents)

    def add(self, record: Record, doc: Union[Doc, TokenizedDoc]) -> None:
        self.stats.sentences += 1
        for done in self.joiner.add(record, doc):
            self._write(done)

    def close(self) -> None:
        for done in self.joiner.flush():
            self._write(done)

    def _write(self, doc: Doc) -> None:
        self.stats.add(doc)
        self.docbin.add(with_entity_spans(doc))


@dataclass
class Settings:
    """How preprocess reads, cleans and splits, as the report records it."""

    lang: str
    labels: str
    on_problem: str
    seed: int
    ratios: Dict[str, float]
    read_options: ReadOptions
    n_sents: int
    dedupe: str
    min_label_count: int


def build_corpora(input_dir: Path, inventory: Inventory, settings: Settings, cleaner: Cleaner
                  ) -> Tuple[Dict[str, SplitWriter], Dict[str, Any]]:
    """Stream every record of the inventory into split writers; return them and
    the report (everything but file output)."""
    # Unsplit files are split by ratio; files named train beside them (added
    # training data, e.g. corrected review batches) go to train only.
    base = "pool" if inventory.pooled else "train"
    files = {"pool": inventory.pooled, **inventory.named} if inventory.pooled else inventory.named
    carve = {s: r for s, r in settings.ratios.items() if s not in files}
    if carve:
        check_ratios(carve)
    writers = {split: SplitWriter(settings.n_sents) for split in SPLITS}
    leakage = LeakageIndex(SPLITS)
    sources: List[Dict[str, Any]] = []
    kept_duplicates: Dict[str, int] = {}
    pool_deduper: Optional[Deduper] = None
    for group, paths in files.items():
        # "auto": published dev/test splits keep their duplicates (reported);
        # train and unsplit data drop them. Added train files share the pool's:
        # a record they repeat, of the pool or of an earlier batch, is dropped.
        drop = {"all": True, "none": False, "train": group in ("train", "pool"),
                "auto": group in ("train", "pool")}[settings.dedupe]
        if group == "train" and pool_deduper is not None:
            deduper = pool_deduper
        else:
            deduper = Deduper(cleaner.problems, drop=drop)
        if group == "pool":
            pool_deduper = deduper
        kept_before = deduper.kept_duplicates
        for path in paths:
            source = _read_file(path, group, settings, cleaner, deduper, writers, leakage,
                                carve if group == base else {})
            sources.append({"path": str(path), "md5": source_md5(path, inventory.md5s), **source})
        kept_duplicates[group] = deduper.kept_duplicates - kept_before
    for writer in writers.values():
        writer.close()
    method = {s: "given" for s in files if s != "pool"}
    for split, ratio in carve.items():
        method[split] = f"{ratio:g} of {base} by seeded hash (seed {settings.seed})"
    if base == "pool":
        method["train"] = f"rest of pool (seed {settings.seed})" + (
            f", plus {', '.join(p.name for p in inventory.named['train'])}" if inventory.named else "")
    problems = cleaner.problems
    split_labels = {s: writers[s].stats.labels for s in SPLITS}
    report = {
        "dataset_dir": str(input_dir),
        "lang": settings.lang,
        LABELS_KEY: cleaner.labels.as_dict() if cleaner.labels else None,
        "renamed_labels": {f"{old}={new}": n for (old, new), n in sorted(cleaner.renamed.items())},
        "on_problem": settings.on_problem,
        "seed": settings.seed,
        "ratios": settings.ratios,
        "n_sents": settings.n_sents,
        "dedupe": settings.dedupe,
        # How the files were read: monitor reads an annotated sample of new text so too.
        READ_OPTIONS_KEY: asdict(settings.read_options),
        "min_label_count": settings.min_label_count,
        "sources": sources,
        "not_read": inventory.ignored,
        "records": {"read": sum(s["records"] for s in sources),
                    "kept": sum(s["records_kept"] for s in sources)},
        "entities": {"read": sum(s["entities"] for s in sources),
                     "kept": sum(writers[s].stats.as_dict()["entities"] for s in SPLITS)},
        "problem_counts": summarise_problems(problems),
        "duplicates_kept": {k: v for k, v in kept_duplicates.items() if v},
        "split_method": method,
        "splits": {s: writers[s].stats.as_dict() for s in SPLITS},
        "label_warnings": label_warnings(split_labels, settings.min_label_count),
        # spaCy's tokenizer never makes a token with a space: these cannot be predicted.
        "labels_with_spaces": sorted({label for labels in split_labels.values() for label in labels
                                      if any(char.isspace() for char in label)}),
        "leakage": leakage.result(),
        "problems": [p.as_dict() for p in problems],
    }
    return writers, report


def source_md5(path: Path, checked: Dict[str, str]) -> str:
    """MD5 of what one input holds: a file; a brat folder's files, or a brat `.ann`
    file with its text (their MD5s in order). `checked`: MD5s the manifest check made."""
    if path.is_dir():
        return md5_path(path)
    files = [path] + ([path.with_suffix(BRAT_TEXT_SUFFIX)] if data_suffix(path) == BRAT_SUFFIX else [])
    md5s = [checked.get(file.as_posix()) or md5_file(file) for file in files]
    return md5s[0] if len(md5s) == 1 else hashlib.md5("".join(md5s).encode("ascii")).hexdigest()


def _read_file(path: Path, group: str, settings: Settings, cleaner: Cleaner, deduper: Deduper,
               writers: Dict[str, SplitWriter], leakage: LeakageIndex,
               carve: Dict[str, float]) -> Dict[str, Any]:
    options = settings.read_options
    # Detect the format once: the report names it, and the reader need not sniff again.
    fmt = detect_format(path, options.legacy_encoding) if options.format == "auto" else options.format
    stats = FileStats()
    records = entities = kept = kept_entities = 0
    for record in tqdm(iter_records(path, replace(options, format=fmt), stats),
                       desc=f"Converting {path.name}", unit=" records", disable=None, leave=False):
        records += 1
        entities += len(record.entities)
        doc = cleaner.clean(record)
        if doc is None or not deduper.keep(record):
            continue
        split = group
        if carve:
            split = hash_split(record, settings.seed, carve)
        writers[split].add(record, doc)
        leakage.add(split, record)
        kept += 1
        kept_entities += len(doc.ents)
    own = [p for p in cleaner.problems if p.file == str(path)]
    return {"split": group, "format": fmt,
            "tag_scheme": stats.tag_scheme, "records": records, "entities": entities,
            "records_kept": kept, "entities_kept": kept_entities,
            "encoding": stats.encoding, "removed_characters": dict(stats.removed_characters),
            "shared_token_prefix": stats.shared_prefix(), "stripped_prefix": stats.stripped_prefix,
            "comment_lines": stats.comment_lines,
            "token_id_column": bool(stats.token_id_column),
            "named_tag_ids": stats.named_tag_ids,
            "tokens_with_spaces": stats.spaced_tokens and {
                "count": stats.spaced_tokens, "first": dict(zip(("line", "token"), stats.first_spaced_token or ()))},
            "problems": summarise_problems(own)}


@exit_on_user_error
def main(
    # fmt: off
    input_dir: Path = typer.Argument(..., help="Dataset folder, e.g. assets/sample"),
    output_dir: Path = typer.Argument(..., help="Where to write the corpora and report"),
    manifest: Optional[Path] = typer.Option(None, help="The fetch step's manifest of the dataset folder, checked against it"),
    lang: str = typer.Option(..., help="spaCy language code for tokenization"),
    labels: str = typer.Option(..., help="Comma-separated labels to keep; empty keeps all"),
    on_problem: str = typer.Option(..., help="Misaligned/overlapping spans, unknown labels: drop, fix, mask or fail"),
    seed: int = typer.Option(..., help="Seed of the split"),
    dev_ratio: float = typer.Option(..., help="Share of unsplit data for dev"),
    test_ratio: float = typer.Option(..., help="Share of unsplit data for test"),
    data_format: str = typer.Option(..., "--format", help=f"Input format: {', '.join(FORMATS)}"),
    tag_column: int = typer.Option(..., help="CoNLL column holding the tag (0-based; -1: last)"),
    tag_scheme: str = typer.Option(..., help=f"CoNLL tag scheme: {', '.join(TAG_SCHEMES)} (auto infers it and repairs loudly)"),
    n_sents: int = typer.Option(..., help="Join up to N sentences of one document into a Doc"),
    dedupe: str = typer.Option(..., help="Drop repeated texts in: auto (train and unsplit data), all, train, none"),
    min_label_count: int = typer.Option(..., help="Warn about labels with fewer training entities"),
    split_files: str = typer.Option(..., help="SPLIT=PATTERN,... assigning files to splits by name (empty: the split words in file names)"),
    strip_prefix: str = typer.Option(..., help="CoNLL: remove this prefix from every token that starts with it (empty: none)"),
    legacy_encoding: str = typer.Option(..., help="Encoding of files that are not UTF-8 (e.g. latin-1); empty: they stop the step"),
    tag_names: str = typer.Option(..., help="tokens files: names of numeric tag ids, comma-separated in id order"),
    # fmt: on
) -> None:
    check_plain_path(input_dir, "dataset")
    check_plain_path(output_dir, "dataset")
    if dedupe not in DEDUPE_SCOPES:
        raise UserError(f"dedupe must be one of {', '.join(DEDUPE_SCOPES)}, got {dedupe!r}")
    read_options = ReadOptions(data_format, tag_column, tag_scheme, strip_prefix, legacy_encoding, tag_names)
    check_options(read_options)
    known_md5s = check_manifest(manifest, input_dir) if manifest is not None else {}
    inventory = discover(input_dir, data_format, parse_split_files(split_files))
    inventory.md5s = known_md5s
    try:
        spacy.util.get_lang_class(lang)
    except ImportError as err:
        raise UserError(f"spaCy has no language '{lang}' ({err}); check the 'lang' var") from None
    try:
        nlp = spacy.blank(lang)
    except ImportError as err:  # Japanese, Korean, Thai, Vietnamese: a tokenizer package
        raise UserError(f"spaCy's language '{lang}' needs a package that is not installed: {err}") from None
    settings = Settings(lang, labels, on_problem, seed, {"dev": dev_ratio, "test": test_ratio},
                        read_options, n_sents, dedupe, min_label_count)
    cleaner = Cleaner(nlp, parse_labels(labels), on_problem)
    writers, report = build_corpora(input_dir, inventory, settings, cleaner)
    empty = [split for split in SPLITS if not writers[split].stats.docs]
    if empty:
        failed = output_dir / "data_report.failed.json"
        write_json(failed, report)
        _print_summary(report)
        also = f" (so is {' and '.join(empty[1:])})" if len(empty) > 1 else ""
        raise UserError(f"the {empty[0]} split is empty after cleaning{also}"
                        f"{_top_drop_reasons(report)}; add data or change dev_ratio/test_ratio; "
                        f"the report is in {failed}", input_dir)
    outputs = [output_dir / f"{s}.spacy" for s in SPLITS] + [output_dir / "data_report.json"]
    with atomic_outputs(*outputs) as temps:
        for split, tmp in zip(SPLITS, temps):
            msg.text(f"Writing {split}.spacy ({writers[split].stats.docs:,} docs)")
            writers[split].docbin.to_disk(tmp)
            writers[split].docbin = DocBin()  # free it before serialising the next split
        srsly.write_json(temps[-1], report)
    (output_dir / "data_report.failed.json").unlink(missing_ok=True)
    _print_summary(report)
    msg.good(f"Saved corpora and data_report.json to {output_dir}")


def _top_drop_reasons(report: Dict[str, Any]) -> str:
    dropped = Counter(report["problem_counts"].get("dropped record", {}))
    if not dropped:
        return ""
    return " (records dropped: " + ", ".join(f"{kind} {n}" for kind, n in dropped.most_common(3)) + ")"


def _print_summary(report: Dict[str, Any]) -> None:
    msg.divider("Data report")
    rows = [(s, v["docs"], v["sentences"], v["tokens"], v["entities"],
             ", ".join(f"{k} {n}" for k, n in v["labels"].items()))
            for s, v in report["splits"].items()]
    msg.table(rows, header=("split", "docs", "sentences", "tokens", "entities", "labels"), divider=True)
    msg.table([(Path(s["path"]).name, s["format"] + (f" ({s['tag_scheme']})" if s["tag_scheme"] else ""),
                s["records"], s["records_kept"], s["entities"], s["entities_kept"])
               for s in report["sources"]],
              header=("file", "format", "records", "kept", "entities", "kept"), divider=True)
    records, entities = report["records"], report["entities"]
    msg.info(f"Records: {records['read']} read, {records['kept']} kept; entities: "
             f"{entities['read']} read, {entities['kept']} kept")
    if report["renamed_labels"]:
        msg.info("Labels renamed (labels var): "
                 + ", ".join(f"{rename} {n}" for rename, n in report["renamed_labels"].items()))
    for item in report["not_read"]:
        msg.warn(f"Not read: {item['path']}: {item['reason']}"
                 + (f" ({item['read_with']})" if item.get("read_with") else ""))
    for source in report["sources"]:
        if source["encoding"] != "UTF-8":
            declared = source["encoding"] == report[READ_OPTIONS_KEY]["legacy_encoding"]
            why = "the legacy_encoding var declares (it is not UTF-8)" if declared else "its byte-order mark announces"
            msg.info(f"Read {source['path']} as {source['encoding']}, which {why}")
        for char, n in source["removed_characters"].items():
            msg.warn(f"Removed {n} invisible character(s) {char} from {source['path']}")
        shared = source.get("shared_token_prefix")
        if shared:
            msg.warn(f"{source['path']}: {100 * shared['share']:.1f}% of the tokens start with "
                     f"{shared['prefix']!r} (a language tag?); set the strip_prefix var to "
                     f"{shared['prefix']!r} to remove it")
        if source.get("named_tag_ids"):
            msg.info(f"Named {source['named_tag_ids']:,} numeric tag(s) of {source['path']} by the tag_names var")
        if source.get("token_id_column"):
            msg.info(f"Read the tokens of {source['path']} from column 1: column 0 holds token ids (1, 2, ... "
                     "in each sentence)")
        if source.get("comment_lines"):
            msg.info(f"Passed over {source['comment_lines']:,} comment line(s) starting with '#' in {source['path']}")
        if source.get("stripped_prefix"):
            msg.info(f"Stripped the prefix from {source['stripped_prefix']:,} tokens of {source['path']}")
        spaced = source.get("tokens_with_spaces")
        if spaced:
            msg.warn(f"{source['path']}: {spaced['count']:,} token(s) contain whitespace, e.g. line "
                     f"{spaced['first']['line']}: {spaced['first']['token']!r}; spaCy's tokenizer never "
                     "produces such a token, so the model cannot predict it as one")
    if report.get("labels_with_spaces"):
        msg.warn(f"Labels containing whitespace: {', '.join(map(repr, report['labels_with_spaces']))}; "
                 "check the tag column and the export")
    for action, counts in report["problem_counts"].items():
        msg.warn(f"{action}: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
    repaired = [p for p in report["problems"] if p["action"] == "repaired input"]
    for problem in repaired[:SHOWN]:
        msg.text(f"  repaired {problem['file']}:{problem['line']}: {problem['reason']}")
    if len(repaired) > SHOWN:
        msg.text(f"  ... and {len(repaired) - SHOWN} more repairs (data_report.json 'problems')")
    for split, n in report["duplicates_kept"].items():
        msg.warn(f"{split}: {n} duplicate text(s) kept, as the split is kept as given "
                 "(dedupe 'auto'); set dedupe to 'all' to drop them")
    for warning in report["label_warnings"]:
        msg.warn(warning["message"])
    for pair, counts in report["leakage"]["pairs"].items():
        if counts["normalised"]:
            msg.warn(f"Leakage {pair}: {counts['exact']} identical texts, "
                     f"{counts['normalised']} after folding case and punctuation")


if __name__ == "__main__":
    typer.run(main)
