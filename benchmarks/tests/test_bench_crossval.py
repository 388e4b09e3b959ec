"""benchmark-crossval: the folds of train and dev, and what the table makes of
each fold's scores. The run through weasel is in test_bench_configs' workflow test."""

import gzip
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from bench.crossval import (
    check_fold_vectors,
    check_not_chosen_on_dev,
    fold_bounds,
    pooled_docs,
    prepare_fold_vectors,
    results_markdown,
    summarise,
    write_folds,
)
from scripts.lib.configs import chosen_on
from scripts.lib.errors import UserError
from scripts.lib.seeds import paired_t_test
from scripts.train_vectors import read_floret_settings
from tests.conftest import settings_file, write_lines


def test_folds_are_contiguous_blocks_of_about_equal_words_none_empty() -> None:
    assert fold_bounds([1] * 10, 5) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    # Word counts, not doc counts, balance the blocks.
    assert fold_bounds([30, 10, 10, 10, 30, 10], 2) == [(0, 3), (3, 6)]
    # A long doc at the end cannot starve the blocks before it, nor one at the start those after it.
    for words in ([1, 1, 1, 100], [100, 1, 1, 1], [5, 100, 100, 1, 1]):
        bounds = fold_bounds(words, 3)
        assert bounds[0][0] == 0 and bounds[-1][1] == len(words)
        assert all(start < end for start, end in bounds)
        assert all(end == start for (_, end), (start, _) in zip(bounds, bounds[1:]))
    with pytest.raises(UserError, match="3 docs in train and dev cannot make 4 folds"):
        fold_bounds([1, 1, 1], 4)
    with pytest.raises(UserError, match="2 folds or more"):
        fold_bounds([1, 1, 1], 1)


def write_corpus(corpus_dir: Path, splits: dict) -> None:
    nlp = spacy.blank("pt")
    corpus_dir.mkdir(parents=True)
    for split, texts in splits.items():
        docs = []
        for index, text in enumerate(texts):
            doc = nlp(text)
            doc.user_data.update({"id": f"{split}:{index}"})
            docs.append(doc)
        DocBin(docs=docs, store_user_data=True).to_disk(corpus_dir / f"{split}.spacy")


def test_each_doc_of_train_and_dev_is_held_out_once_and_test_is_never_read(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, {"train": [f"Frase número {i} do treino ." for i in range(7)],
                          "dev": ["Uma frase de dev .", "Outra frase de dev ."]})
    (corpus / "test.spacy").write_bytes(b"not a DocBin: reading it would fail")
    docs = pooled_docs(corpus, "pt")
    assert [doc.user_data["id"] for doc in docs] == [f"train:{i}" for i in range(7)] + ["dev:0", "dev:1"]
    folds = write_folds(docs, 3, tmp_path / "folds")
    vocab = spacy.blank("pt").vocab

    def ids(fold: int, split: str) -> list:
        path = tmp_path / "folds" / f"fold-{fold}" / f"{split}.spacy"
        return [doc.user_data["id"] for doc in DocBin().from_disk(path).get_docs(vocab)]

    held_out = [ids(fold, "dev") for fold in range(3)]
    assert sum(held_out, []) == [doc.user_data["id"] for doc in docs]  # in order, each once
    for fold in range(3):
        assert ids(fold, "train") == [i for i in sum(held_out, []) if i not in held_out[fold]]
        record = folds[fold]
        assert (record["first_doc"], record["last_doc"]) == (held_out[fold][0], held_out[fold][-1])
        assert record["dev_words"] + record["train_words"] == sum(len(doc) for doc in docs)
    # Written again, a fold's files are left as they are: finished runs of them stay reusable.
    stamp = (tmp_path / "folds" / "fold-1" / "train.spacy").stat().st_mtime_ns
    assert write_folds(pooled_docs(corpus, "pt"), 3, tmp_path / "folds") == folds
    assert (tmp_path / "folds" / "fold-1" / "train.spacy").stat().st_mtime_ns == stamp
    (corpus / "dev.spacy").unlink()
    with pytest.raises(UserError, match="corpus not found") as missing:
        pooled_docs(corpus, "pt")
    assert "dev.spacy" in str(missing.value)


