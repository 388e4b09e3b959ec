"""Someone else's data: every file read or reported, repairs made loudly, one-line
failures, and nothing trained on other than what the user gave."""

import bz2
import codecs
import gzip
import json
import lzma
from pathlib import Path
from typing import List

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from scripts.lib.cleaning import Cleaner, SentenceJoiner, label_warnings
from scripts.lib.doc_source import source_line
from scripts.lib.errors import UserError, check_plain_name
from scripts.lib.files import remove_leftovers
from scripts.lib.readers import FileStats, ReadOptions, TranscodedFile, detect_format, iter_records, read_records
from scripts.preprocess import discover, parse_split_files, split_of
from scripts.train import run_lock

from .conftest import copy_project, preprocess, weasel, write_lines


def spans(record) -> List[str]:
    return [f"{record.text[s:e]}/{label}" for s, e, label in record.entities]


# Columns --------------------------------------------------------------------------------


def test_tab_separated_token_with_a_space_stays_whole(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.tsv", ["Ana\tB-PER", "mora\tO", "em\tO", "São Paulo\tB-LOC", ".\tO"])
    (record,) = read_records(path)
    assert record.words == ["Ana", "mora", "em", "São Paulo", "."]
    assert spans(record) == ["Ana/PER", "São Paulo/LOC"]


NO_PREFIX = r"a label without a prefix: IO tags \(a run of one label is one entity\)\? Set the tag_scheme var to io"


@pytest.mark.parametrize("lines, cause", [
    (["Ana B-PER", "Costa I-PER mora O"], r"a.conll:2: 4 columns, but line 1 has 2 \(several token/tag pairs"),
    (["Ana B-PER Costa I-PER"], r"a.conll:1: holds 2 token/tag pairs on one line"),
    (["Ana\tB-PER", "Costa\tx\tI-PER"], r"a.conll:2: 3 columns, but line 1 has 2"),
    ([" ".join(["palavra"] * 500) + " O"], r"a.conll:1: 501 columns on one line: this is running text"),
    # A spreadsheet's or pandas' table: a header row, a row index.
    (["token\ttag", "Ana\tB-PER"], r"a.conll:1: tag 'tag' is not O or .* \(a header row\? CoNLL files have none: "
                                    r"remove it, or read the file as a table with the format var csv; else "
                                    + NO_PREFIX + r"; else check the 'tag_column' var\)"),
    (["\ttoken\ttag", "0\tAna\tB-PER"], r"a.conll:1: empty token \(a header row\? CoNLL files have none: remove it"),
    (["Ana\tB-PER", "mora\tX"], r"a.conll:2: tag 'X' is not O or B-/I-/E-/S-/L-/U- followed by a label \("
                                 + NO_PREFIX + r"; else check the 'tag_column' var\)$"),
    # Tags as other tools and people write them.
    (["Ana\tb-per"], r"a.conll:1: tag 'b-per' .* \(a header row\? .*; else prefixes and O are upper case; else check"),
    (["Ana\tB-PER", "Costa\tI_PER"], r"a.conll:2: tag 'I_PER' .* \(its prefix is joined to the label by another "
                                      r"character than '-'; else check the 'tag_column' var\)$"),
    (["Ana\tB-PER", "Rui\tPER"], r"a.conll:2: tag 'PER' .* \(" + NO_PREFIX),
    (["Ana\tB-PER", "Rui\t(PERSON*", "Costa\t*)"], r"a.conll:2: tag '\(PERSON\*' .* \(CoNLL-2012/OntoNotes bracket "
                                                  r"notation \('\(PERSON\*', '\*', '\*\)'\): convert it to B-/I- tags; else"),
    (["#FORMAT=WebAnno TSV 3.3", "#T_SP=webanno.custom.Entity|value", "", "#Text=Ana mora.", "1-1\t0-3\tAna\tPER[1]"],
     r"a.conll:1: a WebAnno TSV file \(INCEpTION's and WebAnno's own format\), which is not read; export the "
     r"project as CoNLL 2002 or brat instead"),
    (["Ana B-PER", "# a note", "Costa I-PER"], r"a.conll:2: a '#' comment line inside a sentence \(comments go before one\)"),
    (["", *(f"{i}\t{word}\t{tag}" for i, (word, tag) in enumerate([("Ana", "B-PER"), ("mora", "O")] * 10))],
     r"a.conll:2: the first column, which must hold the tokens, is a number on 100% of the token lines: a row "
     r"index, as spreadsheets and pandas write\? Remove that column"),
])
def test_column_layout_errors_name_the_line(tmp_path: Path, lines: List[str], cause: str) -> None:
    with pytest.raises(UserError, match=cause):
        read_records(write_lines(tmp_path / "a.conll", lines))


# Universal NER's layout: sentence comments, token ids, the tag in the third of five columns.
UNER_LINES = ["# sent_id = answers-0001", "# text = Ana mora em São Paulo .", "1\tAna\tB-PER\t-\t-",
              "2\tmora\tO\t-\t-", "3\tem\tO\t-\t-", "4\tSão\tB-LOC\t-\t-", "5\tPaulo\tI-LOC\t-\t-", "6\t.\tO\t-\t-", "",
              "# sent_id = answers-0002", "1\t2\tO\t-\t-", "2\tcasas\tO\t-\t-", ""]


def test_a_first_column_of_token_ids_is_passed_over(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "pt_bosque-ud-train.iob2", UNER_LINES)
    with pytest.raises(UserError, match=r"iob2:3: tag '-' is not O .* \(column 2 holds a tag: set the tag_column var "
                                        r"to 2; else "):
        read_records(path)
    stats = FileStats()
    first, second = iter_records(path, ReadOptions(tag_column=2), stats)
    assert (first.line, first.words, spans(first)) == (3, ["Ana", "mora", "em", "São", "Paulo", "."],
                                                        ["Ana/PER", "São Paulo/LOC"])
    assert second.words == ["2", "casas"] and (stats.token_id_column, stats.comment_lines) == (1, 3)
    # NeuroNLP2's CoNLL-2003: ids before CoNLL's four columns, the tag last
    neuro = write_lines(tmp_path / "eng.train.conll", ["1 EU NNP I-NP I-ORG", "2 rejects VBZ I-VP O", "",
                                                       "1 Peter NNP I-NP I-PER"])
    assert [spans(r) for r in read_records(neuro)] == [["EU/ORG"], ["Peter/PER"]]
    broken = write_lines(tmp_path / "b.conll", ["1 Ana B-PER", "2 mora O", "", "1 Rui B-PER", "3 foi O"])
    with pytest.raises(UserError, match=r"b.conll:5: column 0 holds token ids \(1, 2, ... in each sentence, .*\), but "
                                        r"here it is '3' where 2 was expected"):
        read_records(broken)
    # a sentence that starts with the token "1" has no ids: its next token is not "2"
    listed = write_lines(tmp_path / "c.conll", ["1 CD O", ". . O", "Ana NNP B-PER"])
    assert read_records(listed)[0].words == ["1", ".", "Ana"]
    for split in ("train", "dev", "test"):
        write_lines(tmp_path / "uner" / f"pt_bosque-ud-{split}.iob2", UNER_LINES)
    result = preprocess(tmp_path / "uner", tmp_path / "out", "--tag-column", "2", "--dedupe", "none")
    assert result.returncode == 0, result.stderr
    sources = srsly.read_json(tmp_path / "out" / "data_report.json")["sources"]
    assert len(sources) == 3 and all(source["token_id_column"] for source in sources)
    assert "from column 1: column 0 holds token ids" in " ".join(result.stdout.split())


def test_comment_lines_before_sentences_are_passed_over_and_counted(tmp_path: Path) -> None:
    """As MultiCoNER writes its files ("# id ...<TAB>domain=..."), and CoNLL-U its "# text = ...";
    a token "#" with its tag is a token."""
    path = write_lines(tmp_path / "pt_train.conll", [
        "# id 7f2c\tdomain=pt", "Ana _ _ B-PER", "Costa _ _ I-PER", "# _ _ O", "", "# text = Lisboa", "Lisboa _ _ B-LOC"])
    stats = FileStats()
    first, second = iter_records(path, ReadOptions(), stats)
    assert (first.line, first.words, spans(first)) == (2, ["Ana", "Costa", "#"], ["Ana Costa/PER"])
    assert (second.line, spans(second), stats.comment_lines) == (7, ["Lisboa/LOC"], 2)


def test_preprocess_reports_the_comment_lines_it_passed_over(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for split in ("train", "dev", "test"):
        write_lines(data / f"{split}.conll", [*(["# id 1\tdomain=pt"] if split == "train" else []),
                                             "Ana B-PER", "mora O", "", "Rui B-PER", "saiu O"])
    result = preprocess(data, tmp_path / "out", "--dedupe", "none", "--min-label-count", "1")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert [source["comment_lines"] for source in report["sources"]] == [0, 0, 1]  # dev, test, train
    assert f"Passed over 1 comment line(s) starting with '#' in {data / 'train.conll'}" in " ".join(result.stdout.split())


def test_numbers_among_the_tokens_are_not_a_row_index(tmp_path: Path) -> None:
    """Years and amounts are tokens: only a first column of numbers nearly everywhere is an index."""
    lines = [f"{token}\t{tag}" for token, tag in [("Em", "O"), ("1998", "O"), ("a", "O"), ("TAP", "B-ORG"),
                                                  ("pagou", "O"), ("30", "O"), ("mil", "O")] * 5]
    (record,) = read_records(write_lines(tmp_path / "a.conll", lines))
    assert record.words[:3] == ["Em", "1998", "a"]
    index = [f"{i}\t{tag}" for i, tag in enumerate(["O"] * 19)]  # too few lines to tell
    assert read_records(write_lines(tmp_path / "b.conll", index))[0].words[:2] == ["0", "1"]


def test_bom_and_zero_width_characters_on_any_line_are_removed_and_counted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.conll", ["\ufeffAna B-PER", "mora O", "", "\ufeffem O",
                                              "Lisboa\u200b B-LOC"])
    stats = FileStats()
    first, second = iter_records(path, ReadOptions(), stats)
    assert second.words == ["em", "Lisboa"] and spans(second) == ["Lisboa/LOC"]
    assert stats.removed_characters == {"U+FEFF": 2, "U+200B": 1}
    # A mark that starts a line is a file's (concatenated files); inside a JSON text
    # it is a character the offsets count, so it stays.
    jsonl = write_lines(tmp_path / "b.jsonl", ['{"text": "a"}', '\ufeff{"text": "b\ufeff Ana", "entities": [[3, 6, "PER"]]}'])
    assert [(r.text, spans(r)) for r in read_records(jsonl)] == [("a", []), ("b\ufeff Ana", ["Ana/PER"])]
    stats = FileStats()
    table = write_lines(tmp_path / "c.csv", ["\ufeffsentence,word,tag", "1,\ufeffAna,B-PER", "1,mora\u200b,O"])
    (record,) = iter_records(table, ReadOptions(), stats)
    assert record.words == ["Ana", "mora"] and stats.removed_characters == {"U+FEFF": 2, "U+200B": 1}


