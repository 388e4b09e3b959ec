"""prepare-unlabelled: raw text that repeats dev or test, exactly or nearly, never
reaches a step that learns from it; what was removed is reported; the text
streams, whatever its size."""

import gzip
import random
import re
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from scripts.lib.cleaning import doc_sentences
from scripts.lib.held_out import NEAR_JACCARD, HeldOutIndex

from .conftest import ROOT, SAMPLE_LANG, run, workflow_options


def held_out_sentences(corpus: Path, split: str, n: int) -> List[str]:
    """The first `n` sentences of 8 words or more of a split."""
    nlp = spacy.blank(SAMPLE_LANG)
    found = []
    for doc in DocBin().from_disk(corpus / f"{split}.spacy").get_docs(nlp.vocab):
        for sentence in doc_sentences(doc):
            if len(sentence) >= 8 and len(found) < n:
                found.append(sentence.text)
    return found


def with_formula(corpus: Path, dest: Path, formula: str) -> Path:
    """A copy of the corpus whose dev split also holds `formula`, a short sentence."""
    nlp = spacy.blank(SAMPLE_LANG)
    dest.mkdir()
    dev = DocBin().from_disk(corpus / "dev.spacy")
    dev.add(nlp(formula))
    dev.to_disk(dest / "dev.spacy")
    (dest / "test.spacy").write_bytes((corpus / "test.spacy").read_bytes())
    return dest


def prepare(source: Path, corpus: Path, out: Path, legacy_encoding: str = ""):
    return run(["python", "-m", "scripts.prepare_unlabelled", str(source), str(corpus), str(out / "text.txt.gz"),
                str(out / "report.json"), *workflow_options("prepare-unlabelled", lang=SAMPLE_LANG,
                                                            legacy_encoding=legacy_encoding)], ROOT)


def test_unlabelled_text_in_a_legacy_encoding_is_read_under_the_var(corpus_and_config: Path, tmp_path: Path) -> None:
    source = tmp_path / "arquivo.txt"
    source.write_bytes("O tribunal de São Paulo reuniu-se ontem à tarde.\n".encode("latin-1"))
    stopped = prepare(source, corpus_and_config / "corpus", tmp_path / "stopped")
    assert stopped.returncode == 1 and "arquivo.txt:1: not valid UTF-8" in stopped.stderr
    assert prepare(source, corpus_and_config / "corpus", tmp_path / "out", "latin-1").returncode == 0
    kept = gzip.open(tmp_path / "out" / "text.txt.gz", "rt", encoding="utf8").read().splitlines()
    assert kept == ["O tribunal de São Paulo reuniu-se ontem à tarde."]


