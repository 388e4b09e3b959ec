"""Generate a run's complete training config from the human-edited base config.

Reads: the base config (configs/base.cfg) and overlays, applied in order (the
architecture's, configs/architecture/<name>.cfg, then the optimize var's,
configs/optimize/<name>.cfg): small config files whose values replace the base's,
section by section; a block whose registered function changes is replaced whole,
and components the pipeline no longer lists are dropped. The `lang` option sets
[nlp] lang; `transformer_model` names the transformer's model, if there is one;
`vectors` is train-vectors' folder: if it holds vectors, [paths] vectors points
at it and the tok2vec's embedding reads them; `pretrain_words` above 0 adds the
[pretraining] block the pretrain step trains with and train loads weights by.
Writes: OUTPUT, the merged config completed by `spacy init fill-config`, with a
header saying where it came from and a checksum of its body. The header makes a
hand edit detectable: a generated file that was edited is never overwritten; the
step stops and says how to move the edit into the base config instead.
"""

from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from .lib.configs import generate
from .lib.errors import check_plain_path, exit_on_user_error
from .lib.pretrained import static_vectors


@exit_on_user_error
def main(
    # fmt: off
    base: Path = typer.Argument(..., help="Human-edited base config", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., help="Generated config to write"),
    lang: str = typer.Option(..., help="spaCy language code"),
    overlay: List[Path] = typer.Option(..., help="Overlay config(s), applied in order", exists=True, dir_okay=False),
    max_epochs: Optional[int] = typer.Option(None, help="Training budget: epochs (0: no limit; default: the base config's)"),
    max_steps: Optional[int] = typer.Option(None, help="Training budget: updates (0: no limit)"),
    eval_frequency: Optional[int] = typer.Option(None, help="Evaluate on dev every N updates"),
    patience: Optional[int] = typer.Option(None, help="Stop after N updates without dev improvement (0: never)"),
    transformer_model: Optional[str] = typer.Option(None, help="Hugging Face model name or folder, for a config with a transformer"),
    vectors: Optional[Path] = typer.Option(None, help="Folder written by train-vectors: its static vectors, if any, are read by the tok2vec", file_okay=False),
    pretrain_words: int = typer.Option(..., help="Word budget of the pretrain step; above 0 adds the [pretraining] block that makes spaCy load its weights"),
    # fmt: on
) -> None:
    check_plain_path(output.parent, "run")
    vectors_dir = static_vectors(vectors) if vectors is not None else None
    given = {"max_epochs": max_epochs, "max_steps": max_steps, "eval_frequency": eval_frequency,
             "patience": patience}
    generate(base, overlay, lang, output, {k: v for k, v in given.items() if v is not None},
             transformer_model, vectors_dir, pretrain_words)
    msg.good(f"Generated {output} from {', '.join(str(p) for p in [base, *overlay])}")


if __name__ == "__main__":
    typer.run(main)
