"""The steps that learn from raw text: floret vectors (train-vectors) and
tok2vec pretraining (pretrain). Both read the training split and the user's
unlabelled text only, record what they read, and write their output whole or
not at all."""

import bz2
import gzip
import lzma
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import pytest
import spacy
import srsly
from spacy.tokens import Doc, DocBin
from spacy.training.initialize import init_nlp
from spacy.util import load_config

from scripts import pretrain, train_vectors
from scripts.lib.configs import build_config, generate
from scripts.lib.errors import UserError
from scripts.lib.files import md5_file
from scripts.lib.pretrained import static_vectors
from scripts.lib.raw_text import even_sample, total_words, train_sentences, unlabelled_texts, write_raw_text

from .conftest import ROOT, run, settings_file, workflow_options, write_lines


@pytest.fixture(scope="module")
def train_split(corpus_and_config: Path) -> Path:
    return corpus_and_config / "corpus" / "train.spacy"


def test_train_text_is_the_training_split_sentence_by_sentence(tmp_path: Path) -> None:
    vocab = spacy.blank("pt").vocab
    joined = Doc(vocab, words=["Ana", "julgou", ".", "O", "STF", "decidiu", "."],
                 sent_starts=[True, False, False, True, False, False, False])
    unsplit = Doc(vocab, words=["Lei", "nº", "8.666", ",", "de", "1993"], spaces=[True] * 6)
    path = tmp_path / "train.spacy"
    DocBin(attrs=["SENT_START"], docs=[joined, unsplit]).to_disk(path)
    assert list(train_sentences(path, "pt")) == [
        ["Ana", "julgou", "."], ["O", "STF", "decidiu", "."], ["Lei", "nº", "8.666", ",", "de", "1993"]]


def test_unlabelled_text_is_read_from_txt_jsonl_and_compressed_files_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "text"
    write_lines(folder / "a.txt", ["\ufeffO Supremo decidiu.", "", "A lei nº 8.666/93."])
    write_lines(folder / "b.jsonl", ['{"text": "Ana mora em Lisboa.", "id": 7}'])
    with gzip.open(folder / "c.txt.gz", "wt", encoding="utf8") as file:
        file.write("Outro texto\n")
    (folder / "d.jsonl.bz2").write_bytes(bz2.compress(b'{"text": "Um dump"}\n'))  # as Wikipedia's dumps come
    (folder / "e.txt.xz").write_bytes(lzma.compress("Fim .\n".encode("utf8")))
    (folder / "notes.md").write_text("not read")
    texts = list(unlabelled_texts(folder, "pt"))
    assert texts == [["O", "Supremo", "decidiu", "."], ["A", "lei", "nº", "8.666/93", "."],
                     ["Ana", "mora", "em", "Lisboa", "."], ["Outro", "texto"], ["Um", "dump"], ["Fim", "."]]


def test_a_bad_unlabelled_record_stops_with_its_file_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "text.jsonl", ['{"text": "bom"}', '{"text": "sem fim"'])
    with pytest.raises(UserError) as error:
        list(unlabelled_texts(path, "pt"))
    assert "not valid JSON" in str(error.value) and f"{path}:2" in str(error.value)


def test_the_record_counts_each_source_and_names_its_checksum(train_split: Path,
                                                             tmp_path: Path) -> None:
    unlabelled = write_lines(tmp_path / "more.txt", ["Um dois três.", "Quatro."])
    written = []
    record = write_raw_text(train_split, unlabelled, "pt", written.append)
    assert record["counts"]["unlabelled"] == {"texts": 2, "words": 6}
    assert record["counts"]["train"]["texts"] == len(written) - 2
    assert set(record["inputs"]) == {str(train_split), str(unlabelled)}
    assert record["inputs"][str(unlabelled)] == {"md5": md5_file(unlabelled), "bytes": unlabelled.stat().st_size}


def test_no_text_at_all_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "train.spacy"
    DocBin().to_disk(empty)
    with pytest.raises(UserError, match="no words to learn from"):
        write_raw_text(empty, None, "pt", lambda words: None)