def test_sentences_of_dev_and_test_are_removed_exactly_or_nearly_and_reported(
        corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = with_formula(corpus_and_config / "corpus", tmp_path / "corpus", "Decisão unânime.")
    dev, test = held_out_sentences(corpus, "dev", 3), held_out_sentences(corpus, "test", 3)
    words = test[1].split()
    near = " ".join(words[:-2] + ["hoje"] + words[-2:])  # one word added
    clean = ["O tribunal de Coimbra reuniu-se ontem à tarde.", "Choveu muito em Braga durante a semana."]
    lines = [f"{clean[0]} {dev[0]} {clean[1]}",  # a leaked sentence inside a text: the rest is kept
             dev[1].upper().replace(",", ""),  # case and punctuation do not hide it
             near, test[0], clean[1], f"{test[2]} {dev[2]}",  # a text of leaks only is dropped
             f"{clean[1]} DECISÃO UNÂNIME", "Decisão unânime."]  # a formula: removed, counted apart
    source = tmp_path / "raw" / "news.txt"
    source.parent.mkdir()
    source.write_text("\n".join(lines) + "\n", encoding="utf8")
    result = prepare(source.parent, corpus, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    kept = gzip.open(tmp_path / "out" / "text.txt.gz", "rt", encoding="utf8").read().splitlines()
    assert kept == [f"{clean[0]} {clean[1]}", clean[1], clean[1]]
    report = srsly.read_json(tmp_path / "out" / "report.json")
    assert report["read"]["texts"] == 8 and report["kept"]["texts"] == 3
    assert report["removed"] == {"exact": 7, "near": 1, "by_split": {"dev": 5, "test": 3},
                                 "distinctive": 6, "formulae": 2}
    assert report["formulae"] == [{"sentence": "Decisão unânime.", "removed": 2}]
    assert len(report["examples"]) == 6 and "Decisão" not in str(report["examples"])
    (near_example,) = [e for e in report["examples"] if e["kind"] == "near"]
    assert near_example["held_out"] == test[1] and NEAR_JACCARD <= near_example["similarity"] < 1
    assert report["inputs"][0]["path"].endswith("news.txt") and len(report["inputs"][0]["md5"]) == 32
    assert ("Removed 8 sentence(s) that repeat dev or test (7 exact, 1 near); 6 of them distinctive"
            in " ".join(result.stdout.split()))
    # The same text gives the same file (no timestamp in the gzip header).
    assert prepare(source.parent, corpus, tmp_path / "again").returncode == 0
    assert (tmp_path / "again" / "text.txt.gz").read_bytes() == (tmp_path / "out" / "text.txt.gz").read_bytes()


def test_near_duplicates_need_most_trigrams_in_common() -> None:
    index = HeldOutIndex()
    index.add("test", "O Supremo Tribunal Federal julgou ontem a ação direta de inconstitucionalidade.")
    assert index.match("o supremo tribunal federal julgou ontem a ação direta de inconstitucionalidade")[0] == "exact"
    assert index.match("O Supremo Tribunal Federal julgou hoje a ação direta de inconstitucionalidade.")[0] == "near"
    assert index.match("O Supremo Tribunal Federal julgou ontem um recurso.") is None
    assert index.match("Tribunal Federal") is None


def test_leaks_are_found_in_scripts_written_without_spaces() -> None:
    """A CoNLL dev or test file spaces every token; raw Chinese or Thai text does not."""
    index = HeldOutIndex()
    index.add("dev", "北 京 大 学 的 研 究 人 员 在 上 海 举 行 了 一 次 会 议 。")
    index.add("test", "รัฐบาล ไทย ประกาศ นโยบาย ใหม่ ที่ กรุงเทพมหานคร")
    assert index.match("北京大学的研究人员在上海举行了一次会议。")[:2] == ("exact", "dev")
    assert index.match("北京大学的研究人员在南京举行了一次会议。")[0] == "near"  # one city changed
    assert index.match("上海的天气今天很好，我们去公园散步吧。") is None
    assert index.match("รัฐบาลไทยประกาศนโยบายใหม่ที่กรุงเทพมหานคร")[:2] == ("exact", "test")


def test_no_unlabelled_text_gives_an_empty_text_and_a_report(corpus_and_config: Path, tmp_path: Path) -> None:
    result = prepare(ROOT / "assets" / "unlabelled", corpus_and_config / "corpus", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert gzip.open(tmp_path / "out" / "text.txt.gz", "rt").read() == ""
    assert srsly.read_json(tmp_path / "out" / "report.json")["read"] == {}


# Runs the step in a process of its own and reports that process's peak memory
# (RUSAGE_CHILDREN would count every child the test worker ever waited for).
PEAK = """
import resource, runpy, sys
sys.argv = ["prepare_unlabelled", *sys.argv[1:]]
try:
    runpy.run_module("scripts.prepare_unlabelled", run_name="__main__")
finally:
    print("peak_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def random_text(path: Path, n_texts: int, words_per_text: int) -> Path:
    rng = random.Random(0)
    vocabulary = [f"palavra{i}" for i in range(5000)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf8") as out:
        for _ in range(n_texts):
            out.write(" ".join(rng.choice(vocabulary) for _ in range(words_per_text)) + ".\n")
    return path


def peak_mib(source: Path, corpus: Path, out: Path) -> Tuple[float, dict]:
    result = run(["python", "-c", PEAK, str(source), str(corpus), str(out / "text.txt.gz"), str(out / "report.json"),
                  *workflow_options("prepare-unlabelled", lang=SAMPLE_LANG)], ROOT)
    assert result.returncode == 0, result.stderr
    peak = int(re.search(r"peak_kib (\d+)", result.stderr).group(1)) / 1024
    return peak, srsly.read_json(out / "report.json")


@pytest.mark.slow
def test_millions_of_words_stream_in_bounded_memory(corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    small_peak, small = peak_mib(random_text(tmp_path / "small" / "t.txt.gz", 4_000, 50), corpus, tmp_path / "s")
    big_peak, big = peak_mib(random_text(tmp_path / "big" / "t.txt.gz", 40_000, 50), corpus, tmp_path / "b")
    assert big["read"]["texts"] == 40_000 and big["read"]["words"] == 40_000 * 51 == big["kept"]["words"]
    assert small["read"]["words"] == 4_000 * 51
    # Ten times the text, the same memory: nothing of it is held.
    assert big_peak - small_peak < 64, f"{small_peak:.0f} MiB for 204,000 words, {big_peak:.0f} MiB for 2,040,000"
