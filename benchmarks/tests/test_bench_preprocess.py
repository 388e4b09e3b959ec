"""benchmark-preprocess: the repeated corpus it times both tools on."""

from pathlib import Path

from bench.preprocess import repeated, sentences
from tests.conftest import write_lines


def test_benchmark_corpus_repeats_sentences_without_duplicates(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "a.conll", ["-DOCSTART- O", "", "Ana B-PER", "mora O", "", "Rui B-PER"])
    corpus = sentences(source)
    assert corpus == [["Ana B-PER", "mora O"], ["Rui B-PER"]]
    produced = list(repeated(corpus, 7))
    assert sum(len(s) for s in produced) >= 7
    assert len({tuple(s) for s in produced}) == len(produced)  # every copy distinct
    assert produced[2] == ["Ana~1 B-PER", "mora O"]
