"""Where the steps that learn from raw text leave what they learnt: train-vectors
a folder of static vectors (read through the config by create-config), pretrain
a file of tok2vec weights (passed on by train). Each writes its record always,
and the vectors or weights only when switched on."""

from pathlib import Path
from typing import Any, Mapping, Optional

VECTORS_RECORD = "vectors.json"
PRETRAIN_RECORD = "pretrain.json"
PRETRAINED_WEIGHTS = "tok2vec.bin"


def static_vectors(folder: Path) -> Optional[Path]:
    """`folder` if train-vectors stored vectors there (not switched off)."""
    return folder if (folder / "vocab" / "vectors").is_file() else None


def pretrained_weights(folder: Path) -> Optional[Path]:
    """The weights the pretrain step stored in `folder`, if it was switched on."""
    weights = folder / PRETRAINED_WEIGHTS
    return weights if weights.is_file() else None


def has_pretraining(config: Mapping[str, Any]) -> bool:
    """Whether a run config has a [pretraining] block: the pretrain step's switch,
    and the only way spaCy loads [initialize] init_tok2vec. spaCy's fill-config
    leaves an empty block, which counts as none."""
    return bool(config.get("pretraining"))