def train_small_vectors(train: Path, output: Path, unlabelled: Optional[Path]) -> None:
    """The train-vectors step, in-process: 300 rows of 12 dimensions, 2 epochs."""
    settings = settings_file("vectors", output.parent / f"{output.name}-settings", dim=12, rows=300, epochs=2)
    train_vectors.main(train=train, output=output, lang="pt", method="floret", unlabelled=unlabelled,
                       settings_path=settings)


def test_floret_vectors_give_every_word_a_vector_repeat_exactly_and_survive_a_failure(
        train_split: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("floret")
    first, second = tmp_path / "first", tmp_path / "second"
    unlabelled = write_lines(tmp_path / "more.txt", ["Texto que o modelo não rotula."])
    for output in (first, second):
        train_small_vectors(train_split, output, unlabelled)
    nlp = spacy.load(first)
    assert nlp.vocab.vectors.mode == "floret" and nlp.vocab.vectors.shape == (300, 12)
    assert nlp.vocab["palavrainexistente"].has_vector  # built from its character n-grams
    assert (first / "vocab" / "vectors").read_bytes() == (second / "vocab" / "vectors").read_bytes()
    record = srsly.read_json(first / "vectors.json")
    assert record["counts"]["unlabelled"] == {"texts": 1, "words": 7}
    assert record["settings"]["threads"] == 1 and record["settings"]["rows"] == 300
    assert record["settings"]["epochs"] == 2 and "large_text_epochs" not in record["settings"]  # as floret ran
    assert record["seconds"] > 0 and record["peak_memory_mib"] > 0
    # A failed step keeps the vectors it had.
    before = (first / "vectors.json").read_bytes()
    bad = write_lines(tmp_path / "bad.txt", ["fine", "also fine"])
    bad.write_bytes(bad.read_bytes() + b"\xff\xfe broken\n")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        train_small_vectors(train_split, first, bad)
    assert stopped.value.code == 1
    error = capsys.readouterr().err
    assert f"{bad}:3" in error and "not valid UTF-8" in error
    assert (first / "vectors.json").read_bytes() == before


def test_auto_trains_floret_vectors_from_its_threshold_of_unlabelled_words_and_none_below(
        train_split: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("floret")
    unlabelled = write_lines(tmp_path / "more.txt", ["Texto que o modelo não rotula."] * 2)  # 14 words
    outputs = {}
    for minimum, text in ((15, unlabelled), (14, unlabelled), (1, None)):
        settings = settings_file("vectors", tmp_path / f"settings-{minimum}", dim=12, rows=300, epochs=2,
                                 auto_min_words=minimum)
        outputs[minimum] = tmp_path / f"vectors-{minimum}"
        train_vectors.main(train=train_split, output=outputs[minimum], lang="pt", method="auto", unlabelled=text,
                           settings_path=settings)
    # Under the threshold, or no text at all: the record of no vectors, saying why; the config reads none.
    for minimum in (15, 1):
        assert srsly.read_json(outputs[minimum] / "vectors.json") == {"method": "none", "auto_min_words": minimum}
        assert static_vectors(outputs[minimum]) is None
    assert "under auto_min_words (15) words" in " ".join(capsys.readouterr().out.split())
    record = srsly.read_json(outputs[14] / "vectors.json")
    assert static_vectors(outputs[14]) is not None
    assert (record["method"], record["counts"]["unlabelled"]) == ("floret", {"texts": 2, "words": 14})
    with pytest.raises(SystemExit):
        train_vectors.main(train=train_split, output=tmp_path / "x", lang="pt", method="fasttext", unlabelled=None,
                           settings_path=tmp_path / "settings-1" / "vectors.yml")
    assert "method must be auto, floret, none; got 'fasttext'" in " ".join(capsys.readouterr().err.split())


def test_auto_counts_unlabelled_words_only_up_to_its_threshold(tmp_path: Path) -> None:
    text = write_lines(tmp_path / "text.txt", ["um dois três", "quatro cinco", "seis"])
    assert [train_vectors.unlabelled_words_up_to(text, "pt", limit) for limit in (1, 5, 6, 7)] == [3, 5, 6, 6]
    assert train_vectors.unlabelled_words_up_to(None, "pt", 1) == 0
    # Past the threshold the text is not read: a broken record there stops training, not the count.
    text.write_bytes(text.read_bytes() + b"\xff broken\n")
    assert train_vectors.unlabelled_words_up_to(text, "pt", 6) == 6


def test_a_large_text_gets_fewer_floret_passes_from_its_threshold_on() -> None:
    settings = {**srsly.read_yaml(ROOT / "configs" / "vectors.yml"), "epochs": 20, "large_text_words": 1000,
                "large_text_epochs": 5}
    passes = {words: train_vectors.floret_settings(settings, words)["epochs"] for words in (999, 1000, 10**7)}
    assert passes == {999: 20, 1000: 5, 10**7: 5}
    assert set(train_vectors.floret_settings(settings, 1)) == set(train_vectors.FLORET_KEYS)


def test_a_pretraining_budget_adds_the_block_spacy_loads_weights_by() -> None:
    base, cnn = ROOT / "configs" / "base.cfg", ROOT / "configs" / "architecture" / "cnn.cfg"
    assert not build_config(base, [cnn], "pt").get("pretraining")
    config = build_config(base, [cnn], "pt", pretrain_words=3000)
    # The epochs are the pretrain step's: from the budget and the size of the text.
    assert (config["pretraining"]["max_epochs"], config["pretraining"]["component"]) == (1, "tok2vec")
    assert config["corpora"]["pretrain"]["path"] == "${paths.raw_text}"
    transformer = ROOT / "configs" / "architecture" / "transformer.cfg"
    with pytest.raises(UserError, match="pretraining is for a CNN tok2vec"):
        build_config(base, [transformer], "pt", pretrain_words=3000)


@pytest.mark.slow
def test_the_run_starts_from_the_pretrained_weights(corpus_and_config: Path, train_split: Path,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "config.cfg"
    generate(ROOT / "configs" / "base.cfg", [], "pt", config, {"max_steps": 2}, pretrain_words=1)
    output = tmp_path / "pretrain"
    # A text longer than spaCy's pretraining corpus takes (max_length 500 tokens), and one too short (5).
    unlabelled = write_lines(tmp_path / "long.txt", [" ".join(["palavra"] * 600), "curta demais"])
    available = total_words(write_raw_text(train_split, unlabelled, "pt", lambda words: None))
    # A budget of twice the text and a bit: two whole epochs, never more words than the budget.
    capsys.readouterr()
    pretrain.main(config_path=config, train=train_split, output=output, unlabelled=unlabelled, seed=0,
                  words_budget=2 * available + 5)
    record = srsly.read_json(output / "pretrain.json")
    assert record["seed"] == 0 and (record["epochs"], record["words_per_epoch"]) == (2, available)
    words_read = record["log"][-1]["nr_word"]  # spaCy's count
    # The long text is read, cut in two; the short one is skipped, and said so.
    assert record["texts_cut_into_pieces"] == 1 and 2 * 600 < words_read <= 2 * (available - 2)
    out = capsys.readouterr().out
    assert "Cut 1 text(s) of 500 tokens or more into pieces" in out
    assert f"spacy pretrain read {words_read:,} of the {2 * available:,} words" in out
    assert record["seconds"] > 0 and record["peak_memory_mib"] > 0
    corpus = corpus_and_config / "corpus"
    nlp = init_nlp(load_config(config, overrides={
        "paths.train": str(corpus / "train.spacy"), "paths.dev": str(corpus / "dev.spacy"),
        "paths.init_tok2vec": str(output / "tok2vec.bin")}))
    assert nlp.get_pipe("tok2vec").model.to_bytes() == (output / "tok2vec.bin").read_bytes()


def test_long_texts_are_cut_into_the_fewest_even_pieces_under_the_limit() -> None:
    words = [str(number) for number in range(1000)]
    assert pretrain.pieces(words, 0) == [words] and pretrain.pieces(words, 1001) == [words]
    assert [len(piece) for piece in pretrain.pieces(words, 500)] == [333, 333, 334]
    assert [len(piece) for piece in pretrain.pieces(words, 501)] == [500, 500]
    assert sum(pretrain.pieces(words, 7), []) == words


def test_weights_for_a_config_that_would_ignore_them_are_refused(corpus_and_config: Path,
                                                                 tmp_path: Path) -> None:
    (tmp_path / "pretrain").mkdir()
    (tmp_path / "pretrain" / "tok2vec.bin").write_bytes(b"weights")
    result = run(["python", "-m", "scripts.train", str(corpus_and_config / "config.cfg"),
                  str(corpus_and_config / "corpus"), str(tmp_path / "run"),
                  *workflow_options("train", latest=None, pretrained=tmp_path / "pretrain", silver=None)], ROOT)
    assert result.returncode == 1
    assert "has no [pretraining] block, so spaCy would not load the pretrained weights" in result.stderr
    assert not (tmp_path / "run" / "model-best").exists()


def test_pretrain_is_off_without_a_pretraining_block(corpus_and_config: Path, train_split: Path,
                                                     tmp_path: Path) -> None:
    output = tmp_path / "pretrain"
    pretrain.main(config_path=corpus_and_config / "config.cfg", train=train_split, output=output,
                  unlabelled=None, seed=0, words_budget=0)
    assert sorted(p.name for p in output.iterdir()) == ["pretrain.json"]
    assert srsly.read_json(output / "pretrain.json") == {"epochs": 0}


def test_pretraining_a_config_without_a_tok2vec_says_so(train_split: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.cfg"
    config.write_text('[nlp]\nlang = "pt"\npipeline = []\n\n[components]\n\n[pretraining]\n'
                      'max_epochs = 1\n', encoding="utf8")
    result = run(["python", "-m", "scripts.pretrain", str(config), str(train_split),
                  str(tmp_path / "out"), *workflow_options("pretrain", unlabelled=None)], ROOT)
    assert result.returncode == 1 and "no tok2vec component" in result.stderr
    assert not (tmp_path / "out").exists()


def sample(sizes: List[int], budget: int) -> List[int]:
    """The indices of the texts (of `sizes` words) an even sample keeps."""
    return list(even_sample(range(len(sizes)), sizes.__getitem__, sum(sizes), budget))


def test_a_budget_below_the_text_takes_an_even_sample_of_it() -> None:
    kept = sample([10] * 100, 250)  # 1,000 words
    assert len(kept) == 25 and kept[0] < 4 and kept[-1] > 95  # from the first texts to the last
    assert sample([10] * 100, 1000) == list(range(100))
    uneven = [7, 300, 5, 5, 5, 5, 5, 5, 300, 7]
    assert 0 < sum(uneven[i] for i in sample(uneven, 50)) <= 60  # long texts would overshoot: left out


def test_a_pretraining_block_without_a_budget_says_so(corpus_and_config: Path, train_split: Path,
                                                      tmp_path: Path) -> None:
    config = tmp_path / "config.cfg"
    generate(ROOT / "configs" / "base.cfg", [], "pt", config, {"max_steps": 2}, pretrain_words=1)
    result = run(["python", "-m", "scripts.pretrain", str(config), str(train_split), str(tmp_path / "out"),
                  *workflow_options("pretrain", unlabelled=None, words=0)], ROOT)
    assert result.returncode == 1 and "the word budget is 0" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_sigterm_stops_floret_training_at_once(train_split: Path, tmp_path: Path) -> None:
    # Epochs enough to train for minutes: floret runs in C++, where this process's
    # own signal handler would wait for it to return.
    settings = settings_file("vectors", tmp_path, epochs=100000)
    output = tmp_path / "vectors"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.train_vectors", str(train_split), str(output),
         *workflow_options("train-vectors", lang="pt", method="floret", unlabelled=None, settings=settings)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while "Training floret vectors" not in (line := process.stdout.readline()):
        assert line, process.stderr.read()
    time.sleep(2)  # well inside floret's training
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and time.monotonic() - stopped_at < 10
    assert "stopped by SIGTERM; outputs in progress removed" in stderr
    assert not output.exists() and not list(tmp_path.glob(".*vectors*"))
    floret_children = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert not floret_children.strip(), "the floret child outlived the step"