# Encodings ------------------------------------------------------------------------------

CONLL_TEXT = "Ana B-PER\nmora O\nem O\nSão B-LOC\nPaulo I-LOC\n\nA O\nPetrobras B-ORG\ncresceu O\n"
JSONL_TEXT = ('{"text": "Ana mora em São Paulo.", "entities": [[0, 3, "PER"], [12, 21, "LOC"]]}\r\n'
              '\n{"text": "A Petrobras 🛢 cresceu.", "entities": [[2, 11, "ORG"]]}\n')
JSON_TEXT = ('[{"text": "Ana mora em São Paulo.", "entities": [[0, 3, "PER"], [12, 21, "LOC"]]},\r\n'
             ' {"text": "A Petrobras 🛢 cresceu.", "entities": [[2, 11, "ORG"]]}]\n')
ENCODINGS = [("UTF-16LE", codecs.BOM_UTF16_LE, "utf-16-le"), ("UTF-16BE", codecs.BOM_UTF16_BE, "utf-16-be"),
             ("UTF-32LE", codecs.BOM_UTF32_LE, "utf-32-le"), ("UTF-32BE", codecs.BOM_UTF32_BE, "utf-32-be")]


def read_with_stats(path: Path) -> tuple:
    stats = FileStats()
    records = [(r.line, r.text, r.words, r.entities) for r in iter_records(path, ReadOptions(), stats)]
    return records, stats


