"""The annotation-rounds simulation: its selections, its verdict against random,
and the benchmark command end to end on the sample."""

from pathlib import Path

from spacy.tokens import DocBin

from bench.active import committee_selection, initial_selection, pool_docs, random_selection, verdict
from scripts.lib.seeds import mean_std
from tests.conftest import ruler_run


def test_round_zero_is_seeded_and_random_rounds_add_only_unlabelled_units() -> None:
    start = initial_selection(200, 0.1, 0)
    assert start == initial_selection(200, 0.1, 0) != initial_selection(200, 0.1, 1) and len(start) == 20
    unlabelled = [index for index in range(200) if index not in start]
    added = random_selection(unlabelled, 10, 0, 1)["added"]
    assert len(added) == 10 and not set(added) & set(start)
    assert added != random_selection(unlabelled, 10, 0, 2)["added"]  # each round draws anew


def test_the_committee_picks_the_units_its_models_dispute(corpus_and_config: Path, tmp_path: Path) -> None:
    corpus = corpus_and_config / "corpus"
    runs = [ruler_run(tmp_path / f"s{seed}", corpus, patterns) for seed, patterns in enumerate((
        [{"label": "LOC", "pattern": "Lisboa"}], [{"label": "ORG", "pattern": "Lisboa"}]))]
    docs = pool_docs(corpus / "train.spacy", "document")
    assert len(docs) == len(DocBin().from_disk(corpus / "train.spacy"))
    disputed = [index for index, doc in enumerate(docs) if "Lisboa" in doc.text]
    unlabelled = list(range(len(docs)))
    chosen = committee_selection(runs, docs, unlabelled, len(disputed), batch_size=16)
    assert chosen["contested_in_pool"] >= len(disputed) > 0
    picked = set(chosen["added"])
    assert picked <= set(disputed) and len(picked) + chosen["near_duplicates_passed_over"] >= 1
    assert all(score > 0 for score in chosen["scores"].values())


def row(strategy: str, number: int, share: float, values: list) -> dict:
    # The committee picks longer units: 1.5 times random's words for the same share.
    words = share * (1.5 if strategy == "committee" and number else 1)
    return {"strategy": strategy, "round": number, "share": share, "share_words": words,
            "f": mean_std(values), "values": values}


def test_the_verdict_gives_the_share_that_reaches_randoms_last_score_and_the_saving() -> None:
    rows = [row("random", 0, 0.10, [0.60, 0.62]), row("committee", 0, 0.10, [0.60, 0.62]),
            row("random", 1, 0.15, [0.65, 0.67]), row("committee", 1, 0.15, [0.70, 0.70]),
            row("random", 2, 0.20, [0.70, 0.70]), row("committee", 2, 0.20, [0.60, 0.62])]
    outcome = verdict(rows, "committee")
    assert outcome["reached_at_share"] == 0.15 and outcome["saving"] == 0.25
    assert round(outcome["reached_at_share_words"], 6) == 0.225 and outcome["saving_words"] == -0.125  # none by the word
    assert outcome["rounds_below_random_beyond_spread"] == [2]
    assert verdict(rows[:2] + rows[2:4], "committee")["rounds_below_random_beyond_spread"] == []


def test_sentences_are_the_pool_when_the_unit_is_a_sentence(tmp_path: Path) -> None:
    import spacy

    nlp = spacy.blank("pt")
    doc = nlp("A Ana mora em Lisboa. O Rui mora no Porto.")
    for token in doc:
        token.is_sent_start = token.i in (0, 6)
    doc.ents = [doc.char_span(2, 5, "PER"), doc.char_span(36, 41, "LOC")]
    DocBin(docs=[doc]).to_disk(tmp_path / "train.spacy")
    sentences = pool_docs(tmp_path / "train.spacy", "sentence")
    assert [s.text.strip() for s in sentences] == ["A Ana mora em Lisboa.", "O Rui mora no Porto."]
    assert [[(e.text, e.label_) for e in s.ents] for s in sentences] == [[("Ana", "PER")], [("Porto", "LOC")]]
