"""Readers for annotation-tool exports and spaCy's own formats, and format detection."""

import bz2
import json
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import Doc, DocBin
from spacy.training import docs_to_json
from spacy.training.converters import iob_to_docs

from scripts.lib.errors import UserError
from scripts.lib.readers import FileStats, ReadOptions, detect_format, iter_records, read_records

from .conftest import preprocess, write_lines

TEXT = "Ana Costa mora em Lisboa."


def spans(record):
    return [f"{record.text[s:e]}/{label}" for s, e, label in record.entities]


def test_prodigy_keeps_accepted_spans_and_marks_the_rest(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "prodigy.jsonl", [
        json.dumps({"text": TEXT, "spans": [{"start": 0, "end": 9, "label": "PER"}], "answer": "accept",
                    "_input_hash": 11}),
        json.dumps({"text": "Outro texto.", "spans": [], "answer": "reject"}),
        json.dumps({"text": "Mais um.", "answer": "ignore"}),
    ])
    assert detect_format(path) == "prodigy"
    accepted, rejected, ignored = read_records(path)
    assert (accepted.id, spans(accepted), accepted.skip) == ("11", ["Ana Costa/PER"], None)
    assert rejected.skip == "Prodigy answer 'reject'" and ignored.skip == "Prodigy answer 'ignore'"


@pytest.mark.parametrize("record", [
    {"id": 1, "text": TEXT, "label": [[0, 9, "PER"], [18, 24, "LOC"]]},
    {"id": 1, "text": TEXT, "entities": [{"id": 5, "label": "PER", "start_offset": 0, "end_offset": 9},
                                         {"id": 6, "label": "LOC", "start_offset": 18, "end_offset": 24}]},
])
def test_doccano_exports(tmp_path: Path, record) -> None:
    path = write_lines(tmp_path / "doccano.jsonl", [json.dumps(record)])
    assert detect_format(path) == "doccano"
    (read,) = read_records(path)
    assert spans(read) == ["Ana Costa/PER", "Lisboa/LOC"]


def test_label_studio_json_min_export(tmp_path: Path) -> None:
    """Label Studio's JSON-MIN export: flat records, each span with its `labels` list."""
    path = tmp_path / "project-1-at-2026.json"
    records = [{"id": 1, "text": TEXT, "annotator": 1, "lead_time": 3.2, "label": [
        {"start": 0, "end": 9, "text": "Ana Costa", "labels": ["PER"]},
        {"start": 18, "end": 24, "text": "Lisboa", "labels": ["LOC"]}]}]
    path.write_text(json.dumps(records), encoding="utf8")
    (read,) = read_records(path)
    assert (read.id, spans(read)) == ("1", ["Ana Costa/PER", "Lisboa/LOC"])
    records[0]["label"][1]["labels"] = ["LOC", "ORG"]
    path.write_text(json.dumps(records), encoding="utf8")
    with pytest.raises(UserError, match=r"project-1-at-2026.json:1: entity .*: 2 labels on one span \(one expected\)"):
        read_records(path)