@pytest.mark.parametrize("name, mark, codec", ENCODINGS, ids=[e[0] for e in ENCODINGS])
@pytest.mark.parametrize("suffix, text", [(".conll", CONLL_TEXT), (".jsonl", JSONL_TEXT), (".json", JSON_TEXT),
                                          (".conll.gz", CONLL_TEXT)])
def test_a_byte_order_mark_announces_utf16_or_utf32_and_the_records_are_the_utf8_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, mark: bytes, codec: str, suffix: str,
        text: str) -> None:
    # Chunks of a few bytes: characters and line ends fall across chunk boundaries.
    monkeypatch.setattr(TranscodedFile, "chunk_size", 7)
    utf8 = tmp_path / f"utf8{suffix}"
    other = tmp_path / f"other{suffix}"
    encoded = mark + text.encode(codec)
    utf8.write_bytes(gzip.compress(text.encode("utf8")) if suffix.endswith(".gz") else text.encode("utf8"))
    other.write_bytes(gzip.compress(encoded) if suffix.endswith(".gz") else encoded)
    expected, utf8_stats = read_with_stats(utf8)
    records, stats = read_with_stats(other)
    assert records == expected and len(records) == 2
    assert (utf8_stats.encoding, stats.encoding) == ("UTF-8", name)
    assert not stats.removed_characters  # the mark is the encoding's, not a character of the text


@pytest.mark.parametrize("ending", ["\r", "\r\n"], ids=["CR", "CRLF"])
@pytest.mark.parametrize("suffix, text", [(".conll", CONLL_TEXT), (".jsonl", JSONL_TEXT.replace("\r\n", "\n"))])
def test_carriage_returns_end_lines_as_line_feeds_do(tmp_path: Path, ending: str, suffix: str, text: str) -> None:
    """Classic Mac OS line ends (spreadsheet exports still write them): the same
    records, on the same line numbers, as the file with line feeds."""
    unix, other = tmp_path / f"unix{suffix}", tmp_path / f"other{suffix}"
    unix.write_bytes(text.encode("utf8"))
    other.write_bytes(text.replace("\n", ending).encode("utf8"))
    assert read_with_stats(other)[0] == read_with_stats(unix)[0]


@pytest.mark.parametrize("suffix, text", [(".conll", CONLL_TEXT), (".jsonl", JSONL_TEXT), (".json", JSON_TEXT)])
def test_utf16_without_its_byte_order_mark_is_one_line_naming_the_cause(tmp_path: Path, suffix: str,
                                                                       text: str) -> None:
    path = tmp_path / f"windows{suffix}"
    path.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(UserError, match=rf"windows{suffix}:1: holds NUL characters: a UTF-16 or UTF-32 file "
                                        "without a byte-order mark\\? Re-save it as UTF-8"):
        read_records(path)


def test_broken_utf16_names_the_line_and_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "broken.conll"
    path.write_bytes(codecs.BOM_UTF16_LE + "Ana B-PER\nmora O\n".encode("utf-16-le") + b"\x41")  # an odd byte
    with pytest.raises(UserError, match=r"broken.conll:3: not valid UTF-16LE \(truncated data\), which its "
                                        "byte-order mark announces"):
        read_records(path)


