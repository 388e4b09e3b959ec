"""Prepare the unlabelled text for the steps that learn from it (train-vectors,
pretrain): the user's raw text without the sentences that repeat dev or test.

Reads: UNLABELLED (a .txt or .jsonl file, one text a line or record, optionally
.gz, .bz2 or .xz, or a folder of them; a folder without any is fine) and CORPUS_DIR/dev.spacy
and test.spacy.
Writes: OUTPUT (gzip, one text a line: each input text without its sentences,
as spaCy's sentencizer for LANG splits them, that leak a held-out sentence
exactly or nearly; see lib/held_out.py for the measure) and REPORT (JSON: texts,
sentences and words read and kept; sentences removed by kind and by split, the
distinctive ones apart from short formulae, with the first examples of each; the
MD5 and size of every input, of the held-out splits and of OUTPUT).
Streams: memory holds the held-out splits, never the unlabelled text.
"""

import gzip
import io
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

import spacy
import srsly
import typer
from tqdm import tqdm
from wasabi import msg

from .lib.annotation import LEGACY_ENCODING_HELP, input_files, read_documents
from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_outputs, checksum
from .lib.held_out import NEAR_JACCARD, NEAR_MIN_WORDS, HeldOutIndex, is_formula

HELD_OUT = ("dev", "test")
EXAMPLES = 10


def write_without_held_out(files: List[Path], corpora: Dict[str, Path], output: Path, report_path: Path,
                           lang: str, legacy_encoding: str) -> Dict[str, Any]:
    """Write the texts of `files` to OUTPUT without their sentences that leak a
    sentence of `corpora` (split name -> DocBin), and REPORT on what was read,
    kept and removed; both atomically. Returns the report."""
    index = HeldOutIndex.from_corpora(corpora)
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    read, kept, removed = Counter(), Counter(), Counter()
    examples: List[Dict[str, Any]] = []
    formulae: Counter = Counter()  # short exact matches: bounded by the held-out sentences
    with atomic_outputs(output, report_path) as (text_tmp, report_tmp):
        # No name or timestamp in the gzip header: the same text gives the same file.
        with text_tmp.open("wb") as file_, gzip.GzipFile("", "wb", fileobj=file_, mtime=0) as raw, \
                io.TextIOWrapper(raw, encoding="utf8") as out:
            for file in files:
                documents = read_documents(file, per_line=True, max_length=nlp.max_length, skipped=[],
                                           on_bad_input="stop", name=file.name, legacy_encoding=legacy_encoding)
                texts = (document.text for document in documents)
                for doc in tqdm(nlp.pipe(texts, batch_size=256), desc=f"Reading {file.name}", unit=" texts"):
                    read["texts"] += 1
                    sentences = []
                    for sentence in doc.sents:
                        words = sum(not token.is_space for token in sentence)
                        read["sentences"] += 1
                        read["words"] += words
                        leak = index.match(sentence.text)
                        if leak is None:
                            sentences.append(sentence.text.strip())
                            kept["sentences"] += 1
                            kept["words"] += words
                            continue
                        kind, split, held_out, similarity = leak
                        removed[kind] += 1
                        removed[f"{kind} {split}"] += 1
                        if kind == "exact" and is_formula(held_out):
                            formulae[held_out] += 1
                        elif len(examples) < EXAMPLES:
                            examples.append({"file": file.name, "text": read["texts"], "kind": kind,
                                             "split": split, "similarity": similarity,
                                             "sentence": sentence.text.strip(), "held_out": held_out})
                    if any(sentences):
                        out.write(" ".join(s for s in sentences if s) + "\n")
                        kept["texts"] += 1
        report = {
            "inputs": [{"path": file.as_posix(), **checksum(file)} for file in files],
            "output": {"path": output.as_posix(), **checksum(text_tmp)},
            "held_out": {split: {"path": path.as_posix(), **checksum(path)} for split, path in corpora.items()},
            "measure": {"normalisation": "case, punctuation and spacing folded",
                        "exact": "the same normalised sentence",
                        "near": f"Jaccard similarity of the sets of words >= {NEAR_JACCARD} "
                                f"(sentences of {NEAR_MIN_WORDS} words or more sharing two word bigrams)",
                        "formulae": f"exact matches of under {NEAR_MIN_WORDS} words: removed, but counted "
                                    "apart from the distinctive ones (shared formulae, not leaked content)"},
            "read": dict(read), "kept": dict(kept),
            "removed": {"exact": removed["exact"], "near": removed["near"],
                        "by_split": {split: removed[f"exact {split}"] + removed[f"near {split}"]
                                     for split in corpora},
                        "distinctive": removed["exact"] + removed["near"] - sum(formulae.values()),
                        "formulae": sum(formulae.values())},
            "examples": examples,
            "formulae": [{"sentence": sentence, "removed": count}
                         for sentence, count in formulae.most_common(EXAMPLES)],
        }
        srsly.write_json(report_tmp, report)
    return report


@exit_on_user_error
def main(
    # fmt: off
    unlabelled: Path = typer.Argument(..., help="Unlabelled text: a .txt/.jsonl file (one text a line) or a folder of them"),
    corpus_dir: Path = typer.Argument(..., help="Folder with dev.spacy and test.spacy"),
    output: Path = typer.Argument(..., help="The text to learn from (.txt.gz)"),
    report_path: Path = typer.Argument(..., help="What was read, kept and removed (JSON)"),
    lang: str = typer.Option(..., help="spaCy language code (its sentencizer splits the texts)"),
    legacy_encoding: str = typer.Option(..., help=LEGACY_ENCODING_HELP),
    # fmt: on
) -> None:
    corpora = {split: corpus_dir / f"{split}.spacy" for split in HELD_OUT}
    for path in corpora.values():
        if not path.is_file():
            raise UserError("corpus not found (run the 'preprocess' step first)", path)
    files = input_files(unlabelled, purpose="of unlabelled text", allow_none=True)
    report = write_without_held_out(files, corpora, output, report_path, lang, legacy_encoding)
    # Counters: a file without any text reads and keeps nothing, not a missing key.
    removed, read, kept = report["removed"], Counter(report["read"]), Counter(report["kept"])
    gone = removed["exact"] + removed["near"]
    if gone:
        msg.warn(f"Removed {gone:,} sentence(s) that repeat dev or test ({removed['exact']:,} exact, "
                 f"{removed['near']:,} near); {removed['distinctive']:,} of them distinctive, "
                 f"the rest formulae of under {NEAR_MIN_WORDS} words; examples in {report_path}")
    msg.good(f"Kept {kept['words']:,} of {read['words']:,} words ({kept['texts']:,} texts) in {output}")


if __name__ == "__main__":
    typer.run(main)