def brat_document(folder: Path, name: str, text: str, lines: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf8")
    return write_lines(folder / f"{name}.ann", lines)


BRAT_TEXT = "Ana Costa mora em Lisboa.\nA TAP voa para o Porto e Faro."


def test_brat_standoff_documents_in_a_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "train"
    brat_document(corpus, "a", BRAT_TEXT, [
        "T1\tPER 0 9\tAna Costa", "T2\tLOC 18 24\tLisboa", "R1\tLivesIn Arg1:T1 Arg2:T2", "#1\tAnnotatorNotes T1\tok",
        "T3\tORG 28 31\tTAP", "A1\tNegated T3", "T4\tLOC 43 48;51 55\tPorto Faro"])
    brat_document(corpus / "more", "b", "Nada aqui.", [])  # a document without entities
    assert detect_format(corpus) == "brat"
    first, second = read_records(corpus)
    assert (first.id, first.source, second.id, second.text) == ("a", str(corpus / "a.ann"), "more/b", "Nada aqui.")
    assert spans(first) == ["Ana Costa/PER", "Lisboa/LOC", "TAP/ORG", "Porto/LOC", "Faro/LOC"]
    assert first.repairs == [(7, "discontinuous entity split", "T4 LOC read as 2 entities, one a fragment")]
    assert spans(read_records(corpus / "a.ann")[0]) == spans(first)  # one .ann file alone


@pytest.mark.parametrize("mark, newline", [("", "\r\n"), ("\ufeff", "\n"), ("\ufeff", "\r\n")])
def test_brat_offsets_count_a_byte_order_mark_and_a_crlf_as_brat_does(tmp_path: Path, mark: str,
                                                                      newline: str) -> None:
    """brat reads its texts as UTF-8 with universal newlines, without dropping a
    byte-order mark: a Windows editor's text keeps the offsets brat wrote, the
    fragments of a discontinuous entity (no text to check them by) included."""
    shift = len(mark)
    folder = tmp_path / "train"
    brat_document(folder, "a", mark + BRAT_TEXT.replace("\n", newline), [
        f"T1\tPER {shift} {9 + shift}\tAna Costa", f"T2\tORG {28 + shift} {31 + shift}\tTAP",
        f"T3\tLOC {43 + shift} {48 + shift};{51 + shift} {55 + shift}\tPorto Faro"])
    (record,) = read_records(folder)
    assert record.text == BRAT_TEXT
    assert spans(record) == ["Ana Costa/PER", "TAP/ORG", "Porto/LOC", "Faro/LOC"]
    assert [cause for _, cause, _ in record.repairs] == ["discontinuous entity split"]


@pytest.mark.parametrize("lines, cause", [
    (["T1\tPER 0 9 Ana Costa"], r"a.ann:1: not a brat text-bound annotation"),
    (["T1\tPER 0 9\tAna Costa", "T2\tLOC 18 23\tLisboa"], r"a.ann:2: entity \[18, 23, 'LOC'\]: the export gives "
                                                         r"its text as 'Lisboa', but the text at those offsets is 'Lisbo'"),
    (["T1\tPER 0 90\tAna Costa"], r"a.ann:1: entity \[0, 90, 'PER'\]: offsets outside the text"),
])
def test_brat_errors_name_the_annotation_line(tmp_path: Path, lines: list, cause: str) -> None:
    with pytest.raises(UserError, match=cause):
        read_records(brat_document(tmp_path, "a", BRAT_TEXT, lines))


def test_a_brat_annotation_file_needs_its_text(tmp_path: Path) -> None:
    write_lines(tmp_path / "train" / "a.ann", ["T1\tPER 0 3\tAna"])
    with pytest.raises(UserError, match=r"a.ann: no text file beside it \(expected a.txt\)"):
        read_records(tmp_path / "train")


def test_preprocess_reads_brat_split_folders_and_their_texts_are_not_listed_as_unread(tmp_path: Path) -> None:
    data = tmp_path / "corpus"
    for split, count in (("train", 6), ("dev", 2), ("test", 2)):
        for index in range(count):
            text = f"Documento {split} {index}: Ana Costa mora em Lisboa."
            start = text.index("Ana")
            brat_document(data / split, f"d{index}", text, [f"T1\tPER {start} {start + 9}\tAna Costa",
                                                          f"T2\tLOC {start + 18} {start + 24}\tLisboa"])
    write_lines(data / "README.md", ["a brat export"])
    write_lines(data / "train" / "annotation.conf", ["[entities]", "PER", "LOC"])
    write_lines(data / "train" / "unannotated.txt", ["Texto sem anotação."])
    result = preprocess(data, tmp_path / "out", "--dedupe", "none", "--min-label-count", "1")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert [(Path(s["path"]).name, s["format"], s["records"], s["entities"]) for s in report["sources"]] == [
        ("dev", "brat", 2, 4), ("test", "brat", 2, 4), ("train", "brat", 6, 12)]
    assert [Path(item["path"]).name for item in report["not_read"]] == ["README.md", "annotation.conf",
                                                                          "unannotated.txt"]
    assert {split: values["docs"] for split, values in report["splits"].items()} == {"train": 6, "dev": 2, "test": 2}


# Kaggle's "ner_dataset.csv" (the GMB corpus) as it is laid out: the sentence named on its first row only.
GMB_LINES = ["Sentence #,Word,POS,Tag", "Sentence: 1,Thousands,NNS,O", ",of,IN,O", ",London,NNP,B-geo",
             ',",",",",O', "Sentence: 2,Iraqi,JJ,B-gpe", ",Prime,NNP,B-per", ",Minister,NNP,I-per"]


@pytest.mark.parametrize("lines", [
    GMB_LINES,
    ["sentence_id;token;label", "1;Thousands;O", "1;of;O", "1;London;B-geo", "1;,;O",  # every row, Excel's ";"
     "2;Iraqi;B-gpe", "2;Prime;B-per", "2;Minister;I-per"],
    ["word\ttag", "Thousands\tO", "of\tO", "London\tB-geo", ",\tO", "", "Iraqi\tB-gpe", "Prime\tB-per",
     "Minister\tI-per"],  # no sentence column: a blank row ends a sentence
], ids=["first row only", "every row", "blank rows"])
def test_a_table_of_one_token_a_row_with_a_header(tmp_path: Path, lines: list) -> None:
    path = write_lines(tmp_path / "ner_dataset.csv", lines)
    assert detect_format(path) == "csv"
    first, second = read_records(path)
    assert (first.line, first.words, spans(first)) == (2, ["Thousands", "of", "London", ","], ["London/geo"])
    assert (second.words, spans(second)) == (["Iraqi", "Prime", "Minister"], ["Iraqi/gpe", "Prime Minister/per"])


def test_preprocess_reads_split_tables(tmp_path: Path) -> None:
    data = tmp_path / "kaggle"
    for split in ("train", "valid", "test"):
        write_lines(data / f"{split}.csv", GMB_LINES)
    result = preprocess(data, tmp_path / "out", "--dedupe", "none", "--min-label-count", "1", "--n-sents", "1")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert sorted((Path(s["path"]).name, s["format"], s["tag_scheme"], s["records"], s["entities"])
                  for s in report["sources"]) == [(f"{split}.csv", "csv", "iob2", 2, 3)
                                                  for split in ("test", "train", "valid")]
    assert {split: values["docs"] for split, values in report["splits"].items()} == {"train": 2, "dev": 2, "test": 2}


def test_spacy_and_displacy_ents_are_entities_and_spans_under_other_keys_stop(tmp_path: Path) -> None:
    nlp = spacy.blank("pt")
    doc = nlp("Ana mora em Lisboa.")
    doc.ents = [doc.char_span(0, 3, "PER"), doc.char_span(12, 18, "LOC")]
    path = write_lines(tmp_path / "a.jsonl", [json.dumps(doc.to_json()), json.dumps(
        {"text": "Rui", "ents": [{"start": 0, "end": 3, "label": "PER"}], "title": None})])
    assert [spans(record) for record in read_records(path)] == [["Ana/PER", "Lisboa/LOC"], ["Rui/PER"]]
    for key, value in (("annotations", [[0, 3, "PER"]]), ("ner", [{"start_char": 0, "end": 3, "entity_group": "PER"}])):
        path = write_lines(tmp_path / "b.jsonl", ['{"text": "Eva", "tokens": [{"start": 0, "end": 3}]}',
                                                 json.dumps({"text": "Ana", key: value})])
        with pytest.raises(UserError, match=rf"b.jsonl:2: spans under '{key}', which is not read: entities go "
                                            r"under 'entities' or 'ents'"):
            read_records(path)


def test_token_lists_with_tag_names_as_hugging_face_datasets_write_them(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "train.jsonl", [json.dumps(record) for record in (
        {"id": "0", "tokens": ["-DOCSTART-"], "ner_tags": ["O"]},  # as Hugging Face's conll2003 keeps it
        {"id": "1", "tokens": ["Ana", "Costa", "mora", "em", "Lisboa", "."],
         "ner_tags": ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]},
        {"id": "2", "tokens": ["Rui", "foi"], "ner_tags": ["I-PER ", "O"]})])
    assert detect_format(path) == "tokens"
    first, second = read_records(path)
    assert (spans(first), spans(second), second.words, second.line) == (
        ["Ana Costa/PER", "Lisboa/LOC"], ["Rui/PER"], ["Rui", "foi"], 3)
    assert [(line, cause) for line, cause, _ in second.repairs] == [
        (3, "label whitespace stripped"), (3, "invalid tag sequence")]  # the record's own line, not line + token
    assert first.group == second.group == "train.jsonl#doc1"  # one document: joined as CoNLL's sentences are


