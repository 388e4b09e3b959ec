"""Train static floret vectors offline on the training split (and any unlabelled
text the user supplies), for the tok2vec to read beside its hashed embeddings.

Reads: TRAIN (a DocBin, the training split: never dev or test) and, optionally,
UNLABELLED: a .txt or .jsonl file (one text per line or record, optionally .gz, .bz2 or .xz)
or a folder of them. Words are taken as spaCy's tokenizer for LANG splits them,
so the vectors' keys are the tokens the model sees.
Settings: SETTINGS (configs/vectors.yml): width, rows, n-gram lengths, epochs
(fewer passes over a large text: `large_text_epochs` from `large_text_words`),
and `auto_min_words`: with `--method auto`, floret vectors once the unlabelled
text holds that many words, none below (floret from the training split alone
measured level; from millions of words of the domain's text, ahead).
Writes: OUTPUT, a spaCy pipeline folder holding only the vectors (create-config
points [initialize] vectors at it), with vectors.json: the floret settings, the
text and word counts, the MD5 and size of every input, time and peak memory.
Without vectors (`--method none`, or auto under its threshold) OUTPUT holds only
vectors.json, and the run's config uses no static vectors.

Floret (https://github.com/explosion/floret) stores a word as a few hashed
rows of a small table, shared with its character n-grams: every word, seen or
not, gets a vector, and the table stays small. One training thread keeps the
result identical from run to run.
"""

import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

import spacy
import typer
from spacy.training.initialize import convert_vectors
from tqdm import tqdm
from wasabi import msg

from .lib.errors import UserError, child_dies_with_me, exit_on_user_error
from .lib.files import atomic_output, write_json
from .lib.pretrained import VECTORS_RECORD
from .lib.provenance import environment_info, peak_memory_mib, utc_now
from .lib.settings import Spec, read_settings
from .lib.raw_text import total_words, unlabelled_texts, write_raw_text

SETTINGS: Spec = {"dim": (int, 1), "rows": (int, 1), "hash_count": (int, 1), "minn": (int, 1),
                  "maxn": (int, 1), "epochs": (int, 1), "large_text_words": (int, 1),
                  "large_text_epochs": (int, 1), "min_count": (int, 1), "model": (str, ("cbow", "skipgram")),
                  "auto_min_words": (int, 1)}
# The settings floret itself takes; the large_text ones choose its epochs, auto_min_words whether it trains.
FLORET_KEYS = tuple(key for key in SETTINGS if not key.startswith(("large_text_", "auto_")))
METHODS = ("auto", "floret", "none")


def read_floret_settings(path: Path) -> Dict[str, Any]:
    """The settings file (configs/vectors.yml), checked."""
    settings = read_settings(path, SETTINGS)
    if settings["minn"] > settings["maxn"]:
        raise UserError(f"need minn <= maxn, got minn {settings['minn']}, maxn {settings['maxn']}", path)
    return settings


def unlabelled_words_up_to(unlabelled: Optional[Path], lang: str, limit: int) -> int:
    """The unlabelled text's words, counted until `limit` is reached (a text of
    millions of words is not read to its end only to learn that it is large)."""
    words = 0
    if unlabelled is not None:
        for text in tqdm(unlabelled_texts(unlabelled, lang), desc=f"Counting words up to {limit:,}", unit=" texts"):
            words += len(text)
            if words >= limit:
                break
    return words


def floret_settings(settings: Dict[str, Any], words: int) -> Dict[str, Any]:
    """The settings floret trains with on `words` words: `epochs` passes, or
    `large_text_epochs` once the text has `large_text_words` or more."""
    epochs = settings["large_text_epochs"] if words >= settings["large_text_words"] else settings["epochs"]
    return {**{key: settings[key] for key in FLORET_KEYS}, "epochs": epochs}


# floret trains in C++ without returning to Python, where a signal handler would
# wait its turn for as long as training lasts (tens of minutes on millions of
# words). In a child process, Ctrl-C or SIGTERM stop the step at once: the
# parent's handler unwinds, and the child is killed on the way out.
FLORET_CHILD = """
import json, sys
import floret
text, output, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
floret.train_unsupervised(
    text, model=settings["model"], mode="floret", dim=settings["dim"], bucket=settings["rows"],
    hashCount=settings["hash_count"], minn=settings["minn"], maxn=settings["maxn"],
    epoch=settings["epochs"], minCount=settings["min_count"], thread=1, verbose=0,
).save_floret_vectors(output)
"""


