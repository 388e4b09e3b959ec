"""Pretrain a run's tok2vec on raw text with `spacy pretrain`'s character
objective: each word's first and last characters are predicted from its context.

Reads: CONFIG, a generated run config: its tok2vec is the one pretrained, for
as many epochs as its [pretraining] block says (create-config adds the block
when `--pretrain-epochs` is above 0; without it this step is off); TRAIN, the
training split (DocBin: its sentences are the text, never dev or test); and,
optionally, UNLABELLED: a .txt or .jsonl file (one text a line or record,
optionally .gz) or a folder of them.
Writes: OUTPUT, a folder with tok2vec.bin (the weights, for [initialize]
init_tok2vec, which train passes on), config.cfg (the pretraining config used)
and pretrain.json (spaCy's loss log, the text counts and MD5 of each input, seed
and versions). Off, OUTPUT holds only pretrain.json, and the run starts from
random weights.
"""

import tempfile
from pathlib import Path
from typing import Optional

import srsly
import typer
from spacy.cli.init_config import fill_config
from spacy.training.pretrain import pretrain
from spacy.util import load_config
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_output, replace_path, write_json
from .lib.pretrained import PRETRAIN_RECORD, PRETRAINED_WEIGHTS, has_pretraining
from .lib.provenance import environment_info, utc_now
from .lib.raw_text import write_raw_text


@exit_on_user_error
def main(
    # fmt: off
    config_path: Path = typer.Argument(..., help="Generated run config whose tok2vec to pretrain", exists=True, dir_okay=False),
    train: Path = typer.Argument(..., help="Training split (DocBin)", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., help="Folder to write the weights and their record to"),
    unlabelled: Optional[Path] = typer.Option(None, help="Unlabelled text: a .txt/.jsonl file (one text a line) or a folder of them"),
    seed: int = typer.Option(..., help="Random seed of the pretraining"),
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
    epochs = int(config["pretraining"]["max_epochs"])
    lang = config["nlp"]["lang"]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        text_path = tmp / "text.jsonl"
        with text_path.open("w", encoding="utf8") as text_file:
            record = write_raw_text(train, unlabelled, lang, lambda words: text_file.write(
                srsly.json_dumps({"text": " ".join(words)}) + "\n"))
        fill_config(tmp / "filled.cfg", config_path, pretraining=True, silent=True)
        pretrain_config = load_config(tmp / "filled.cfg", interpolate=False, overrides={
            "paths.raw_text": str(text_path),
            "system.seed": seed,
            "training.seed": seed,
            # Keep one file a run, not one an epoch: only the last weights are used.
            "pretraining.n_save_epoch": epochs,
        })
        weights_dir = tmp / "weights"
        weights_dir.mkdir()
        words = sum(count["words"] for count in record["counts"].values())
        msg.info(f"Pretraining the tok2vec of {config_path} on {words:,} words, {epochs} epochs")
        pretrain(pretrain_config, weights_dir, silent=False)
        epoch_log = list(srsly.read_jsonl(weights_dir / "log.jsonl"))
        with atomic_output(output) as tmp_output:
            tmp_output.mkdir(parents=True)
            replace_path(weights_dir / "model-last.bin", tmp_output / PRETRAINED_WEIGHTS)
            pretrain_config.to_disk(tmp_output / "config.cfg", interpolate=False)
            write_json(tmp_output / PRETRAIN_RECORD, {
                "created": utc_now(),
                "config": str(config_path),
                "seed": seed,
                "epochs": epochs,
                **record,
                "log": epoch_log,
                "environment": environment_info(),
            })
    msg.good(f"Saved {output / PRETRAINED_WEIGHTS}")


if __name__ == "__main__":
    typer.run(main)
