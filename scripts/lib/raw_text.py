"""Unlabelled text for the steps that learn from raw text (static vectors,
pretraining): the training split's sentences, never dev or test, plus any text
the user supplies, tokenised as the model will see it."""

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, TypeVar

import spacy
from spacy.tokens import DocBin
from tqdm import tqdm

from .annotation import input_files, read_documents
from .cleaning import doc_sentences
from .errors import UserError
from .files import checksum


def train_sentences(train: Path, lang: str) -> Iterator[List[str]]:
    """The words of each sentence of the training split (each doc if it has none)."""
    nlp = spacy.blank(lang)
    for doc in DocBin().from_disk(train).get_docs(nlp.vocab):
        for sentence in doc_sentences(doc):
            words = [token.text for token in sentence if not token.is_space]
            if words:
                yield words


def unlabelled_texts(path: Path, lang: str) -> Iterator[List[str]]:
    """The words of each of the user's texts (a .txt/.jsonl file, one text a line
    or record, or a folder of them), as spaCy's tokenizer for `lang` splits them."""
    nlp = spacy.blank(lang)
    for file in input_files(path, purpose="of unlabelled text", allow_none=True):
        # A bad record stops the step: a model silently taught on less text than
        # the user gave is not the one they asked for.
        documents = read_documents(file, per_line=True, max_length=nlp.max_length, skipped=[],
                                   on_bad_input="stop")
        for doc in nlp.tokenizer.pipe(document.text for document in documents):
            words = [token.text for token in doc if not token.is_space]
            if words:
                yield words


def write_raw_text(train: Path, unlabelled: Optional[Path], lang: str,
                   write: Callable[[List[str]], None]) -> Dict[str, object]:
    """Pass every text's words to `write`; return the counts and the MD5 and size
    of each input, for the step's record (run.json and the package meta copy it)."""
    streams = [("train", train_sentences(train, lang))]
    if unlabelled is not None:
        streams.append(("unlabelled", unlabelled_texts(unlabelled, lang)))
    counts: Dict[str, Dict[str, int]] = {}
    for name, stream in streams:
        texts = words = 0
        for text in tqdm(stream, desc=f"Reading {name} text", unit=" texts"):
            write(text)
            texts += 1
            words += len(text)
        counts[name] = {"texts": texts, "words": words}
    if not total_words({"counts": counts}):
        raise UserError("no words to learn from", train)
    inputs = [train] + ([unlabelled] if unlabelled is not None else [])
    return {"inputs": {str(path): checksum(path) for path in inputs}, "counts": counts}


def total_words(record: Dict[str, Any]) -> int:
    """All the words of a `write_raw_text` record (training split and unlabelled text)."""
    return sum(count["words"] for count in record["counts"].values())


def in_even_sample(kept: int, words_before: int, words: int, total: int, budget: int) -> bool:
    """Whether a text of `words` words, coming after `words_before` of `total`
    words of which `kept` were kept, belongs to an even sample of about `budget`
    words: when keeping it brings the kept words closer to the budget's share of
    the text read so far. The sample spans every source, not only the first."""
    target = (words_before + words) * budget / total
    return abs(kept + words - target) < abs(kept - target)


Text = TypeVar("Text")


def even_sample(texts: Iterable[Text], words_of: Callable[[Text], int], total: int, budget: int) -> Iterator[Text]:
    """The texts of an even sample of about `budget` of their `total` words
    (`in_even_sample` decides each one), streamed."""
    seen = kept = 0
    for text in texts:
        words = words_of(text)
        if in_even_sample(kept, seen, words, total, budget):
            kept += words
            yield text
        seen += words