def test_numeric_tag_ids_are_read_under_the_tag_names_var(tmp_path: Path) -> None:
    """Hugging Face's dataset.to_json() keeps class ids; the names come from its features."""
    names = ReadOptions(tag_names="O, B-PER,I-PER,B-LOC,I-LOC")
    path = write_lines(tmp_path / "train.jsonl", [json.dumps({"tokens": ["Ana", "Costa", "mora", "em", "Lisboa"],
                                                              "ner_tags": [1, 2, 0, 0, 3]})])
    stats = FileStats()
    (record,) = iter_records(path, names, stats)
    assert (spans(record), stats.named_tag_ids) == (["Ana Costa/PER", "Lisboa/LOC"], 5)
    write_lines(path, [json.dumps({"tokens": ["Ana", "Rui"], "ner_tags": [1, 7]})])
    with pytest.raises(UserError, match=r"train.jsonl:1: tag id 7 has no name: the tag_names var names ids 0 to 4"):
        read_records(path, names)


@pytest.mark.parametrize("record, cause", [
    ({"tokens": ["Ana"], "ner_tags": [1]}, r"the tags are numbers \(class ids\): set the tag_names var to their names "
                                           r"in id order"),
    ({"tokens": ["Ana", "mora"], "ner_tags": ["B-PER"]}, r"2 token\(s\) but 1 tag\(s\)"),
    ({"tokens": ["Ana", "mora"], "tags": ["B-PER", "b-loc"]}, r"token 2 \('mora'\): tag 'b-loc' is not O or .* "
                                                               r"\(prefixes and O are upper case\)$"),
    ({"tokens": ["Ana"]}, r"no list of tags under 'ner_tags' or 'tags' or 'labels'"),
])
def test_token_list_errors_name_the_line(tmp_path: Path, record: dict, cause: str) -> None:
    with pytest.raises(UserError, match=rf"a.jsonl:2: {cause}"):
        read_records(write_lines(tmp_path / "a.jsonl", ['{"tokens": ["Eva"], "ner_tags": ["B-PER"]}', json.dumps(record)]))


