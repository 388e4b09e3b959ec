import unicodedata
from typing import List, Optional

import pytest
import spacy

from scripts.lib.cleaning import (
    Cleaner,
    Deduper,
    LeakageIndex,
    check_ratios,
    hash_split,
    normalise_text,
    parse_labels,
    summarise_problems,
)
from scripts.lib.errors import UserError
from scripts.lib.readers import Record


def record(text: str, entities=(), line: int = 1, group: Optional[str] = None) -> Record:
    return Record(source="data.jsonl", line=line, id=f"r{line}", text=text,
                  entities=list(entities), group=group)


def cleaner(policy: str = "drop", labels: str = "") -> Cleaner:
    return Cleaner(spacy.blank("pt"), parse_labels(labels), policy)


# The preprocess step streams records through these classes; the helpers feed them lists.
def convert_records(records, cleaner_: Cleaner) -> list:
    return [(r, doc) for r, doc in ((r, cleaner_.to_doc(r)) for r in records) if doc is not None]


def drop_duplicates(pairs, problems: list) -> list:
    deduper = Deduper(problems)
    return [(r, doc) for r, doc in pairs if deduper.keep(r)]


def split_by_hash(pairs, seed: int, ratios: dict) -> dict:
    check_ratios(ratios)
    splits: dict = {"train": [], **{name: [] for name in ratios}}
    for r, doc in pairs:
        splits[hash_split(r, seed, ratios)].append((r, doc))
    return splits


def find_leakage(splits: dict) -> dict:
    index = LeakageIndex(list(splits))
    for name, records in splits.items():
        for r in records:
            index.add(name, r)
    return index.result()


def ents(doc) -> List[str]:
    return [f"{ent.text}/{ent.label_}" for ent in doc.ents]


def test_clean_record_becomes_doc_with_entities_and_provenance() -> None:
    c = cleaner()
    doc = c.to_doc(record("Ana mora em Lisboa.", [(0, 3, "PER"), (12, 18, "LOC")], line=4))
    assert ents(doc) == ["Ana/PER", "Lisboa/LOC"]
    assert doc.user_data["line"] == 4 and c.problems == []


@pytest.mark.parametrize("lang, text, spans, expected", [
    ("zh", "安娜在里斯本工作。", [(0, 2, "PER"), (3, 6, "LOC")], ["安娜/PER", "里斯本/LOC"]),  # a token a character
    ("hi", "अन्ना दिल्ली में काम करती है।", [(0, 5, "PER"), (6, 12, "LOC")], ["अन्ना/PER", "दिल्ली/LOC"]),
    ("ar", "تعمل آنا في لشبونة.", [(5, 8, "PER"), (12, 18, "LOC")], ["آنا/PER", "لشبونة/LOC"]),  # right to left
])
def test_records_in_other_scripts_become_docs_with_their_entities(lang: str, text: str, spans: list,
                                                                  expected: List[str]) -> None:
    c = Cleaner(spacy.blank(lang), None, "fail")
    assert ents(c.to_doc(record(text, spans))) == expected and c.problems == []


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_dropped_and_reported(text: str) -> None:
    c = cleaner()
    assert c.to_doc(record(text, line=9)) is None
    assert [(p.line, p.action, p.kind) for p in c.problems] == [(9, "dropped record", "empty text")]


def test_whitespace_at_span_edges_is_trimmed_and_reported() -> None:
    c = cleaner()
    doc = c.to_doc(record("A Ana Costa chegou.", [(1, 12, "PER")]))
    assert ents(doc) == ["Ana Costa/PER"]
    assert [(p.action, p.kind) for p in c.problems] == [("fixed span", "whitespace at span edge")]


MISALIGNED = record("A Lusitana Energia investiu.", [(2, 17, "ORG")], line=3)
OVERLAPPING = record("O Banco Central do Brasil cortou juros.", [(2, 25, "ORG"), (2, 15, "ORG")], line=5)


def test_misaligned_span_drops_the_record_by_default() -> None:
    c = cleaner("drop")
    assert c.to_doc(MISALIGNED) is None
    (problem,) = c.problems
    assert (problem.line, problem.action, problem.kind) == (3, "dropped record", "misaligned span")
    assert "'Lusitana Energi' does not align" in problem.reason


def test_misaligned_span_is_expanded_under_fix() -> None:
    c = cleaner("fix")
    assert ents(c.to_doc(MISALIGNED)) == ["Lusitana Energia/ORG"]
    assert [p.action for p in c.problems] == ["fixed span"]


def test_overlapping_spans_drop_record_or_keep_longest() -> None:
    dropper, fixer = cleaner("drop"), cleaner("fix")
    assert dropper.to_doc(OVERLAPPING) is None
    assert dropper.problems[0].kind == "overlapping spans"
    assert ents(fixer.to_doc(OVERLAPPING)) == ["Banco Central do Brasil/ORG"]
    assert "dropped [2, 15, 'ORG']" in fixer.problems[0].reason


def missing(doc) -> List[str]:
    """The tokens left without annotation (spaCy's missing value)."""
    return [token.text for token in doc if token.ent_iob == 0]


