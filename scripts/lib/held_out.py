"""The sentences of the held-out splits (dev and test), to keep raw text that
repeats them away from anything the model learns from.

A sentence of unlabelled text leaks a held-out sentence when, after
`cleaning.normalise_text` (case, punctuation, spacing and Unicode form folded;
in Chinese and Japanese each character counts as a word; Thai, Lao, Khmer and
Myanmar, without word boundaries short of a dictionary, count spaced phrases):
- it is the same text (exact), or
- it has at least NEAR_MIN_WORDS words and the Jaccard similarity of its set of
  words with a held-out sentence's is at least NEAR_JACCARD (near): a sentence
  of ten words with one word changed (9/11 = 0.82), added or dropped. The
  held-out sentences compared are those that share two word bigrams with it.
Exact matches under NEAR_MIN_WORDS words are removed too, but they are mostly
formulae that many documents share ("Decisão unânime.", a heading), not leaked
content: `is_formula` tells them apart for the report.
Memory grows with the held-out splits only (digests), never with the
unlabelled text, which streams past."""

from collections import Counter
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from spacy.tokens import DocBin
from spacy.vocab import Vocab

from .cleaning import doc_sentences, normalise_text, text_digest

NEAR_JACCARD = 0.8
NEAR_MIN_WORDS = 6


def is_formula(sentence: str) -> bool:
    """Too short to be distinctive: an exact match of it says little about leakage."""
    return len(normalise_text(sentence).split()) < NEAR_MIN_WORDS


def bigrams(words: List[str]) -> Set[bytes]:
    return {text_digest(f"{first} {second}") for first, second in zip(words, words[1:])}


class HeldOutIndex:
    """Dev and test sentences, normalised, with an inverted index of their bigrams."""

    def __init__(self) -> None:
        self.exact: Dict[bytes, Tuple[str, str]] = {}  # digest -> (split, sentence)
        self.sentences: List[Tuple[str, str, FrozenSet[bytes]]] = []  # (split, sentence, its words)
        self.by_bigram: Dict[bytes, List[int]] = {}

    def add(self, split: str, sentence: str) -> None:
        words = normalise_text(sentence).split()
        if not words:
            return
        self.exact.setdefault(text_digest(" ".join(words)), (split, sentence))
        if len(words) >= NEAR_MIN_WORDS:
            index = len(self.sentences)
            self.sentences.append((split, sentence, frozenset(map(text_digest, words))))
            for gram in bigrams(words):
                self.by_bigram.setdefault(gram, []).append(index)

    @classmethod
    def from_corpora(cls, corpora: Dict[str, Path]) -> "HeldOutIndex":
        """The sentences of each split's DocBin (a doc without sentence boundaries is one)."""
        index = cls()
        for split, path in corpora.items():
            for doc in DocBin().from_disk(path).get_docs(Vocab()):
                for sentence in doc_sentences(doc):
                    index.add(split, sentence.text)
        return index

    def match(self, sentence: str) -> Optional[Tuple[str, str, str, float]]:
        """(kind, split, held-out sentence, similarity) if `sentence` leaks one, else None."""
        words = normalise_text(sentence).split()
        if not words:
            return None
        found = self.exact.get(text_digest(" ".join(words)))
        if found:
            return ("exact", found[0], found[1], 1.0)
        if len(words) < NEAR_MIN_WORDS:
            return None
        shared = Counter(i for gram in bigrams(words) for i in self.by_bigram.get(gram, ()))
        own = frozenset(map(text_digest, words))
        best: Optional[Tuple[str, str, str, float]] = None
        for i, common in shared.items():
            if common < 2:
                continue
            split, held_out, other = self.sentences[i]
            similarity = len(own & other) / len(own | other)
            if similarity >= NEAR_JACCARD and (best is None or similarity > best[3]):
                best = ("near", split, held_out, round(similarity, 3))
        return best