# spaCy's `iob` format, as WikiNER ships it: IOB1 tags, a POS between word and tag.
WIKINER_LINES = ["-DOCSTART-|-X-|O",
                 "O|DET|O presidente|NOUN|O Lula|PROPN|I-PER visitou|VERB|O Recife|PROPN|I-LOC .|PUNCT|O",
                 "",
                 "A|DET|O Petrobras|PROPN|I-ORG e|CCONJ|O a|DET|O Vale|PROPN|I-ORG B|X|B-ORG crescem|VERB|O"]


def test_spacy_iob_format_one_sentence_a_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "train.iob", WIKINER_LINES)
    assert detect_format(path) == "iob"  # by content, as spaCy's convert tells iob from CoNLL
    stats = FileStats()
    first, second = iter_records(path, ReadOptions(), stats)
    assert (first.line, first.words[:3], spans(first)) == (2, ["O", "presidente", "Lula"], ["Lula/PER", "Recife/LOC"])
    assert (second.line, spans(second)) == (4, ["Petrobras/ORG", "Vale/ORG", "B/ORG"])
    assert stats.tag_scheme == "iob1" and first.group == second.group == "train.iob#doc1"
    # the entities spaCy's own converter finds in the same lines
    sentences = "\n".join(line for line in WIKINER_LINES if line and not line.startswith("-DOCSTART-"))
    docs = list(iob_to_docs(sentences, n_sents=1, no_print=True))
    assert [[f"{e.text}/{e.label_}" for e in doc.ents] for doc in docs] == [spans(first), spans(second)]
    # word|tag tokens; the tag is the last field, so a word may hold a "|"
    (record,) = read_records(write_lines(tmp_path / "a.iob", ["Ana|B-PER a|b|O Rui|O"]))
    assert (record.words, spans(record)) == (["Ana", "a|b", "Rui"], ["Ana/PER"])
    (record,) = read_records(write_lines(tmp_path / "b.iob", ["Ana|NOUN|B-PER x|y|SYM|O"]))
    assert record.words == ["Ana", "x|y"]