def test_preprocess_reports_the_encoding_and_writes_the_utf8_files_corpus(tmp_path: Path) -> None:
    corpora = {}
    announced = {"utf16": "as UTF-16LE, which its byte-order mark announces",
                 "latin1": "as latin-1, which the legacy_encoding var declares"}
    for name, codec in (("utf8", "utf8"), ("utf16", "utf-16"), ("latin1", "latin-1")):
        data = tmp_path / name
        for split in ("train", "dev", "test"):
            (data / f"{split}.conll").parent.mkdir(exist_ok=True)
            (data / f"{split}.conll").write_bytes(CONLL_TEXT.encode(codec if split == "train" else "utf8"))
        result = preprocess(data, tmp_path / f"out-{name}", "--n-sents", "1", "--dedupe", "none",
                            "--legacy-encoding", "latin-1")
        assert result.returncode == 0, result.stderr
        report = srsly.read_json(tmp_path / f"out-{name}" / "data_report.json")
        corpora[name] = [(doc.text, [(e.text, e.label_) for e in doc.ents]) for doc in DocBin().from_disk(
            tmp_path / f"out-{name}" / "train.spacy").get_docs(spacy.blank("pt").vocab)]
        encodings = {Path(source["path"]).name: source["encoding"] for source in report["sources"]}
        shown = " ".join(result.stdout.split())
        assert encodings == {"train.conll": announced[name].split()[1].rstrip(",") if name in announced else "UTF-8",
                             "dev.conll": "UTF-8", "test.conll": "UTF-8"}
        assert [message in shown for message in announced.values()] == [key == name for key in announced]
    assert corpora["utf16"] == corpora["latin1"] == corpora["utf8"] and len(corpora["utf8"]) == 2


LEGACY = ReadOptions(legacy_encoding="latin-1")


@pytest.mark.parametrize("suffix, text", [(".conll", CONLL_TEXT), (".jsonl", JSONL_TEXT.replace(" 🛢", "")),
                                          (".json", JSON_TEXT.replace(" 🛢", "")),
                                          (".iob", "Ana|B-PER em|O São|B-LOC\n")])
def test_a_declared_legacy_encoding_reads_files_that_are_not_utf8_and_never_those_that_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, text: str) -> None:
    monkeypatch.setattr(TranscodedFile, "chunk_size", 5)
    latin1, utf8 = tmp_path / f"latin1{suffix}", tmp_path / f"utf8{suffix}"
    latin1.write_bytes(text.encode("latin-1"))
    utf8.write_bytes(text.encode("utf8"))
    with pytest.raises(UserError, match=r"not valid UTF-8 \(byte \d+ of the (line|file), 0xE3; as Windows-1252 it "
                                        r"reads '.*São.*'\); re-save the file as UTF-8, or name its encoding with the "
                                        r"legacy_encoding var"):
        read_records(latin1)
    stats, utf8_stats = FileStats(), FileStats()
    records = [(r.text, r.entities) for r in iter_records(latin1, LEGACY, stats)]
    assert records == [(r.text, r.entities) for r in iter_records(utf8, LEGACY, utf8_stats)]  # no mojibake
    assert "São" in records[0][0] and (stats.encoding, utf8_stats.encoding) == ("latin-1", "UTF-8")


def test_a_legacy_encoding_for_utf16_without_its_mark_and_for_a_brat_text(tmp_path: Path) -> None:
    path = tmp_path / "windows.jsonl"
    path.write_bytes(JSONL_TEXT.encode("utf-16-le"))
    utf16 = ReadOptions(legacy_encoding="utf-16-le")
    assert [r.text for r in read_records(path, utf16)][0] == "Ana mora em São Paulo."
    brat = tmp_path / "brat"
    (brat / "doc.txt").parent.mkdir()
    (brat / "doc.txt").write_bytes("Ana mora em São Paulo.".encode("cp1252"))
    write_lines(brat / "doc.ann", ["T1\tLOC 12 21\tSão Paulo"])
    assert [spans(r) for r in read_records(brat, ReadOptions(legacy_encoding="cp1252"))] == [["São Paulo/LOC"]]


@pytest.mark.parametrize("options, cause", [
    (ReadOptions(legacy_encoding="cp1252"), r"a.conll:2: not valid cp1252 \(.*\), which the legacy_encoding var "
                                            r"declares"),  # 0x81 is no character in cp1252
    (ReadOptions(legacy_encoding="klingon"), r"unknown legacy encoding 'klingon' \(expected a Python codec name"),
])
def test_legacy_encoding_errors(tmp_path: Path, options: ReadOptions, cause: str) -> None:
    path = tmp_path / "a.conll"
    path.write_bytes(b"Ana B-PER\nJos\x81 B-PER\n")
    with pytest.raises(UserError, match=cause):
        read_records(path, options)


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)])
def test_compressed_files_are_read_transparently_and_broken_ones_named(tmp_path: Path, suffix: str, compress) -> None:
    content = "Ana B-PER\nmora O\n"
    path = tmp_path / f"train.conll{suffix}"
    path.write_bytes(compress(content.encode("utf8")))
    assert detect_format(path) == "conll" and spans(read_records(path)[0]) == ["Ana/PER"]
    path.write_bytes(compress(codecs.BOM_UTF16_LE + content.encode("utf-16-le")))  # the mark seen through it
    assert spans(read_records(path)[0]) == ["Ana/PER"]
    broken = tmp_path / f"dev.conll{suffix}"
    for damaged in (b"not compressed at all", compress(content.encode("utf8") * 50)[:-8]):  # garbage, truncated
        broken.write_bytes(damaged)
        with pytest.raises(UserError, match=rf"dev.conll\{suffix}: not a readable \{suffix} file \(.+\)$"):
            read_records(broken)
    with pytest.raises(FileNotFoundError):  # not a broken stream: the error it is
        read_records(tmp_path / f"missing.conll{suffix}")


