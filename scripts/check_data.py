"""Check the corpus against the training config with `spacy debug data`.

Reads: CONFIG (the generated training config) and CORPUS_DIR/{train,dev}.spacy.
Writes: REPORT, the text of `spacy debug data` (label counts, unseen labels,
entity boundary problems, ...), only when it finds no errors. On errors the
output is shown, nothing is written and the step exits with code 1. For a span
categorizer it also warns (in the output and the report) when entities are
longer than its suggester proposes (those it can never learn or predict). It
counts the tokens preprocess left without annotation (on_problem "mask"), which
debug data does not: a note for the NER, a warning for the span categorizer,
which learns them as no entity.
"""

import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import spacy
import typer
from confection import Config
from spacy.tokens import DocBin
from wasabi import msg

from .lib.entities import has_span_categorizer, masked_tokens, suggester_max_size, too_long_for_suggester
from .lib.errors import UserError, exit_on_user_error, strip_ansi
from .lib.files import write_text
from .lib.runs import step_env

FAIL_SUMMARY = re.compile(r"^\d+ errors?$")
# `python -m spacy debug data`, in a process that imports this package first, so
# that its corpora load with the cached msgpack lookups (lib/msgpack_lookups.py).
DEBUG_DATA = "import scripts, spacy.cli; spacy.cli.setup_cli()"


def corpus_checks(config_path: Path, paths: Dict[str, Path]) -> Tuple[List[str], List[str]]:
    """What this step adds to spaCy's debug data, as (notes, warnings): tokens the
    corpus leaves without annotation, and for a span categorizer, entities longer
    than its suggester proposes."""
    config = Config().from_disk(config_path)
    vocab = spacy.blank(config["nlp"]["lang"]).vocab
    docs = {path.name: list(DocBin().from_disk(path).get_docs(vocab)) for path in paths.values()}
    masked = masked_tokens(docs)
    unannotated = f'tokens left without annotation (on_problem "mask"): {masked}'
    if not has_span_categorizer(config):
        return ([f"{unannotated}; the NER is neither trained nor scored on them"] if masked else []), []
    max_size = suggester_max_size(config)
    warnings = [masked and (f"{unannotated}. The span categorizer cannot leave them out as the NER does, so it "
                            "learns them as no entity: drop those records instead (on_problem \"drop\") or train "
                            "the NER (architecture cnn)."),
                None if max_size is None else too_long_for_suggester(docs, max_size)]
    return [], [warning for warning in warnings if warning]


@exit_on_user_error
def main(
    # fmt: off
    config_path: Path = typer.Argument(..., help="Generated training config", exists=True, dir_okay=False),
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy and dev.spacy"),
    report: Path = typer.Argument(..., help="Where to save the debug data output"),
    # fmt: on
) -> None:
    paths = {split: corpus_dir / f"{split}.spacy" for split in ("train", "dev")}
    for path in paths.values():
        if not path.is_file():
            raise UserError("corpus not found (run the 'preprocess' step first)", path)
    command = [sys.executable, "-c", DEBUG_DATA, "debug", "data", str(config_path),
               "--paths.train", str(paths["train"]), "--paths.dev", str(paths["dev"])]
    env = {**step_env(), "ANSI_COLORS_DISABLED": "1"}  # plain text, but keep the ✔/⚠/✘ marks
    result = subprocess.run(command, capture_output=True, text=True, encoding="utf8", env=env)
    # Some of spaCy's output is coloured whatever the environment says: strip it.
    output = strip_ansi(result.stdout + result.stderr)
    print(output)
    if result.returncode != 0:
        errors = [line[2:].strip() for line in output.splitlines()
                  if line.startswith("\u2718") and not FAIL_SUMMARY.match(line[2:].strip())]
        raise UserError(f"spacy debug data found errors: {'; '.join(errors) or 'see its output above'}",
                        config_path)
    notes, warnings = corpus_checks(config_path, paths)
    for note in notes:
        msg.info(note)
        output += f"\n\u2139 {note}\n"
    for warning in warnings:
        msg.warn(warning)
        output += f"\n\u26a0 {warning}\n"
    write_text(report, output)
    msg.good(f"Data check passed; report saved to {report}")


if __name__ == "__main__":
    typer.run(main)
