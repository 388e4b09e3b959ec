"""Pretrain a run's tok2vec on raw text with `spacy pretrain`'s character
objective: each word's first and last characters are predicted from its context.

Reads: CONFIG, a generated run config: its tok2vec is the one pretrained
(create-config adds the [pretraining] block when `--pretrain-words` is above 0;
without it this step is off), within a budget of WORDS read: whole epochs over
the text, or one epoch over an even sample of it when it is longer; TRAIN, the
training split (DocBin: its sentences are the text, never dev or test); and,
optionally, UNLABELLED: a .txt or .jsonl file (one text a line or record,
optionally .gz, .bz2 or .xz) or a folder of them. Texts as long as [corpora.pretrain]
max_length tokens or longer are cut into pieces, which spaCy would skip whole.
Writes: OUTPUT, a folder with tok2vec.bin (the weights, for [initialize]
init_tok2vec, which train passes on), config.cfg (the pretraining config used)
and pretrain.json (budget, epochs, words per epoch, spaCy's loss log, the text
counts, MD5 and size of each input, seed, time, peak memory and versions). Off,
OUTPUT holds only pretrain.json, and the run starts from random weights.
"""

import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import srsly
import typer
from confection import Config
from spacy.cli.init_config import fill_config
from spacy.training.pretrain import pretrain
from spacy.util import load_config
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_output, replace_path, write_json
from .lib.pretrained import PRETRAIN_RECORD, PRETRAINED_WEIGHTS, has_pretraining
from .lib.provenance import environment_info, peak_memory_mib, utc_now
from .lib.raw_text import even_sample, total_words, write_raw_text


def sample_text(source: Path, dest: Path, total: int, budget: int) -> Tuple[Path, int]:
    """An even sample of about `budget` words of `source` (JSONL texts of
    space-joined words, `total` in all), streamed to `dest`; its word count."""
    kept = 0
    with source.open(encoding="utf8") as lines, dest.open("w", encoding="utf8") as out:
        for line in even_sample(lines, words_in_line, total, budget):
            out.write(line)
            kept += words_in_line(line)
    return dest, kept