# Tag schemes and labels -------------------------------------------------------------------


def test_auto_scheme_repairs_loudly_and_reads_iob1_without_repairs(tmp_path: Path) -> None:
    iob2 = write_lines(tmp_path / "a.conll", ["Ana B-PER", "Costa I-PER", "", "em O", "Lisboa I-LOC",
                                              "", "Rui B-PER"])
    stats = FileStats()
    records = list(iter_records(iob2, ReadOptions(), stats))
    assert stats.tag_scheme == "iob2"
    assert spans(records[1]) == ["Lisboa/LOC"]
    ((line, kind, reason),) = records[1].repairs
    assert (line, kind) == (5, "invalid tag sequence") and "I-LOC after O" in reason
    iob1 = write_lines(tmp_path / "b.conll", ["Ana I-PER", "Rui B-PER", "mora O", "", "em O",
                                              "Lisboa I-LOC"])
    stats = FileStats()
    records = list(iter_records(iob1, ReadOptions(), stats))
    assert stats.tag_scheme == "iob1" and not any(r.repairs for r in records)
    assert spans(records[0]) == ["Ana/PER", "Rui/PER"]


def test_label_whitespace_is_stripped_and_reported(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", ['{"text": "Ana mora.", "entities": [[0, 3, "PER "]]}'])
    (record,) = read_records(path)
    assert record.entities == [(0, 3, "PER")]
    assert record.repairs == [(1, "label whitespace stripped", "label 'PER ' read as 'PER'")]
    tsv = write_lines(tmp_path / "b.tsv", ["Ana\tB-PER ", "Rui\tI-PER"])
    assert spans(read_records(tsv)[0]) == ["Ana Rui/PER"]


def test_label_warnings_case_variants_unseen_and_rare() -> None:
    from collections import Counter

    warnings = label_warnings({"train": Counter(PER=50, per=2, LOC=3), "dev": Counter(PER=5, ORG=1),
                               "test": Counter(PER=4)}, min_count=10)
    kinds = {w["kind"]: w["labels"] for w in warnings}
    assert kinds == {"labels differ only by case": ["PER", "per"], "only in dev": ["ORG"],
                     "rare in train": ["LOC", "per"]}


# Label Studio --------------------------------------------------------------------------


def test_label_studio_string_label_and_malformed_annotations(tmp_path: Path) -> None:
    task = {"id": 1, "data": {"text": "Ana mora em Lisboa."}, "annotations": [
        {"result": [{"type": "labels", "value": {"start": 0, "end": 3, "labels": "PER"}}]}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task]), encoding="utf8")
    (record,) = read_records(path)
    assert spans(record) == ["Ana/PER"]
    path.write_text(json.dumps([task, {"data": {"text": "x"}, "annotations": ["oops"]}]), encoding="utf8")
    with pytest.raises(UserError, match=r'export.json:1: task 2: "annotations" must be a list of objects'):
        read_records(path)


# Cleaning --------------------------------------------------------------------------------


def test_overlong_record_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    nlp = spacy.blank("pt")
    nlp.max_length = 20
    (record,) = read_records(write_lines(tmp_path / "a.jsonl", ['{"text": "' + "palavra " * 5 + '"}']))
    with pytest.raises(UserError, match=r"a.jsonl:1: record of 40 characters is longer than spaCy's max_length"):
        Cleaner(nlp, None, "drop").to_doc(record)


def test_error_lines_point_at_the_entity_in_a_joined_document(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.conll", ["-DOCSTART- O", "", "Ana B-PER", "mora O", "",
                                              "Ele O", "viu O", "Rui B-PER"])
    cleaner = Cleaner(spacy.blank("pt"), None, "drop")
    joiner = SentenceJoiner(10)
    docs = [d for r in read_records(path) for d in joiner.add(r, cleaner.to_doc(r))] + joiner.flush()
    (doc,) = docs
    assert [source_line(doc, ent.start_char) for ent in doc.ents] == [3, 8]


# The dataset folder -----------------------------------------------------------------------


def test_every_file_is_read_or_reported_with_the_var_that_reads_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_lines(data / "train.conll", ["Ana B-PER"])
    write_lines(data / "dev.iob", ["Rui B-PER"])
    write_lines(data / "test.bio", ["Eva B-PER"])
    write_lines(data / "extra.annotated", ["Ana B-PER", "mora O"])
    write_lines(data / "README.md", ["# notes"])
    (data / "old.zip").write_bytes(b"PK")
    (data / "tags.xlsx").write_bytes(b"PK")
    with pytest.raises(UserError, match="mixes split files"):
        discover(data, "conll")  # the format var reads any file name
    inventory = discover(data)
    assert sorted(inventory.named) == ["dev", "test", "train"]
    ignored = {Path(i["path"]).name: i for i in inventory.ignored}
    assert set(ignored) == {"extra.annotated", "README.md", "old.zip", "tags.xlsx"}
    assert "set the 'format' var to conll" in ignored["extra.annotated"]["read_with"]
    assert ignored["old.zip"]["reason"] == "archive"
    assert (ignored["tags.xlsx"]["reason"], ignored["tags.xlsx"]["read_with"][:15]) == ("spreadsheet", "save it as CSV:")