def test_mask_keeps_the_record_and_leaves_only_the_odd_spans_tokens_unannotated() -> None:
    text = "Ana visitou a Lusitana Energia e o Banco Central do Brasil em Lisboa."
    # A misaligned span, two overlapping ones, and well-formed entities around them.
    rec = record(text, [(0, 3, "PER"), (14, 29, "ORG"), (35, 58, "ORG"), (35, 48, "ORG"),
                        (62, 68, "LOC")], line=7)
    c = cleaner("mask")
    doc = c.to_doc(rec)
    assert ents(doc) == ["Ana/PER", "Lisboa/LOC"]
    assert missing(doc) == ["Lusitana", "Energia", "Banco", "Central", "do", "Brasil"]
    assert all(token.ent_iob_ == "O" for token in doc if token.text in ("visitou", "em", "."))
    assert [(p.line, p.action, p.kind) for p in c.problems] == [
        (7, "masked span", "overlapping spans"), (7, "masked span", "misaligned span")]
    assert "'Lusitana Energi'" in c.problems[1].reason and "[35, 58]" in c.problems[0].reason


def test_masked_tokens_stay_missing_in_the_corpus_and_are_not_scored(tmp_path) -> None:
    """DocBin keeps the missing value, and spaCy's scorer counts a prediction on
    masked tokens neither right nor wrong."""
    from spacy.tokens import DocBin
    from spacy.training import Example
    from spacy.scorer import get_ner_prf

    doc = cleaner("mask").to_doc(record("Ana visitou a Lusitana Energia.", [(0, 3, "PER"), (14, 29, "ORG")]))
    DocBin(docs=[doc]).to_disk(tmp_path / "test.spacy")
    (gold,) = DocBin().from_disk(tmp_path / "test.spacy").get_docs(doc.vocab)
    assert missing(gold) == ["Lusitana", "Energia"]
    predicted = spacy.blank("pt")(gold.text)
    predicted.ents = [predicted.char_span(0, 3, "PER"), predicted.char_span(14, 30, "ORG")]
    assert get_ner_prf([Example(predicted, gold)])["ents_f"] == 1.0


@pytest.mark.parametrize("bad, cause", [
    (MISALIGNED, "does not align with token boundaries"),
    (OVERLAPPING, "overlapping spans"),
])
def test_fail_policy_stops_with_file_and_line(bad: Record, cause: str) -> None:
    with pytest.raises(UserError, match=rf"^data.jsonl:{bad.line}: .*{cause}"):
        cleaner("fail").to_doc(bad)


def test_unknown_labels_are_dropped_or_fatal() -> None:
    rec = record("Ana mora em Lisboa.", [(0, 3, "PER"), (12, 18, "CITY")])
    c = cleaner("drop", "PER,LOC")
    assert ents(c.to_doc(rec)) == ["Ana/PER"]
    assert [(p.action, p.kind) for p in c.problems] == [("dropped span", "label not in labels")]
    with pytest.raises(UserError, match=r"label 'CITY' is not in labels \(LOC, PER\)"):
        cleaner("fail", "PER,LOC").to_doc(rec)


def test_the_labels_var_renames_merges_and_keeps_the_rest_with_a_star() -> None:
    rec = record("Ana e Rui moram em Lisboa, na Europa.", [(0, 3, "PESSOA"), (6, 9, "person"), (19, 25, "LOCAL"),
                                                           (30, 36, "CONTINENTE")])
    merged = cleaner("drop", "PESSOA=PER,person=PER,LOCAL")
    assert ents(merged.to_doc(rec)) == ["Ana/PER", "Rui/PER", "Lisboa/LOCAL"]
    assert merged.renamed == {("PESSOA", "PER"): 1, ("person", "PER"): 1}
    # a label that already is an output name is kept: data that says PER where the rest says PESSOA
    assert ents(merged.to_doc(record("Eva chegou.", [(0, 3, "PER")], line=2))) == ["Eva/PER"]
    assert [p.reason for p in merged.problems] == [
        "label 'CONTINENTE' is not in labels (LOCAL, PESSOA=PER, person=PER)"]
    starred = cleaner("fail", "PESSOA=PER, *")
    assert ents(starred.to_doc(rec)) == ["Ana/PER", "Rui/person", "Lisboa/LOCAL", "Europa/CONTINENTE"]


def test_unknown_policy_is_rejected() -> None:
    with pytest.raises(UserError, match="on_problem must be one of"):
        cleaner("ignore")


def test_duplicates_keep_the_first_and_say_where_it_is() -> None:
    c = cleaner()
    records = [record("Ana chegou.", [(0, 3, "PER")], line=1), record("Outro texto.", line=2),
               record("Ana chegou.", [(0, 3, "PER")], line=3), record("Ana chegou.", line=4)]
    problems: list = []
    kept = drop_duplicates(convert_records(records, c), problems)
    assert [r.line for r, _ in kept] == [1, 2]
    assert [(p.line, p.kind) for p in problems] == [
        (3, "exact duplicate"), (4, "duplicate text, different entities")]
    assert "of data.jsonl:1" in problems[0].reason
    assert summarise_problems(problems) == {
        "dropped record": {"exact duplicate": 1, "duplicate text, different entities": 1}}


