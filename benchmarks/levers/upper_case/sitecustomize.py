"""Benchmark lever, not part of the template: sentences in capitals.

With this folder on PYTHONPATH, Python imports this file at start-up in every
process (weasel's steps too) and it registers the augmenter
`lever.upper_case.v1`, which `upper_case.cfg` (beside this folder) puts on the
training corpus. Each time a training example is read, each of its sentences
is, with probability `level`, written in capitals; the tags stay (a document
without sentence boundaries passes as it is). CoNLL-2003's
test mentions in capitals (headlines, sports tables) score some 8 points under
the rest (fortieth session), and the training split holds few of them, so the
model learns how a name is written in capitals from little. spaCy's own
`spacy.lower_case.v1` goes the other way, over whole documents. Deterministic
per seed: Python's `random`, which spaCy seeds at the start of training.

    cp benchmarks/levers/upper_case.cfg configs/optimize/upper.cfg
    PYTHONPATH=benchmarks/levers/upper_case weasel run train . --vars.optimize upper ...

See benchmarks/conll2003/case/README.md for what it measured.
"""
import random
from typing import Callable, Iterator, List

from spacy import registry
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example


def capitals(text: str) -> str:
    # Characters whose capital is longer ("ß" -> "SS") stay as they are, so
    # the reference's tokens keep their lengths and align with the new text.
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in text)


@registry.augmenters("lever.upper_case.v1")
def create_upper_case(level: float) -> Callable[[Language, Example], Iterator[Example]]:
    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        reference = example.reference
        if level <= 0 or not reference.has_annotation("SENT_START"):
            yield example
            return
        in_capitals: List[bool] = []
        for sentence in reference.sents:
            in_capitals.extend([random.random() < level] * len(sentence))
        if not any(in_capitals):
            yield example
            return
        # A new reference with the sentences and entity tags of the old one (a
        # token without a tag stays without one); nothing else is annotated here.
        new_reference = Doc(
            nlp.vocab,
            words=[capitals(token.text) if upper else token.text for token, upper in zip(reference, in_capitals)],
            spaces=[bool(token.whitespace_) for token in reference],
            sent_starts=[bool(token.is_sent_start) for token in reference],
            ents=[None if token.ent_iob == 0 else "O" if token.ent_iob_ == "O" else f"{token.ent_iob_}-{token.ent_type_}"
                  for token in reference])
        yield Example(nlp.make_doc(new_reference.text), new_reference)

    return augment