def test_a_hugging_face_dataset_on_disk_is_named_with_how_to_write_it_as_json_lines(tmp_path: Path) -> None:
    """save_to_disk's Arrow tables and metadata, the Hub's Parquet: not records."""
    saved = tmp_path / "saved"
    (saved / "train").mkdir(parents=True)
    (saved / "train" / "data-00000-of-00001.arrow").write_bytes(b"ARROW1")
    (saved / "train" / "dataset_info.json").write_text('{"features": {}}')
    (saved / "dataset_dict.json").write_text('{"splits": ["train"]}')
    with pytest.raises(UserError, match=r"train: named like the train split but not read: a Hugging Face dataset "
                                        r"folder \(save_to_disk's Arrow tables\); write each split as JSON lines, "
                                        r"e.g. dataset\['train'\].to_json\('train.jsonl'\)"):
        discover(saved)
    hub = tmp_path / "hub"
    write_lines(hub / "ner.conll", ["Ana B-PER"])
    (hub / "0000.parquet").write_bytes(b"PAR1")
    inventory = discover(hub)
    assert [path.name for path in inventory.pooled] == ["ner.conll"]
    assert [(Path(i["path"]).name, i["reason"]) for i in inventory.ignored] == [
        ("0000.parquet", "a Hugging Face dataset's table")]


def test_a_split_file_that_cannot_be_read_is_an_error_not_carved_from_train(tmp_path: Path) -> None:
    write_lines(tmp_path / "data" / "train.conll", ["Ana B-PER"])
    write_lines(tmp_path / "data" / "test.txt", ["Eva B-PER"])
    result = preprocess(tmp_path / "data", tmp_path / "out")
    assert result.returncode == 1 and not (tmp_path / "out").exists()
    assert "test.txt: named like the test split but not read: unknown file type '.txt'" in result.stderr
    assert "set the 'format' var to conll" in result.stderr


def messy_dataset(folder: Path) -> Path:
    """Pre-split CoNLL with odd names, tabs, a late BOM, a broken tag sequence, a
    label with a stray space, a duplicate in test and a file nobody can read."""
    train = [f"Ana{i}\tB-PER\nmora\tO\nem\tO\nLisboa\tB-LOC\n" for i in range(30)]
    train.append("Rui\tO\nCosta\tI-PER \n")  # I- after O, and "PER " with a space
    write_lines(folder / "Train.TSV", ["\n".join(train)])
    write_lines(folder / "dev.tsv", ["Eva\tB-PER\nviu\tO\nPorto\tB-LOC\n", "Ida\tB-ORG\n"])
    write_lines(folder / "test.tsv", ["Eva\tB-PER\nfoi\tO\n", "Eva\tB-PER\nfoi\tO\n", "\ufeff"])
    write_lines(folder / "notes.txt", ["not data"])
    return folder


def test_messy_dataset_report(tmp_path: Path) -> None:
    data = messy_dataset(tmp_path / "messy")
    result = preprocess(data, tmp_path / "out", "--n-sents", "1", "--min-label-count", "31")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert [Path(i["path"]).name for i in report["not_read"]] == ["notes.txt"]
    assert report["problem_counts"]["repaired input"] == {"invalid tag sequence": 1,
                                                          "label whitespace stripped": 1}
    repaired = [p for p in report["problems"] if p["action"] == "repaired input"]
    assert {(Path(p["file"]).name, p["line"]) for p in repaired} == {("Train.TSV", 152)}  # "Costa\tI-PER "
    assert report["splits"]["test"]["docs"] == 2  # published test kept whole, duplicate reported
    assert report["duplicates_kept"] == {"test": 1}
    assert report["sources"][2]["removed_characters"] == {"U+FEFF": 1}
    assert {w["kind"]: w["labels"] for w in report["label_warnings"]} == {
        "only in dev": ["ORG"], "rare in train": ["LOC"]}  # LOC 30 < 31
    assert "repaired input" in result.stdout and "Not read:" in result.stdout


def harem_like(index: int, text: str, spans: List[tuple]) -> dict:
    return {"doc_id": f"HAREM-{index}", "doc_text": text, "entities": [
        {"entity_id": n, "text": text[start:end], "label": label, "start_offset": start, "end_offset": end}
        for n, (start, end, label) in enumerate(spans)]}