@pytest.mark.parametrize("lines, options, cause", [
    (["Ana|NOUN|B-PER", "Rui|B-PER"], {}, r"a.iob:2: token 1 \('Rui\|B-PER'\) has 2 '\|'-separated field\(s\), but "
                                        r"the first token of line 1 has 3"),
    (["Ana|B-PER mora|o"], {"format": "iob"}, r"a.iob:1: token 2 \('mora\|o'\): tag 'o' is not O .*upper case"),
    (["|B-PER mora|O"], {"format": "iob"}, r"a.iob:1: token 1 \('\|B-PER'\): empty word"),
    (["Ana B-PER", "mora O"], {"format": "iob"}, r"a.iob:1: token 'Ana' has no '\|' before its tag .* one token a "
                                               r"line is CoNLL: set the 'format' var to conll"),
    (["Ana|B-PER mora|O"], {"format": "conll"}, r"a.iob:1: every column holds a '\|': a sentence of word\|tag tokens "
                                              r"on one line \(spaCy's iob format\)\? Set the 'format' var to iob"),
])
def test_iob_format_errors_name_line_and_token(tmp_path: Path, lines: list, options: dict, cause: str) -> None:
    with pytest.raises(UserError, match=cause):
        read_records(write_lines(tmp_path / "a.iob", lines), ReadOptions(**options))


def test_a_wikiner_file_without_an_extension_is_named_as_iob_and_read_with_the_format_var(tmp_path: Path) -> None:
    data = tmp_path / "wikiner"
    data.mkdir()
    # as WikiNER ships it: bzip2, no suffix under it
    (data / "aij-wikiner-pt-wp3.bz2").write_bytes(bz2.compress("\n".join(WIKINER_LINES * 20).encode("utf8")))
    (data / "aij-wikiner-pt-wp3.tar.bz2").write_bytes(b"")  # an archive of several files is not read
    result = preprocess(data, tmp_path / "out")
    assert result.returncode == 1 and "looks like iob: set the 'format' var to iob to read it" in result.stderr
    assert "aij-wikiner-pt-wp3.tar.bz2: archive, extract it into the dataset folder" in result.stderr
    result = preprocess(data, tmp_path / "out", "--format", "iob", "--dedupe", "none", "--min-label-count", "1")
    assert result.returncode == 0, result.stderr
    (source,) = srsly.read_json(tmp_path / "out" / "data_report.json")["sources"]
    assert (source["format"], source["tag_scheme"], source["records"], source["entities"]) == ("iob", "iob1", 40, 100)