def pairs(records):
    return [(r, None) for r in records]


def test_split_is_deterministic_keeps_documents_together_and_is_stable() -> None:
    records = [record(f"Frase número {i}.", line=i, group=f"doc{i // 4}") for i in range(400)]
    first = split_by_hash(pairs(records), 0, {"dev": 0.15, "test": 0.15})
    again = split_by_hash(pairs(records), 0, {"dev": 0.15, "test": 0.15})
    assert {k: [r.line for r, _ in v] for k, v in first.items()} == \
           {k: [r.line for r, _ in v] for k, v in again.items()}
    groups = {name: {r.group for r, _ in items} for name, items in first.items()}
    assert not (groups["train"] & groups["dev"] or groups["train"] & groups["test"]
                or groups["dev"] & groups["test"])
    assert 40 < len(first["test"]) < 100 and 40 < len(first["dev"]) < 100
    # Adding records does not move existing ones to another split.
    grown = split_by_hash(pairs(records + [record("Nova frase.", line=999)]), 0,
                          {"dev": 0.15, "test": 0.15})
    for name in first:
        assert {r.line for r, _ in first[name]} <= {r.line for r, _ in grown[name]}
    # Another seed gives another split.
    other = split_by_hash(pairs(records), 1, {"dev": 0.15, "test": 0.15})
    assert [r.line for r, _ in other["test"]] != [r.line for r, _ in first["test"]]


@pytest.mark.parametrize("ratios", [{"dev": 0.0, "test": 0.2}, {"dev": 0.6, "test": 0.5}])
def test_split_rejects_bad_ratios(ratios) -> None:
    with pytest.raises(UserError, match="split ratios"):
        split_by_hash([], 0, ratios)


def test_leakage_finds_exact_and_near_identical_texts() -> None:
    leakage = find_leakage({
        "train": [record("Ana chegou a Lisboa.", line=1), record("Texto único.", line=2)],
        "dev": [record("ana chegou a lisboa", line=1)],
        "test": [record("Ana chegou a Lisboa.", line=7)],
    })
    assert leakage["pairs"]["train-test"] == {"exact": 1, "normalised": 1}
    assert leakage["pairs"]["train-dev"] == {"exact": 0, "normalised": 1}
    assert {"splits": "train-test", "train": "data.jsonl:1", "test": "data.jsonl:7",
            "text": "Ana chegou a Lisboa."} in leakage["examples"]


def test_leakage_after_folding_counts_texts_never_fewer_than_the_identical_ones() -> None:
    # CoNLL-2002 Dutch: "1" and "1 ." are both in train and in test: two texts, one folded form.
    numbers = find_leakage({"train": [record("1 ."), record("1")], "test": [record("1"), record("1 .")]})
    assert numbers["pairs"]["train-test"] == {"exact": 2, "normalised": 2}
    # Punctuation alone folds to nothing: "(" and "--" are not the same text.
    punctuation = find_leakage({"train": [record("(")], "test": [record("--")]})
    assert punctuation["pairs"]["train-test"] == {"exact": 0, "normalised": 0}


@pytest.mark.parametrize("one, other", [
    ("北 京 大 学 在 北 京 。", "北京大学在北京"),  # CoNLL's spaced tokens, raw text
    ("東京タワーに行った", "東 京 タ ワ ー に 行 っ た"),
    ("กรุง เทพ มหานคร", "กรุงเทพมหานคร"),  # Thai: spacing never separates its letters
    (unicodedata.normalize("NFD", "Decisão unânime"), "decisão unânime!"),  # decomposed accents
    ("ＡＢＣ １２３", "abc 123"),  # full-width forms
])
def test_normalised_texts_ignore_spacing_of_unspaced_scripts_and_unicode_form(one: str, other: str) -> None:
    assert normalise_text(one) == normalise_text(other)


def test_normalised_words_keep_vowel_signs_and_split_ideographs() -> None:
    assert normalise_text("हिन्दी भाषा, नई दिल्ली!") == "हिन्दी भाषा नई दिल्ली"  # Devanagari signs are marks
    assert normalise_text("iPhone手机 2024年") == "iphone 手 机 2024 年"
    assert normalise_text("Olá, Mundo! d'água") == "olá mundo d água"


def test_parse_labels() -> None:
    assert parse_labels("") is None and parse_labels(" , ") is None
    assert parse_labels(" PER, LOC,,").as_dict() == {"kept": {"LOC": "LOC", "PER": "PER"}, "keep_others": False}
    assert parse_labels("PESSOA = PER,*").as_dict() == {"kept": {"PESSOA": "PER"}, "keep_others": True}
    for bad, cause in (("PER=", "'PER=' is not LABEL, OLD=NEW or \\*"), ("=PER", "'=PER' is not"),
                       ("A=B=C", "'A=B=C' is not"), ("A=B,A=C", "'A' is renamed twice, to 'B' and to 'C'")):
        with pytest.raises(UserError, match=f"labels: {cause}"):
            parse_labels(bad)