def test_whole_documents_in_minified_json_arrays_keep_every_record_under_mask(tmp_path: Path) -> None:
    """As BERTimbau ships HAREM: one minified JSON array per file, documents as
    "doc_text", a test file without a split word in its name, and a span that
    ends inside a token ("Ovarense" of "Ovarense-Amora"). Under mask the
    document stays, with that token left unannotated, and the report says which
    record of the one-line file it was."""
    text = "O Ovarense-Amora jogou em Aveiro com Rui Costa. " * 4
    docs = [harem_like(i, f"{text} Documento {i}.", [(2, 10, "ORG"), (26, 32, "LOCAL"), (37, 46, "PESSOA")])
            for i in range(12)]
    data = tmp_path / "harem"
    data.mkdir()
    for name, part in (("FirstHAREM-train.json", docs[:8]), ("FirstHAREM-dev.json", docs[8:10]),
                       ("MiniHAREM.json", docs[10:])):
        (data / name).write_text(json.dumps(part), encoding="utf8")  # one line
    # Portuguese keeps "Ovarense-Amora" one token (English would split it), whatever the lang var says.
    options = ["--lang", "pt", "--split-files", "train=*train*,dev=*dev*,test=MiniHAREM*"]
    result = preprocess(data, tmp_path / "out", "--on-problem", "mask", *options)
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert {split: report["splits"][split]["docs"] for split in ("train", "dev", "test")} == \
        {"train": 8, "dev": 2, "test": 2}
    assert report["problem_counts"]["masked span"] == {"misaligned span": 12}
    masked = [p for p in report["problems"] if p["action"] == "masked span"]
    assert {(Path(p["file"]).name, p["line"]) for p in masked} >= {("MiniHAREM.json", 1)}
    assert sorted(p["record_id"] for p in masked if p["file"].endswith("MiniHAREM.json")) == \
        ["MiniHAREM.json#1", "MiniHAREM.json#2"]
    (test_doc, _) = DocBin().from_disk(tmp_path / "out" / "test.spacy").get_docs(spacy.blank("pt").vocab)
    assert [t.text for t in test_doc if t.ent_iob == 0] == ["Ovarense-Amora"]
    assert [e.text for e in test_doc.ents[:2]] == ["Aveiro", "Rui Costa"]
    # The default drops those documents, and says so.
    dropped = preprocess(data, tmp_path / "dropped", *options)
    assert dropped.returncode == 1 and "split is empty after cleaning" in dropped.stderr


# One-line failures -------------------------------------------------------------------------


