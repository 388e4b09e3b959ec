from pathlib import Path

import pytest

from scripts.lib.errors import UserError
from scripts.lib.readers import ReadOptions, read_records, tags_to_spans

from .conftest import write_lines


def test_jsonl_reads_text_entities_and_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "data.jsonl", [
        '{"id": "a", "text": "Ana mora em Lisboa.", "entities": [[0, 3, "PER"], [12, 18, "LOC"]]}',
        "",
        '{"text": "Sem entidades.", "entities": [{"start": 0, "end": 3, "label": "X"}], "doc_id": 7}',
    ])
    first, second = read_records(path)
    assert (first.id, first.line, first.entities) == ("a", 1, [(0, 3, "PER"), (12, 18, "LOC")])
    assert (second.line, second.entities, second.group) == (3, [(0, 3, "X")], "7")


@pytest.mark.parametrize("line, cause", [
    ('{"text": "abc", "entities": [[0, 2, "X"]', "line 1"),
    ('["not", "an", "object"]', "expected a JSON object"),
    ('{"entities": []}', "missing 'text' or 'doc_text' string (the record's keys: 'entities')"),
    ('{"text": "abc", "entities": [[0, 9, "X"]]}', "offsets outside the text"),
    ('{"text": "abc", "entities": [[2, 2, "X"]]}', "offsets outside the text"),
    ('{"text": "abc", "entities": [[0, 1]]}', "is not [start, end, label]"),
    ('{"text": "abc", "entities": [[0, 1, ""]]}', "label must be a non-empty string"),
    ('{"text": "abc", "entities": [["0", 1, "X"]]}', "offsets must be integers"),
])
def test_jsonl_structural_errors_name_file_and_line(tmp_path: Path, line: str, cause: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", ['{"text": "ok", "entities": []}', line])
    with pytest.raises(UserError) as err:
        read_records(path)
    message = str(err.value)
    assert message.startswith(f"{path}:2: ")
    if cause != "line 1":
        assert cause in message


@pytest.mark.parametrize("name, text, where", [
    ("latin1.jsonl", '{"text": "ok"}\n{"text": "São Paulo"}\n', r"latin1.jsonl:2: not valid UTF-8 \(byte 12 of the "
                                                                  r"line, 0xE3; as Windows-1252 it reads 'São'\)"),
    # Kaggle's ner_dataset.csv is Latin-1: the word ends at the separator.
    ("ner_dataset.csv", "Sentence #,Word,POS,Tag\nSentence: 1,Café,NN,O\n",
     r"ner_dataset.csv:2: not valid UTF-8 \(byte 16 of the line, 0xE9; as Windows-1252 it reads 'Café'\)"),
])
def test_invalid_utf8_names_the_line_the_byte_and_the_word_as_windows_1252_reads_it(
        tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(UserError, match=where + r"; re-save the file as UTF-8, or name its encoding with the "
                                                r"legacy_encoding var \(e.g. cp1252\)$"):
        read_records(path)
    assert read_records(path, ReadOptions(legacy_encoding="latin-1"))[-1].text in ("São Paulo", "Café")


def test_invalid_utf8_outside_windows_1252_names_only_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    # 0x81 means nothing in Windows-1252: only the byte is named.
    path.write_bytes(b'{"text": "a\x81b"}\n')
    with pytest.raises(UserError, match=r"latin1.jsonl:1: not valid UTF-8 \(byte 12 of the line, 0x81\); re-save"):
        read_records(path)


@pytest.mark.parametrize("content", [b"", b"\n \n"])
def test_empty_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError, match="empty.jsonl: file is empty"):
        read_records(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unsupported file type '.xml'"):
        read_records(write_lines(tmp_path / "data.xml", ["<a/>"]))


def test_conll_sentences_offsets_and_documents(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "train.conll", [
        "-DOCSTART- -X- O O", "",
        "Ana NNP B-NP B-PER", "Costa NNP I-NP I-PER", "mora VB B-VP O", "em IN B-PP O",
        "Lisboa NNP B-NP B-LOC", ". . O O", "",
        "-DOCSTART- -X- O O", "",
        "Olá UH O O",
    ])
    first, second = read_records(path)
    assert first.text == "Ana Costa mora em Lisboa ."
    found = [first.text[s:e] + "/" + label for s, e, label in first.entities]
    assert found == ["Ana Costa/PER", "Lisboa/LOC"]
    assert first.words[:2] == ["Ana", "Costa"] and first.spaces[-1] is False
    assert (first.line, second.line) == (3, 12)
    assert first.group != second.group


@pytest.mark.parametrize("tags, spans", [
    (["B-PER", "I-PER", "O", "B-LOC"], [(0, 1, "PER"), (3, 3, "LOC")]),  # IOB2
    (["I-PER", "I-PER", "B-PER", "O"], [(0, 1, "PER"), (2, 2, "PER")]),  # IOB1
    (["B-ORG", "I-ORG", "L-ORG", "U-LOC"], [(0, 2, "ORG"), (3, 3, "LOC")]),  # BILUO
    (["S-PER", "B-ORG", "E-ORG", "O"], [(0, 0, "PER"), (1, 2, "ORG")]),  # BIOES
    (["B-PER", "I-LOC", "O"], [(0, 0, "PER"), (1, 1, "LOC")]),  # label change starts a span
    (["O", "O"], []),
])
def test_tags_to_spans(tags, spans) -> None:
    assert tags_to_spans(tags) == spans


@pytest.mark.parametrize("line, cause", [
    ("Ana", "expected a token and a tag"),
    ("Ana PER", "tag 'PER' is not O or B-"),
])
def test_conll_malformed_lines(tmp_path: Path, line: str, cause: str) -> None:
    path = write_lines(tmp_path / "bad.conll", ["Olá O", line])
    with pytest.raises(UserError, match=rf"bad.conll:2: {cause}"):
        read_records(path)
