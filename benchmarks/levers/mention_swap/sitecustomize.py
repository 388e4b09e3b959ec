"""Benchmark lever, not part of the template: swapped entity mentions.

With this folder on PYTHONPATH, Python imports this file at start-up in every
process (weasel's steps too) and it registers the augmenter
`lever.mention_swap.v1`, which `mention_swap.cfg` (beside this folder) puts on
the training corpus. Each time a training example is read, each of its entity
mentions is, with probability `level`, replaced by a mention of the same label
drawn from the training corpus (`source`; frequent mentions drawn more often);
the words around it stay. The model then has to find entities by their context
and form more than by remembering names, which is what the test split's
unseen names ask of it. Deterministic per seed: Python's `random`, which spaCy
seeds at the start of training.

    cp benchmarks/levers/mention_swap.cfg configs/optimize/swap.cfg
    PYTHONPATH=benchmarks/levers/mention_swap weasel run train . --vars.optimize swap ...

See benchmarks/conll2003/mention_swap/README.md for what it measured.
"""
import random
from typing import Callable, Dict, Iterator, List, Tuple

from spacy import registry
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

# A mention's words and the space after each of them but the last (the last
# takes the space of the mention it replaces).
Mention = Tuple[Tuple[str, ...], Tuple[bool, ...]]


def as_mention(span: Span) -> Mention:
    return tuple(token.text for token in span), tuple(bool(token.whitespace_) for token in span[:-1])


@registry.augmenters("lever.mention_swap.v1")
def create_mention_swap(level: float, source: str) -> Callable[[Language, Example], Iterator[Example]]:
    mentions_by_label: Dict[str, List[Mention]] = {}

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        reference = example.reference
        # Examples with unannotated tokens pass as they are: a swap would have to guess their tags.
        if level <= 0 or not reference.ents or any(token.ent_iob == 0 for token in reference):
            yield example
            return
        if not mentions_by_label:
            for doc in DocBin().from_disk(source).get_docs(nlp.vocab):
                for ent in doc.ents:
                    mentions_by_label.setdefault(ent.label_, []).append(as_mention(ent))
        words: List[str] = []
        spaces: List[bool] = []
        tags: List[str] = []

        def keep_outside(span: Span) -> None:
            words.extend(token.text for token in span)
            spaces.extend(bool(token.whitespace_) for token in span)
            tags.extend("O" for _ in span)

        swapped = False
        position = 0
        for ent in reference.ents:
            keep_outside(reference[position:ent.start])
            texts, inner = as_mention(ent)
            if random.random() < level and mentions_by_label.get(ent.label_):
                texts, inner = random.choice(mentions_by_label[ent.label_])
                swapped = True
            words.extend(texts)
            spaces.extend([*inner, bool(ent[-1].whitespace_)])
            tags.extend([f"B-{ent.label_}"] + [f"I-{ent.label_}"] * (len(texts) - 1))
            position = ent.end
        keep_outside(reference[position:])
        if not swapped:
            yield example
            return
        new_reference = Doc(nlp.vocab, words=words, spaces=spaces, ents=tags)
        yield Example(nlp.make_doc(new_reference.text), new_reference)

    return augment