def test_empty_split_writes_the_report_and_names_the_drop_reasons(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_lines(data / "train.jsonl", [f'{{"text": "Ana {i} mora.", "entities": [[0, 3, "PER"]]}}'
                                       for i in range(30)])
    write_lines(data / "test.jsonl", ['{"text": "   "}'])
    result = preprocess(data, tmp_path / "out")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "the test split is empty after cleaning (records dropped: empty text 1)" in result.stderr
    failed = srsly.read_json(tmp_path / "out" / "data_report.failed.json")
    assert failed["problem_counts"]["dropped record"] == {"empty text": 1}
    assert not (tmp_path / "out" / "data_report.json").exists()


def test_os_errors_are_one_line(sample_data: Path, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = preprocess(sample_data, tmp_path / "blocker" / "out")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"✘ {tmp_path / 'blocker'}: File exists"] or \
        "Not a directory" in result.stderr


@pytest.mark.parametrize("value", ["../../x", "a/b", "", ".hidden", "x y"])
def test_path_vars_must_be_plain_names(value: str) -> None:
    with pytest.raises(UserError, match="must be a plain name"):
        check_plain_name(value, "run")


def test_dataset_var_leading_out_of_the_project_is_refused(tmp_path: Path) -> None:
    result = preprocess(Path("assets/../../x"), Path("corpus/../../x"))
    assert result.returncode == 1 and "the 'dataset' var must be a plain name" in result.stderr


# Runs --------------------------------------------------------------------------------------


def test_a_second_trainer_on_the_same_run_folder_is_refused(tmp_path: Path) -> None:
    with run_lock(tmp_path / "run"):
        with pytest.raises(UserError, match=r"run: already being trained by pid \d+"):
            with run_lock(tmp_path / "run"):
                pass
    with run_lock(tmp_path / "run"):  # released: the next run may start
        pass


def test_leftovers_of_dead_processes_are_removed(tmp_path: Path) -> None:
    import os

    (tmp_path / ".staging-999999").mkdir()
    (tmp_path / ".run.json.tmp-999999").write_text("{}")
    (tmp_path / f".staging-{os.getpid()}").mkdir()  # alive: kept
    assert sorted(remove_leftovers(tmp_path)) == [".run.json.tmp-999999", ".staging-999999"]
    assert (tmp_path / f".staging-{os.getpid()}").exists()


# Through weasel ----------------------------------------------------------------------------


@pytest.mark.slow
def test_renaming_a_data_file_reruns_preprocess(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    data = project / "assets" / "mine"
    write_lines(data / "train.jsonl", [srsly.json_dumps({"text": f"Ana {i} mora em Lisboa.",
                                                         "entities": [[0, 3, "PER"]]}) for i in range(40)])
    write_lines(data / "test.txt", [srsly.json_dumps({"text": "Rui mora no Porto.",
                                                      "entities": [[0, 3, "PER"]]})])
    steps = ["run", "preprocess", ".", "--vars.dataset", "mine"]
    first = weasel(["run", "fetch", ".", "--vars.dataset", "mine"], project)
    assert first.returncode == 0
    refused = weasel(steps, project, check=False)
    assert refused.returncode == 1 and "test.txt: named like the test split" in refused.stderr
    (data / "test.txt").rename(data / "test.jsonl")
    stale = weasel(steps, project, check=False)  # preprocess alone: the manifest is stale
    assert stale.returncode == 1 and "changed since the 'fetch' step (added: test.jsonl; removed: test.txt)" \
        in stale.stderr
    weasel(["run", "fetch", ".", "--vars.dataset", "mine"], project)
    ran = weasel(steps, project)
    assert "Skipping" not in ran.stdout
    report = srsly.read_json(project / "corpus" / "mine" / "data_report.json")
    assert report["split_method"]["test"] == "given" and report["splits"]["test"]["docs"] == 1
    assert "Skipping 'preprocess'" in weasel(steps, project).stdout


# Published datasets as they are named and written -------------------------------------


def test_split_words_inside_names_and_split_files_patterns(tmp_path: Path) -> None:
    data = tmp_path / "wnut"
    for name in ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"):
        write_lines(data / name, ["Ana\tB-PER", "mora\tO"])
    inventory = discover(data, "conll")  # .annotated: read, as it looks like CoNLL
    assert {split: [p.name for p in paths] for split, paths in inventory.named.items()} == {
        "dev": ["emerging.dev.conll"], "test": ["emerging.test.annotated"], "train": ["wnut17train.conll"]}
    assert split_of(Path("contest.conll")) is None and split_of(Path("train2.conll")) == "train"

    plain = tmp_path / "plain"
    for name in ("part_a.conll", "part_b.conll", "part_c.conll"):
        write_lines(plain / name, ["Ana\tB-PER"])
    patterns = parse_split_files("train=*_a.*, dev=*_b.*,test=*_c.*")
    assert {s: [p.name for p in ps] for s, ps in discover(plain, "auto", patterns).named.items()} == {
        "train": ["part_a.conll"], "dev": ["part_b.conll"], "test": ["part_c.conll"]}
    with pytest.raises(UserError, match="matches the split_files patterns of dev, train"):
        discover(plain, "auto", parse_split_files("train=part_*,dev=*_b.*"))
    for bad in ("train", "eval=*.conll", "test="):
        with pytest.raises(UserError, match="is not SPLIT=PATTERN"):
            parse_split_files(bad)


def test_a_stray_notes_file_beside_data_with_an_explicit_format_is_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_lines(data / "all.conll", ["Ana\tB-PER", "mora\tO"] * 30)
    write_lines(data / "notes.txt", ["Downloaded from the authors' site on 2026-11-30.", "See the paper."])
    write_lines(data / "more.txt", ["Rui\tB-PER", "mora\tO"])
    inventory = discover(data, "conll")
    assert [p.name for p in inventory.pooled] == ["all.conll", "more.txt"]
    (notes,) = inventory.ignored
    assert Path(notes["path"]).name == "notes.txt" and "does not look like conll" in notes["reason"]


def test_a_prefix_on_nearly_every_token_is_reported_and_the_var_strips_it(tmp_path: Path) -> None:
    """WikiANN writes its language code into every token ("pt:Lisboa")."""
    data = tmp_path / "wikiann"
    sentences = [["pt:Ana\tB-PER", "pt:mora\tO", "pt:em\tO", f"pt:Lisboa{i}\tB-LOC", ""] for i in range(40)]
    write_lines(data / "wikiann.conll", [line for sentence in sentences for line in sentence])
    found = preprocess(data, tmp_path / "found")
    assert found.returncode == 0, found.stderr
    report = srsly.read_json(tmp_path / "found" / "data_report.json")
    assert report["sources"][0]["shared_token_prefix"] == {"prefix": "pt:", "share": 1.0}
    said = " ".join(found.stdout.split())  # wasabi wraps long lines
    assert "100.0% of the tokens start with 'pt:'" in said and "set the strip_prefix var to 'pt:'" in said

    stripped = preprocess(data, tmp_path / "stripped", "--strip-prefix", "pt:")
    assert stripped.returncode == 0, stripped.stderr
    report = srsly.read_json(tmp_path / "stripped" / "data_report.json")
    assert report["sources"][0]["stripped_prefix"] == 160 and report["sources"][0]["shared_token_prefix"] is None
    nlp = spacy.blank("pt")
    words = [t.text for split in ("train", "dev", "test")
             for doc in DocBin().from_disk(tmp_path / "stripped" / f"{split}.spacy").get_docs(nlp.vocab) for t in doc]
    assert "Ana" in words and not any(word.startswith("pt:") for word in words)


def test_tokens_and_labels_with_spaces_are_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_lines(data / "all.conll", [line for i in range(30) for line in (
        "A\tO", f"São Paulo{i}\tB-LOC", "e\tO", "Petrobras\tB-ORG NAME", "")])
    result = preprocess(data, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    report = srsly.read_json(tmp_path / "out" / "data_report.json")
    assert report["sources"][0]["tokens_with_spaces"] == {"count": 30, "first": {"line": 2, "token": "São Paulo0"}}
    assert report["labels_with_spaces"] == ["ORG NAME"]
    said = " ".join(result.stdout.split())  # wasabi wraps long lines
    assert "30 token(s) contain whitespace, e.g. line 2: 'São Paulo0'" in said
    assert "Labels containing whitespace: 'ORG NAME'" in said