def test_io_tags_are_read_with_the_io_scheme_only(tmp_path: Path) -> None:
    """Labels without prefixes (Few-NERD's layout): a run of one label is one entity."""
    io = ReadOptions(tag_scheme="io")
    conll = write_lines(tmp_path / "a.conll", ["Ana\tperson-actor", "Costa\tperson-actor", "e\tO", "Rui\tperson-actor",
                                               "em\tO", "Lisboa\tLOC", "Porto\tLOC"])
    table = write_lines(tmp_path / "b.csv", ["word,tag", "Ana,PER", "mora,O"])
    assert spans(read_records(conll, io)[0]) == ["Ana Costa/person-actor", "Rui/person-actor", "Lisboa Porto/LOC"]
    assert spans(read_records(table, io)[0]) == ["Ana/PER"]
    with pytest.raises(UserError, match=r"a.conll:1: tag 'person-actor' is not O or B-/I-/E-/S-/L-/U- .* Set the "
                                        r"tag_scheme var to io"):
        read_records(conll)
    prefixed = write_lines(tmp_path / "c.conll", ["Ana\tPER", "Costa\tI-PER"])
    with pytest.raises(UserError, match=r"c.conll:2: tag 'I-PER' has the prefix 'I-', but the tag_scheme var is io"):
        read_records(prefixed, io)
    brackets = write_lines(tmp_path / "d.conll", ["Ana\t(PERSON*", "Costa\t*)"])  # CoNLL-2012's '*' is no label
    with pytest.raises(UserError, match=r"d.conll:1: tag '\(PERSON\*' is not O or a label"):
        read_records(brackets, io)


@pytest.mark.parametrize("lines, cause", [
    (["id,w,t", "1,Ana,B-PER"], r"a.csv:1: the header \['id', 'w', 't'\] names no token column \(token, word, form, "
                                r"text\) and no tag column"),
    (["word,tag", "Ana,B-PER,x"], r"a.csv:2: 3 columns, but the header has 2"),
    (["word,tag", "Ana,B-PER", "mora,X"], r"a.csv:3: tag 'X' is not O or B-/I-/E-/S-/L-/U- followed by a label "
                                          r"\(a label without a prefix: .*; else the 'tag' column\)"),
    (["word,tag", " ,O"], r"a.csv:2: empty token"),
])
def test_table_errors_name_the_line(tmp_path: Path, lines: list, cause: str) -> None:
    with pytest.raises(UserError, match=cause):
        read_records(write_lines(tmp_path / "a.csv", lines))


LABEL_STUDIO = [
    {"id": 7, "data": {"text": TEXT}, "annotations": [
        {"was_cancelled": False, "result": [
            {"type": "labels", "value": {"start": 0, "end": 9, "text": "Ana Costa", "labels": ["PER"]}},
            {"type": "labels", "value": {"start": 18, "end": 24, "text": "Lisboa", "labels": ["LOC"]}},
            {"type": "choices", "value": {"choices": ["news"]}},
        ]}]},
    {"id": 8, "data": {"text": "Nada aqui."}, "annotations": [{"was_cancelled": True, "result": []}]},
]


def test_label_studio_export_with_item_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(LABEL_STUDIO, indent=2), encoding="utf8")
    assert detect_format(path) == "label_studio"
    first, second = read_records(path)
    assert (first.id, first.line, spans(first)) == ("7", 2, ["Ana Costa/PER", "Lisboa/LOC"])
    assert second.skip == "no completed annotation" and second.line > first.line


def test_label_studio_span_outside_text_names_the_task_line(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(LABEL_STUDIO))
    bad[0]["annotations"][0]["result"][1]["value"]["end"] = 99
    path = tmp_path / "export.json"
    path.write_text(json.dumps(bad, indent=2), encoding="utf8")
    with pytest.raises(UserError, match=r"export.json:2: entity \[18, 99, 'LOC'\]: offsets outside"):
        read_records(path)


def label_studio_task(text: str, *spans: tuple) -> dict:
    return {"data": {"text": text}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": start, "end": end, "text": span_text, "labels": [label]}}
        for start, end, span_text, label in spans]}]}


EMOJI_TEXT = "Ótimo 🙂🙂 dia: Ana Costa mora em Lisboa."