def pieces(words: List[str], max_length: int) -> List[List[str]]:
    """`words` cut into the fewest near-equal pieces shorter than `max_length`
    tokens (0: no limit), as spaCy's pretraining corpus would skip a longer text
    whole. Pieces under the limit stay under it when spaCy tokenizes them again."""
    if max_length < 2 or len(words) < max_length:
        return [words]
    count = -(-len(words) // (max_length - 1))
    return [words[part * len(words) // count:(part + 1) * len(words) // count] for part in range(count)]


def words_in_line(line: str) -> int:
    return len(srsly.json_loads(line)["text"].split())


def warn_of_skipped_texts(config: Config, epoch_log: List[Dict[str, Any]], words_given: int) -> None:
    """Say so when spaCy read fewer words than it was given: its pretraining
    corpus skips texts shorter or longer than [corpora.pretrain]'s limits
    (long ones are cut into pieces first; short ones are left out)."""
    words_read = epoch_log[-1]["nr_word"] if epoch_log else 0  # spaCy's running count
    if words_read < words_given:
        limits = config["corpora"]["pretrain"]
        msg.warn(f"spacy pretrain read {words_read:,} of the {words_given:,} words it was given: it skips "
                 f"texts under {limits['min_length']} or over {limits['max_length']} tokens "
                 "([corpora.pretrain] min_length and max_length in the config)")


@exit_on_user_error
def main(
    # fmt: off
    config_path: Path = typer.Argument(..., help="Generated run config whose tok2vec to pretrain", exists=True, dir_okay=False),
    train: Path = typer.Argument(..., help="Training split (DocBin)", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., help="Folder to write the weights and their record to"),
    unlabelled: Optional[Path] = typer.Option(None, help="Unlabelled text: a .txt/.jsonl file (one text a line) or a folder of them"),
    seed: int = typer.Option(..., help="Random seed of the pretraining"),
    words_budget: int = typer.Option(..., "--words", help="Budget: words spacy pretrain reads, in whole epochs over the text, or one epoch over an even sample of it"),
    # fmt: on
) -> None:
    config = load_config(config_path, interpolate=False)
    if not has_pretraining(config):
        with atomic_output(output) as tmp_output:
            tmp_output.mkdir(parents=True)
            # No timestamp: an unchanged record leaves the train step skipped.
            write_json(tmp_output / PRETRAIN_RECORD, {"epochs": 0})
        msg.good(f"Pretraining is off (the config has no [pretraining] block): wrote only "
                 f"{output / PRETRAIN_RECORD}")
        return
    if "tok2vec" not in config["components"]:
        raise UserError("the config has no tok2vec component to pretrain (a transformer "
                        "is pretrained already)", config_path)
    if words_budget <= 0:
        raise UserError(f"the config has a [pretraining] block but the word budget is {words_budget} "
                        "(set pretrain_words above 0, or to 0 in create-config to switch it off)", config_path)
    lang = config["nlp"]["lang"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        fill_config(tmp / "filled.cfg", config_path, pretraining=True, silent=True)
        max_length = load_config(tmp / "filled.cfg", interpolate=False)["corpora"]["pretrain"]["max_length"]
        text_path = tmp / "text.jsonl"
        cut = 0
        with text_path.open("w", encoding="utf8") as text_file:
            def write_pieces(words: List[str]) -> None:
                nonlocal cut
                text_pieces = pieces(words, max_length)
                cut += len(text_pieces) > 1
                for piece in text_pieces:
                    text_file.write(srsly.json_dumps({"text": " ".join(piece)}) + "\n")

            record = write_raw_text(train, unlabelled, lang, write_pieces)
        if cut:
            msg.info(f"Cut {cut:,} text(s) of {max_length} tokens or more into pieces: spacy pretrain "
                     "skips such texts whole ([corpora.pretrain] max_length)")
        available = total_words(record)
        if words_budget < available:
            text_path, words_per_epoch = sample_text(text_path, tmp / "sample.jsonl", available, words_budget)
            epochs = 1
        else:
            words_per_epoch, epochs = available, words_budget // available
        pretrain_config = load_config(tmp / "filled.cfg", interpolate=False, overrides={
            "paths.raw_text": str(text_path),
            "system.seed": seed,
            "training.seed": seed,
            "pretraining.max_epochs": epochs,
            # Keep one file a run, not one an epoch: only the last weights are used.
            "pretraining.n_save_epoch": epochs,
        })
        weights_dir = tmp / "weights"
        weights_dir.mkdir()
        msg.info(f"Pretraining the tok2vec of {config_path}: {epochs} epoch(s) of {words_per_epoch:,} words "
                 f"(budget {words_budget:,}; {available:,} words of text)")
        pretrain(pretrain_config, weights_dir, silent=False)
        epoch_log = list(srsly.read_jsonl(weights_dir / "log.jsonl"))
        warn_of_skipped_texts(pretrain_config, epoch_log, epochs * words_per_epoch)
        with atomic_output(output) as tmp_output:
            tmp_output.mkdir(parents=True)
            replace_path(weights_dir / "model-last.bin", tmp_output / PRETRAINED_WEIGHTS)
            pretrain_config.to_disk(tmp_output / "config.cfg", interpolate=False)
            write_json(tmp_output / PRETRAIN_RECORD, {
                "created": utc_now(),
                "config": str(config_path),
                "seed": seed,
                "budget_words": words_budget,
                "epochs": epochs,
                "words_per_epoch": words_per_epoch,
                **record,
                "texts_cut_into_pieces": cut,
                "log": epoch_log,
                # The one-off cost, for the benchmark tables.
                "seconds": round(time.perf_counter() - started, 1),
                "peak_memory_mib": peak_memory_mib(),
                "environment": environment_info(),
            })
    msg.good(f"Saved {output / PRETRAINED_WEIGHTS}")


if __name__ == "__main__":
    typer.run(main)