def train_floret(text_path: Path, output: Path, settings: Dict[str, Any]) -> None:
    """floret vectors of the text at `text_path`, saved to `output` (floret's
    text format), trained in a child process that dies with this one."""
    try:
        subprocess.run([sys.executable, "-c", FLORET_CHILD, str(text_path), str(output), json.dumps(settings)],
                       check=True, preexec_fn=child_dies_with_me())
    except subprocess.CalledProcessError as err:
        raise UserError(f"floret training failed (exit code {err.returncode}; its message is above)") from None


def write_floret_vectors(train: Path, unlabelled: Optional[Path], lang: str, settings: Dict[str, Any],
                         output: Path) -> None:
    """floret vectors of the training split's and the unlabelled text's words, as
    a vectors pipeline at OUTPUT with its record (vectors.json), written atomically."""
    if importlib.util.find_spec("floret") is None:
        raise UserError("floret is not installed: pip install -r requirements.txt")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        text_path = Path(tmp) / "text.txt"
        with text_path.open("w", encoding="utf8") as text_file:
            record = write_raw_text(train, unlabelled, lang,
                                    lambda words: text_file.write(" ".join(words) + "\n"))
        words = total_words(record)
        applied = floret_settings(settings, words)
        msg.info(f"Training floret vectors on {words:,} words, {applied['epochs']} epochs")
        floret_path = Path(tmp) / "vectors.floret"
        train_floret(text_path, floret_path, applied)
        nlp = spacy.blank(lang)
        convert_vectors(nlp, floret_path, truncate=0, prune=-1, mode="floret")
    with atomic_output(output) as tmp_output:
        nlp.to_disk(tmp_output)
        write_json(tmp_output / VECTORS_RECORD, {
            "created": utc_now(),
            "method": "floret",
            **record,
            # As floret trained: epochs is the passes made over this text.
            "settings": {**applied, "threads": 1},
            # The one-off cost, for the benchmark tables.
            "seconds": round(time.perf_counter() - started, 1),
            # This process's, or floret's child's, whichever is larger.
            "peak_memory_mib": max(peak_memory_mib() or 0.0,
                                   round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)),
            "environment": environment_info(),
        })
    msg.good(f"Saved {output}: {settings['rows']:,} × {settings['dim']} floret vectors from {words:,} words")


@exit_on_user_error
def main(
    # fmt: off
    train: Path = typer.Argument(..., help="Training split (DocBin)", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., help="Vectors pipeline folder to write"),
    lang: str = typer.Option(..., help="spaCy language code"),
    method: str = typer.Option(..., help="auto (floret from auto_min_words of unlabelled text), floret, or none (only the record: no static vectors)"),
    unlabelled: Optional[Path] = typer.Option(None, help="Unlabelled text: a .txt/.jsonl file (one text a line) or a folder of them"),
    settings_path: Path = typer.Option(..., "--settings", help="floret settings (configs/vectors.yml)"),
    # fmt: on
) -> None:
    if method not in METHODS:
        raise UserError(f"method must be {', '.join(METHODS)}; got {method!r}")
    record: Dict[str, Any] = {"method": "none"}
    if method != "none":
        settings = read_floret_settings(settings_path)
        minimum = settings["auto_min_words"]
        if method == "floret" or unlabelled_words_up_to(unlabelled, lang, minimum) >= minimum:
            write_floret_vectors(train, unlabelled, lang, settings, output)
            return
        msg.info(f"static_vectors auto: the unlabelled text has under auto_min_words ({minimum:,}) words")
        record["auto_min_words"] = minimum
    with atomic_output(output) as tmp_output:
        tmp_output.mkdir(parents=True)
        # No timestamp or count: an unchanged record leaves the steps after this one skipped.
        write_json(tmp_output / VECTORS_RECORD, record)
    msg.good(f"Static vectors are off (method {method}): wrote only {output / VECTORS_RECORD}")


if __name__ == "__main__":
    typer.run(main)