@pytest.mark.parametrize("name, task", [
    # JavaScript counts an emoji as two (UTF-16 code units): Label Studio, doccano and Argilla have exported so.
    ("offsets in UTF-16 code units", label_studio_task(EMOJI_TEXT, (16, 25, "Ana Costa", "PER"),
                                                       (34, 40, "Lisboa", "LOC"))),
    ("offsets in UTF-8 bytes", label_studio_task(EMOJI_TEXT, (21, 30, "Ana Costa", "PER"),
                                                 (39, 45, "Lisboa", "LOC"))),
    ("offsets in characters with CRLF as one", label_studio_task("Linha um\r\nAna Costa mora\r\nem Lisboa.",
                                                                 (9, 18, "Ana Costa", "PER"),
                                                                 (27, 33, "Lisboa", "LOC"))),
])
def test_offsets_in_other_units_are_read_by_the_spans_own_text_and_reported(tmp_path: Path, name: str,
                                                                            task: dict) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task]), encoding="utf8")
    (record,) = read_records(path)
    assert spans(record) == ["Ana Costa/PER", "Lisboa/LOC"]
    assert [kind for _, kind, _ in record.repairs] == [name, name]
    # In characters, as the tool should have counted, nothing is repaired.
    text = task["data"]["text"]
    fixed = label_studio_task(text, *((text.index(t), text.index(t) + len(t), t, label) for t, label in
                                      (("Ana Costa", "PER"), ("Lisboa", "LOC"))))
    path.write_text(json.dumps([fixed]), encoding="utf8")
    (record,) = read_records(path)
    assert spans(record) == ["Ana Costa/PER", "Lisboa/LOC"] and record.repairs == []


def test_a_span_whose_own_text_no_offset_unit_explains_names_both_texts(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "data.jsonl", [json.dumps(
        {"text": TEXT, "entities": [{"start": 0, "end": 9, "label": "PER", "text": "Ana Costa"},
                                    {"start": 10, "end": 14, "label": "LOC", "text": "Lisboa"}]})])
    with pytest.raises(UserError, match=r"data.jsonl:1: entity \[10, 14, 'LOC'\]: the export gives its text as "
                                        r"'Lisboa', but the text at those offsets is 'mora'"):
        read_records(path)


def test_broken_json_array_names_the_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "export.json", ['[{"data": {"text": "a"}},', '{"data": {"text": "b"}', "]"])
    with pytest.raises(UserError, match=r"export.json:3: not valid JSON"):
        read_records(path, ReadOptions(format="label_studio"))


def make_doc() -> Doc:
    nlp = spacy.blank("pt")
    doc = nlp(TEXT)
    doc.ents = [doc.char_span(0, 9, "PER"), doc.char_span(18, 24, "LOC")]
    return doc


def test_spacy_docbin(tmp_path: Path) -> None:
    path = tmp_path / "data.spacy"
    doc = make_doc()
    doc.spans["sc"] = [doc.char_span(0, 3, "FIRST")]  # spans beside the entities are no concern of NER
    DocBin(docs=[doc], store_user_data=True).to_disk(path)
    (record,) = read_records(path)
    assert spans(record) == ["Ana Costa/PER", "Lisboa/LOC"] and record.words[0] == "Ana"
    doc.ents = []  # a span categorizer's corpus: its annotation only in doc.spans
    DocBin(docs=[doc]).to_disk(path)
    with pytest.raises(UserError, match=r"data.spacy: no doc.ents in any doc, but 1 span\(s\) in doc.spans\['sc'\]"):
        read_records(path)


def test_not_a_docbin_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "data.spacy"
    path.write_bytes(b"definitely not msgpack")
    with pytest.raises(UserError, match="data.spacy: not a spaCy DocBin file"):
        read_records(path)


def test_spacy_v2_json(tmp_path: Path) -> None:
    doc = make_doc()
    for token in doc:
        token.is_sent_start = token.i == 0
    path = tmp_path / "train.json"
    path.write_text(json.dumps([docs_to_json([doc])]), encoding="utf8")
    assert detect_format(path) == "spacy_json"
    (record,) = read_records(path)
    assert spans(record) == ["Ana Costa/PER", "Lisboa/LOC"]


