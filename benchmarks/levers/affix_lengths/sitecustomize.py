"""Benchmark lever, not part of the template: longer hashed affixes.

spaCy's lexemes hold a PREFIX of 1 character and a SUFFIX of 3, which the
tok2vec's MultiHashEmbed hashes; no config setting changes their length. With
this folder on PYTHONPATH, Python imports this file at start-up in every
process (weasel's steps too), and AFFIX_PREFIX / AFFIX_SUFFIX set how many
characters each holds for every vocab created afterwards, in training and when
the model is loaded again for evaluation:

    PYTHONPATH=benchmarks/levers/affix_lengths AFFIX_PREFIX=3 weasel run train . ...

See benchmarks/lener_br/affixes/README.md for what it measured.
"""

import os

_prefix = os.environ.get("AFFIX_PREFIX")
_suffix = os.environ.get("AFFIX_SUFFIX")
if _prefix or _suffix:
    from spacy import attrs
    from spacy.lang import lex_attrs

    # create_vocab merges these getters into every language's; lexemes are made from them.
    if _prefix:
        lex_attrs.LEX_ATTRS[attrs.PREFIX] = lambda text, length=int(_prefix): text[:length]
    if _suffix:
        lex_attrs.LEX_ATTRS[attrs.SUFFIX] = lambda text, length=int(_suffix): text[-length:]
