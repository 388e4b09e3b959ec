"""Benchmark lever, not part of the template: a bidirectional LSTM encoder.

With this folder on PYTHONPATH, Python imports this file at start-up in every
process (weasel's steps too) and it registers the encoder
`lever.CNNBiLSTMEncoder.v1`, which `bilstm.cfg` (beside this folder) puts in
the tok2vec. It is thinc's own LSTM (compiled NumPy code, no PyTorch), both
directions, `width` outputs (half from each direction), added to its input, after
`depth` of the committed CNN's layers (none: the LSTM reads the embeddings, as
in the LSTM-CRF published on LeNER-Br). Every word then sees the whole
sentence, where the CNN sees three words either side.

    cp benchmarks/levers/bilstm.cfg configs/optimize/bilstm.cfg
    PYTHONPATH=benchmarks/levers/bilstm weasel run train . --vars.optimize bilstm ...

See benchmarks/NOTES.md (forty-third session) for what it measured.
"""
from typing import List

from spacy import registry
from spacy.ml.models.tok2vec import MaxoutWindowEncoder
from thinc.api import LSTM, Model, chain, residual, with_padded
from thinc.types import Floats2d


@registry.architectures("lever.CNNBiLSTMEncoder.v1")
def create_cnn_bilstm_encoder(width: int, depth: int, window_size: int, maxout_pieces: int,
                              lstm_depth: int = 1) -> Model[List[Floats2d], List[Floats2d]]:
    lstm = residual(with_padded(LSTM(width, width, bi=True, depth=lstm_depth)))
    if depth == 0:
        model = lstm
    else:
        cnn = MaxoutWindowEncoder(width=width, window_size=window_size, maxout_pieces=maxout_pieces, depth=depth)
        model = chain(cnn, lstm)
    model.set_dim("nO", width)
    return model