# As BERTimbau ships HAREM: whole documents as "doc_text", offset objects, a trailing space kept in one.
HAREM_LIKE = [
    {"doc_id": "HAREM-1", "doc_text": TEXT, "entities": [
        {"entity_id": 0, "text": "Ana Costa ", "label": "PESSOA", "start_offset": 0, "end_offset": 10},
        {"entity_id": 1, "text": "Lisboa", "label": "LOCAL", "start_offset": 18, "end_offset": 24}]},
    {"doc_id": "HAREM-2", "doc_text": "Nada aqui.", "entities": []},
]


@pytest.mark.parametrize("records, fmt", [
    (HAREM_LIKE, "doccano"),
    ([{"id": 1, "text": TEXT, "label": [[0, 9, "PER"]]}], "doccano"),
    ([{"text": TEXT, "entities": [[0, 9, "PER"]]}], "jsonl"),
    ([{"text": TEXT, "spans": [{"start": 0, "end": 9, "label": "PER"}], "answer": "accept"}], "prodigy"),
])
def test_a_json_array_of_records_is_read_like_their_jsonl(tmp_path: Path, records, fmt: str) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records, indent=2), encoding="utf8")
    assert detect_format(path) == fmt
    read = read_records(path)
    assert [record.text for record in read] == [r.get("text", r.get("doc_text")) for r in records]
    assert spans(read[0])[0] in ("Ana Costa/PER", "Ana Costa /PESSOA")  # spaces are the cleaner's to trim
    assert read[0].line == 2 and (len(read) == 1 or read[1].line > read[0].line)


def test_a_json_array_item_that_is_no_record_names_its_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "records.json", ['[{"text": "a", "entities": []},', '  "b"', "]"])
    with pytest.raises(UserError, match=r"records.json:2: record 2: expected a JSON object"):
        read_records(path)
    path = write_lines(tmp_path / "records.json", ['[{"text": "a", "entities": []},', '{"sentence": "b", "entities": []}]'])
    with pytest.raises(UserError, match=r"records.json:2: missing 'text' or 'doc_text' string \(the record's keys: "
                                        r"'sentence', 'entities'\)"):
        read_records(path)


def test_unrecognised_json_asks_for_the_format_var(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "odd.json", ['[{"sentence": "x"}]'])
    with pytest.raises(UserError, match="set the 'format' var"):
        read_records(path)


def test_conll_tag_column_and_strict_iob2(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "data.conll", [
        "Ana NNP B-PER x", "Costa NNP I-PER x", "mora VB O x", "", "em IN O x", "Lisboa NNP I-LOC x"])
    with pytest.raises(UserError, match="no column -1|is not O or B-"):
        read_records(path)  # last column holds "x"
    records = read_records(path, ReadOptions(tag_column=2))
    assert spans(records[0]) == ["Ana Costa/PER"] and spans(records[1]) == ["Lisboa/LOC"]
    with pytest.raises(UserError, match=r"data.conll:6: I-LOC after O is invalid in IOB2: an entity must start with B-"):
        read_records(path, ReadOptions(tag_column=2, tag_scheme="iob2"))


def test_strict_biluo_rejects_an_unclosed_entity(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "data.conll", ["Ana B-PER", "mora O"])
    with pytest.raises(UserError, match=r"data.conll:2: O after B-PER is invalid in BILUO"):
        read_records(path, ReadOptions(tag_scheme="biluo"))


def test_any_docstart_line_separates_documents(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ned.conll", [
        "-DOCSTART- -DOCSTART- O", "Jan N B-PER", "", "-DOCSTART- -DOCSTART- O", "Piet N B-PER"])
    first, second = read_records(path)
    assert first.words == ["Jan"] and second.words == ["Piet"]  # not a "-DOCSTART-" token
    assert first.group != second.group


def test_unknown_format_and_scheme_are_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", ['{"text": "x"}'])
    with pytest.raises(UserError, match="unknown format 'xml'"):
        read_records(path, ReadOptions(format="xml"))
    with pytest.raises(UserError, match="unknown tag scheme 'bio'"):
        read_records(path, ReadOptions(tag_scheme="bio"))