def test_each_folds_vectors_learn_from_text_without_its_held_out_sentences_and_are_reused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    train = [f"O juiz {name} julgou o recurso {i} em Brasília ." for i, name in
             enumerate(["Pedro", "Ana", "Rui", "Luís", "Rita", "Caio"])]
    dev = ["A ministra Joana votou em Recife .", "O tribunal de Manaus negou o pedido ."]
    write_corpus(corpus, {"train": train, "dev": dev})
    folds = write_folds(pooled_docs(corpus, "pt"), 2, tmp_path / "folds")
    # A sentence of each held-out block, and one of neither, in the text the vectors learn from.
    text = write_lines(tmp_path / "text.txt", [train[0], dev[1], "Choveu muito no litoral durante a semana ."])
    settings = read_floret_settings(settings_file("vectors", tmp_path, dim=12, rows=300, epochs=2))
    records = prepare_fold_vectors(folds, [text], "pt", settings)
    assert [(r["removed"]["exact"], r["removed"]["near"]) for r in records] == [(1, 0), (1, 0)]
    for fold, planted_elsewhere, held_out in ((0, dev[1], train[0]), (1, train[0], dev[1])):
        fold_dir = tmp_path / "folds" / f"fold-{fold}"
        kept = gzip.decompress((fold_dir / "unlabelled.txt.gz").read_bytes()).decode("utf8")
        assert held_out not in kept and planted_elsewhere in kept
        record = srsly.read_json(fold_dir / "vectors" / "vectors.json")
        assert record["counts"] == {"train": {"texts": folds[fold]["train_docs"],
                                              "words": folds[fold]["train_words"]},
                                    "unlabelled": {"texts": 2, "words": records[fold]["unlabelled_words_kept"]}}
        assert records[fold]["vectors"] == (fold_dir / "vectors").as_posix()
    # Unchanged inputs and settings: nothing is made again. New settings: the vectors are.
    made = [(tmp_path / "folds" / f"fold-{fold}" / name).read_bytes()
            for fold in (0, 1) for name in ("unlabelled.txt.gz", "vectors/vectors.json")]
    assert prepare_fold_vectors(folds, [text], "pt", settings) == records
    assert made == [(tmp_path / "folds" / f"fold-{fold}" / name).read_bytes()
                    for fold in (0, 1) for name in ("unlabelled.txt.gz", "vectors/vectors.json")]
    again = prepare_fold_vectors(folds, [text], "pt", {**settings, "epochs": 3})
    assert [record["settings"]["epochs"] for record in again] == [3, 3]
    # New text: the fold's text is filtered again and the vectors learn from it.
    write_lines(text, [train[0], dev[1], "Choveu muito no litoral .", "Fez sol no interior ."])
    grown = prepare_fold_vectors(folds, [text], "pt", {**settings, "epochs": 3})
    assert [srsly.read_json(Path(r["vectors"]) / "vectors.json")["counts"]["unlabelled"]["texts"] for r in grown] \
        == [3, 3]


def test_fold_vectors_name_an_extra_system_and_need_floret_settings(tmp_path: Path) -> None:
    extra = {"floret": [tmp_path / "cnn.cfg"]}
    with pytest.raises(UserError, match="--fold-vectors names 'florte', not an --extra system"):
        check_fold_vectors(["florte"], extra, tmp_path / "vectors.yml")
    with pytest.raises(UserError, match="--fold-vectors needs --vectors-settings"):
        check_fold_vectors(["floret"], extra, None)
    check_fold_vectors(["floret"], extra, tmp_path / "vectors.yml")
    check_fold_vectors([], extra, None)


def fold_run(system: str, fold: int, seed: int, f: float) -> dict:
    return {"system": system, "fold": fold, "seed": seed, "reused": False, "f": f, "p": f, "r": f,
            "per_label": {"PER": f}, "best_step": 100, "steps": 200, "train_seconds": 10.0}


def test_a_lever_is_compared_with_the_template_fold_by_fold_with_seeds_averaged_first() -> None:
    folds = [{"fold": i, "dev_words": 100, "train_words": 300, "dev_docs": 1, "train_docs": 3,
              "first_doc": f"d{i}", "last_doc": f"d{i}"} for i in range(3)]
    template = {0: 0.80, 1: 0.70, 2: 0.75}
    lever = {0: (0.81, 0.83), 1: (0.70, 0.72), 2: (0.74, 0.74)}  # two seeds a fold: +0.02, +0.01, -0.01
    runs = [fold_run("template", fold, seed, f) for fold, f in template.items() for seed in (0, 1)]
    runs += [fold_run("lever", fold, seed, f) for fold, fs in lever.items() for seed, f in zip((0, 1), fs)]
    summary = summarise(runs, folds)
    assert summary["template"]["f_by_fold"] == pytest.approx([0.80, 0.70, 0.75])
    assert "vs_template" not in summary["template"]
    against = summary["lever"]["vs_template"]
    assert against["gain_by_fold"] == pytest.approx([0.02, 0.01, -0.01])
    assert (against["folds_ahead"], against["folds_behind"]) == (2, 1)
    assert against["p_paired"] == pytest.approx(paired_t_test([0.02, 0.01, -0.01])["p"])
    # Each fold holds out a third of what it trains on: the corrected test is the wider one.
    assert against["p_corrected"] == pytest.approx(paired_t_test([0.02, 0.01, -0.01], 1 / 3)["p"])
    assert against["p_corrected"] > against["p_paired"]
    table = results_markdown({"dataset": "sample", "corpus_dir": "corpus/sample", "seeds": [0, 1],
                              "budget": {"max_steps": 200}, "parallel": 2, "folds": folds,
                              "configs": {"template": "`base.cfg`", "lever": "`base.cfg` + `lever.cfg`"},
                              "summary": summary, "created": "now",
                              "environment": {"platform": "Linux", "cpu_count": 2,
                                              "versions": {"python": "3", "spacy": "3", "thinc": "8"}}})
    assert "| `lever` | 82.00, 71.00, 74.00 | 75.67 ± 5.69 |" in table
    assert f"| +0.67 | 2 / 1 | {against['p_paired']:.3f} | {against['p_corrected']:.3f} |" in table
    assert "pooled (300 words; the test split is not read)" in table and "(seeds 0, 1)" in table


def test_an_overlay_a_search_chose_on_dev_is_refused(tmp_path: Path) -> None:
    lever = tmp_path / "lever.cfg"
    lever.write_text("# A lever written by hand\n[components.ner.model]\nhidden_width = 96\n")
    check_not_chosen_on_dev([lever])
    tuned = tmp_path / "tuned.cfg"
    header = f"# Generated by scripts/tune.py: best trial, {chosen_on([0, 1, 2])}"
    tuned.write_text(lever.read_text().replace("# A lever written by hand", header))
    with pytest.raises(UserError, match="chosen by its score on the dev split") as refused:
        check_not_chosen_on_dev([lever, tuned])
    assert "tuned.cfg" in str(refused.value)
