"""Readers that turn annotated files into `Record`s with character offsets.

Formats (detected from the file name and first record, or named explicitly):
- `jsonl`: `{"text": ..., "entities": [[start, end, label], ...]}` per line
  (entities may also be objects with start/end/label or start_offset/end_offset;
  "ents" stands for "entities", as spaCy's Doc.to_json() and displaCy write, and
  "doc_text" for "text", as in BERTimbau's HAREM files).
- `tokens`: `{"tokens": [...], "ner_tags": [...]}` per line (or "words",
  "tags"): one tokenised sentence and its tags, as Hugging Face datasets write
  them; the tags are read as CoNLL's are (`tag_scheme`), and a `-DOCSTART-`
  record starts a document; numeric tags are named by `tag_names`.
- `prodigy`: Prodigy JSONL with `spans`; only `"answer": "accept"` is kept.
- `doccano`: doccano JSONL exports with a `label` list (or `entities` objects).
  These three also read a `.json` file holding one JSON array of such records.
- `label_studio`: Label Studio JSON exports (`data.text`, `annotations[].result`).
- `conll`: one token a line, the tag in a chosen column (default last), blank
  lines between sentences, IOB1/IOB2/BILUO tags, optional `-DOCSTART-` lines;
  a first column of token ids (CoNLL-U's, Universal NER's) is passed over.
- `iob`: one sentence a line of `word|tag` or `word|POS|tag` tokens, as spaCy's
  `iob` converter reads them and WikiNER ships them; told from CoNLL by content.
- `brat`: brat standoff, as brat and INCEpTION export it: each `.ann` file's
  `T` lines (`T1<TAB>PER 0 9<TAB>Ana Costa`) over the `.txt` file of the same
  name; a folder of such pairs is one input (`train/`, `dev/`, `test/`). The
  text is read as brat reads it, a byte-order mark and CRLF counted as it counts them.
- `spacy`: spaCy's own DocBin (`.spacy`).
- `spacy_json`: spaCy v2 JSON training files, read with spaCy's own converter.
- `csv`: a table of one token a row whose header names the token, tag and
  (optionally) sentence columns, as spreadsheets, pandas and Kaggle write it.
Every format is read as UTF-8, or as UTF-16 or UTF-32 where a byte-order mark
announces it (Windows tools write such files), or, for a file that is neither,
in the legacy encoding the caller declares (CoNLL-2002's Latin-1); lines end in
LF, CRLF or CR.
Structural problems (invalid UTF-8, NUL characters, malformed lines, offsets
outside the text or away from the span's own text, invalid tag sequences in a
strict scheme) raise `UserError` naming the file and line; annotation problems
that a policy can fix or drop are left to `scripts.cleaning`.
"""

import bz2
import codecs
import csv
import gzip
import itertools
import json
import lzma
import re
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import UserError
from .review_tasks import carried_id

# An entity as character offsets into its text: (start, end exclusive, label).
CharSpan = Tuple[int, int, str]
# (line, kind, reason): something a reader repaired in the input, reported by the cleaner.
Repair = Tuple[int, str, str]

# Where a record holds its text, in order; "doc_text" as BERTimbau's HAREM files name it.
TEXT_KEYS = ("text", "doc_text")
# Where a JSONL record keeps its entities: ours and doccano's "entities", and the
# "ents" of spaCy's Doc.to_json() and displaCy's manual format.
ENTITY_KEYS = ("entities", "ents")
# A record of one tokenised sentence and its tags (the `tokens` format, as Hugging
# Face datasets write them): the keys of the two lists, in order of preference.
TOKEN_LIST_KEYS = ("tokens", "words")
TAG_LIST_KEYS = ("ner_tags", "tags", "labels")
# The keys that mark an object as a span (a start offset and a label), in any tool's spelling.
SPAN_START_KEYS = ("start", "start_offset", "start_char", "begin")
SPAN_LABEL_KEYS = ("label", "labels", "type", "entity", "entity_group")
CONLL_SUFFIXES = (".conll", ".iob", ".iob2", ".bio", ".tsv")  # .iob2: Universal NER's
# A file compressed on its own (not an archive of several) is read as its content,
# decompressed on the fly: its format is the suffix before this one.
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
COMPRESSED = "optionally .gz, .bz2 or .xz"
BRAT_SUFFIX, BRAT_TEXT_SUFFIX = ".ann", ".txt"
SUPPORTED_SUFFIXES = (".jsonl", ".json", ".spacy", ".csv", BRAT_SUFFIX) + CONLL_SUFFIXES
FORMATS = ("auto", "jsonl", "tokens", "prodigy", "doccano", "label_studio", "conll", "iob", "csv", "brat",
           "spacy", "spacy_json")
# A brat text-bound annotation: id, then label and fragments ("0 5" or "0 5;8 12"), then its text.
BRAT_ENTITY = re.compile(r"^(T\S+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")
TAG_SCHEMES = ("auto", "iob1", "iob2", "biluo", "io")
TAG_PATTERN = re.compile(r"^(?:O|[BIESLU]-\S.*)$")
# A token of spaCy's `iob` format (one sentence a line): a word, an optional POS,
# then its tag, joined by "|"; the tag is the last field, so a word may hold a "|".
IOB_SEPARATOR = "|"
IOB_TOKEN = re.compile(r"^\S+\|(?:O|[BIESLU]-\S+)$")
# An IO tag's label: a word character, and no brackets or stars (CoNLL-2012's "(PERSON*", "*").
IO_LABEL = re.compile(r"^[^\s()*]*\w[^\s()*]*$")
# Tags that are not tags, by the slip they look like (CoNLL-2012's brackets, a
# prefix joined by another character, lower-case prefixes, no prefix at all), with
# what to do about it.
TAG_SLIPS = ((re.compile(r"^(?:\([^\s()*]+\*?\)?|\*\)?)$"),
              "CoNLL-2012/OntoNotes bracket notation ('(PERSON*', '*', '*)'): convert it to B-/I- tags"),
             (re.compile(r"^[BIESLU][_.:]\S"), "its prefix is joined to the label by another character than '-'"),
             (re.compile(r"^(?:o|[biesl]-\S.*)$"), "prefixes and O are upper case"),
             (re.compile(r"^(?![BIESLUbieslu][-_.:])[^\s-]\S*$"),
              "a label without a prefix: IO tags (a run of one label is one entity)? Set the tag_scheme var to io"))
# A token prefix like WikiANN's language tag ("pt:Lisboa"); reported when at
# least this share of a file's tokens carry the same one.
TOKEN_PREFIX = re.compile(r"^([^:\s]{1,12}:)(?=\S)")
SHARED_PREFIX_SHARE = 0.9
MAX_PREFIXES = 1000
# A byte-order mark is never text; zero-width spaces and word joiners at a
# column's edge are export debris. Joiners inside a word (ZWJ/ZWNJ) carry meaning
# in Persian, Indic scripts and emoji, so they are left alone.
BOM = "\ufeff"
EDGE_INVISIBLES = "\u200b\u2060" + BOM
INVISIBLE = re.compile(f"[{EDGE_INVISIBLES}]")
# Byte-order marks that announce an encoding other than UTF-8, longest first (a
# UTF-32LE mark begins with the UTF-16LE one); the name is what the report says.
ANNOUNCED_ENCODINGS = (("UTF-32LE", codecs.BOM_UTF32_LE), ("UTF-32BE", codecs.BOM_UTF32_BE),
                       ("UTF-16LE", codecs.BOM_UTF16_LE), ("UTF-16BE", codecs.BOM_UTF16_BE))
# NUL never occurs in these formats' text: a UTF-16 or UTF-32 file without a
# byte-order mark reads as UTF-8 with a NUL beside every ASCII character.
NO_BOM_HINT = ("holds NUL characters: a UTF-16 or UTF-32 file without a byte-order mark? "
               "Re-save it as UTF-8")
# Where a file is not UTF-8, the word around the first bad byte as Windows-1252
# (Latin-1 with curly quotes: what Excel and older Windows tools write) tells
# the user which encoding to convert from.
LIKELY_LEGACY_ENCODING = "cp1252"
# What to do about an annotated file that is not UTF-8.
LEGACY_FIX = "re-save the file as UTF-8, or name its encoding with the legacy_encoding var (e.g. cp1252)"
WORD_EDGES = (b" ", b"\t", b'"', b",", b";", b"\r", b"\n")
# A table of one token a row: the header names that mark its columns, in order of preference.
CSV_COLUMNS = {"token": ("token", "word", "form", "text"),
               "tag": ("tag", "ner", "ner_tag", "label", "entity"),
               "sentence": ("sentence #", "sentence", "sentence_id", "sentence_idx", "sent_id", "sentence id")}
CSV_SEPARATORS = (",", ";", "\t")
HEADER_HINT = "a header row? CoNLL files have none: remove it, or read the file as a table with the format var csv"
# INCEpTION's and WebAnno's TSV export starts so; it is not CoNLL.
WEBANNO_HEADER = "#FORMAT=WebAnno TSV"
# A CoNLL file whose first column is a whole number on this share of at least
# this many token lines has a row index there, not tokens.
ROW_INDEX_SHARE = 0.9
ROW_INDEX_MIN_LINES = 20
# A CoNLL line with more columns than this is running text, not token columns.
MAX_COLUMNS = 64


@dataclass
class Record:
    """One annotated text and where it came from."""

    source: str
    line: int
    id: str
    text: str
    entities: List[CharSpan]
    # Pre-tokenized sources (CoNLL) keep their tokens; others are tokenized by spaCy.
    words: Optional[List[str]] = None
    spaces: Optional[List[bool]] = None
    # Records sharing a group (a document) always land in the same split.
    group: Optional[str] = None
    # Consecutive records with the same doc_key may be joined into one Doc.
    doc_key: Optional[str] = None
    # Set when the source marks the record as not to be used (e.g. a rejected
    # Prodigy answer): it is dropped and reported with this reason.
    skip: Optional[str] = None
    # What the reader repaired in this record (tag sequences, label whitespace).
    repairs: List[Repair] = field(default_factory=list)
    # CoNLL: token i of the record stands on line `line + i` of the file.
    one_token_per_line: bool = False

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class ReadOptions:
    """How to read a file: its format and, for CoNLL, the tag column and scheme."""

    format: str = "auto"
    tag_column: int = -1
    tag_scheme: str = "auto"
    # CoNLL: a prefix to remove from every token that starts with it (WikiANN's "pt:").
    strip_prefix: str = ""
    # The encoding of files that are not UTF-8 and carry no byte-order mark (a
    # Python codec name: latin-1, cp1252, utf-16-le); empty: such a file stops.
    legacy_encoding: str = ""
    # `tokens`: the names of numeric tag ids, comma-separated in id order (as a
    # Hugging Face dataset's features list them); empty: ids stop the step.
    tag_names: str = ""


@dataclass
class FileStats:
    """What reading one file found beyond its records, for the data report."""

    removed_characters: Counter = field(default_factory=Counter)
    encoding: str = "UTF-8"  # or the UTF-16/UTF-32 its byte-order mark announced, or the legacy encoding
    legacy_encoding: str = ""  # ReadOptions.legacy_encoding
    tag_scheme: Optional[str] = None  # CoNLL: the scheme the tags were checked against
    # CoNLL tokens: how many, their "xx:" prefixes, prefixes stripped, and tokens
    # holding whitespace (spaCy's tokenizer never predicts on such a token).
    tokens: int = 0
    token_prefixes: Counter = field(default_factory=Counter)
    stripped_prefix: int = 0
    spaced_tokens: int = 0
    comment_lines: int = 0  # CoNLL: lines of "#" comments (sentence ids, text) passed over
    named_tag_ids: int = 0  # tokens: numeric tags read under the tag_names var's names
    token_id_column: int = 0  # CoNLL: 1 when column 0 holds token ids, passed over
    first_spaced_token: Optional[Tuple[int, str]] = None
    _codecs: Dict[Path, Optional[str]] = field(default_factory=dict)

    def codec_of(self, path: Path) -> Optional[str]:
        """The legacy encoding to read `path` in, if it is not UTF-8 and has no
        byte-order mark; else None. Decided once a file (a brat pair is two)."""
        if path not in self._codecs:
            self._codecs[path] = legacy_codec(path, self.legacy_encoding)
            self.encoding = self._codecs[path] or self.encoding
        return self._codecs[path]

    def read_token(self, token: str, number: int, strip_prefix: str) -> str:
        """A CoNLL token as the corpus gets it (without `strip_prefix`), counted."""
        self.tokens += 1
        if strip_prefix and token.startswith(strip_prefix) and len(token) > len(strip_prefix):
            self.stripped_prefix += 1
            token = token[len(strip_prefix):]
        else:
            found = TOKEN_PREFIX.match(token)
            if found and (found.group(1) in self.token_prefixes or len(self.token_prefixes) < MAX_PREFIXES):
                self.token_prefixes[found.group(1)] += 1
        if any(char.isspace() for char in token):
            self.spaced_tokens += 1
            self.first_spaced_token = self.first_spaced_token or (number, token)
        return token

    def shared_prefix(self) -> Optional[Dict[str, Any]]:
        """A prefix that nearly every token carries (as WikiANN's "pt:"), if any."""
        if not self.token_prefixes:
            return None
        prefix, count = self.token_prefixes.most_common(1)[0]
        share = count / self.tokens
        return {"prefix": prefix, "share": round(share, 4)} if share >= SHARED_PREFIX_SHARE else None

    def remove_leading_marks(self, line: str) -> str:
        """`line` without the byte-order marks it starts with (the file's own, or
        that of a file concatenated onto it), counted; a mark inside a line is left
        to the format's reader, as JSON text offsets count it."""
        stripped = line.lstrip(BOM)
        if len(stripped) != len(line):
            self.removed_characters[f"U+{ord(BOM):04X}"] += len(line) - len(stripped)
        return stripped

    def remove_invisibles(self, text: str, strip_edges: bool) -> str:
        """`text` without byte-order marks and, with `strip_edges`, without
        zero-width spaces or word joiners at its edges; removals are counted."""
        cleaned = text.replace(BOM, "") if BOM in text else text
        if strip_edges:
            cleaned = cleaned.strip(EDGE_INVISIBLES)
        if len(cleaned) != len(text):
            for char in EDGE_INVISIBLES:
                removed = text.count(char) - cleaned.count(char)
                if removed:
                    self.removed_characters[f"U+{ord(char):04X}"] += removed
        return cleaned


def check_options(options: ReadOptions) -> None:
    if options.format not in FORMATS:
        raise UserError(f"unknown format {options.format!r} (expected one of {', '.join(FORMATS)})")
    if options.tag_scheme not in TAG_SCHEMES:
        raise UserError(f"unknown tag scheme {options.tag_scheme!r} "
                        f"(expected one of {', '.join(TAG_SCHEMES)})")
    check_encoding(options.legacy_encoding)


def check_encoding(legacy_encoding: str) -> None:
    """Stop on a legacy encoding Python has no codec for."""
    if not legacy_encoding:
        return
    try:
        codecs.lookup(legacy_encoding)
    except LookupError:
        raise UserError(f"unknown legacy encoding {legacy_encoding!r} (expected a Python codec "
                        "name, e.g. latin-1, cp1252, utf-16-le)") from None


def iter_records(path: Path, options: ReadOptions, stats: Optional[FileStats] = None
                 ) -> Iterator[Record]:
    """Stream the records of one file, checking its structure as it goes."""
    check_options(options)
    stats = stats if stats is not None else FileStats()
    stats.legacy_encoding = options.legacy_encoding
    if path.is_file():
        stats.encoding = stats.codec_of(path) or file_encoding(path)
    fmt = detect_format(path, options.legacy_encoding) if options.format == "auto" else options.format
    if fmt == "conll":
        records = read_conll(path, options.tag_column, options.tag_scheme, stats, options.strip_prefix)
    elif fmt == "iob":
        records = read_iob(path, options.tag_scheme, stats, options.strip_prefix)
    elif fmt == "csv":
        records = read_csv(path, options.tag_scheme, stats)
    elif fmt == "tokens":
        records = read_tokens(path, options.tag_scheme, stats, parse_tag_names(options.tag_names))
    else:
        records = READERS[fmt](path, stats)
    found = False
    for record in records:
        found = True
        yield record
    if not found:
        raise UserError("no records found (the file is empty or holds only blank lines)", path)


def read_records(path: Path, options: Optional[ReadOptions] = None) -> List[Record]:
    """Every record of a file, in memory (for small files and tests)."""
    return list(iter_records(path, options or ReadOptions()))


def data_suffix(path: Path) -> str:
    """The suffix that tells a file's format, looking through a compression suffix."""
    name = path.name[:-len(compression)] if (compression := compression_suffix(path)) else path.name
    return Path(name).suffix.lower()


def compression_suffix(path: Path) -> Optional[str]:
    """`.gz`, `.bz2` or `.xz` if the file is compressed so, else None."""
    return next((suffix for suffix in COMPRESSIONS if path.name.lower().endswith(suffix)), None)


def detect_format(path: Path, legacy_encoding: str = "") -> str:
    """The format of a file, from its suffix and, for JSON(L), its first record; a
    folder is a brat collection."""
    if path.is_dir():
        return "brat"
    suffix = data_suffix(path)
    stats = FileStats(legacy_encoding=legacy_encoding)
    if suffix in CONLL_SUFFIXES:
        return "iob" if _looks_like_iob(_first_sentence_line(path, stats)) else "conll"
    if suffix == ".spacy":
        return "spacy"
    if suffix == BRAT_SUFFIX:
        return "brat"
    if suffix == ".csv":
        return "csv"
    if suffix == ".jsonl":
        first = next((line for _, line in _decoded_lines(path, stats) if line.strip()), "")
        try:
            return _record_format(json.loads(first))
        except json.JSONDecodeError:
            return "jsonl"  # read_jsonl reports the problem with its line
    if suffix == ".json":
        for _, item in iter_json_array(path, stats.codec_of(path)):
            if isinstance(item, dict) and "paragraphs" in item:
                return "spacy_json"
            if isinstance(item, dict) and "data" in item:
                return "label_studio"
            if isinstance(item, dict) and any(key in item for key in TEXT_KEYS + TOKEN_LIST_KEYS):
                return _record_format(item)
            break
        raise UserError("cannot tell the format of this JSON file (expected an array of records with "
                        '"text" and entities, a Label Studio export or spaCy v2 JSON); set the '
                        "'format' var", path)
    raise UserError(f"unsupported file type '{suffix or path.name}' (expected one of "
                    f"{', '.join(SUPPORTED_SUFFIXES)}, {COMPRESSED}); set the 'format' var "
                    "to read it anyway", path)


def guess_format(path: Path) -> Optional[str]:
    """A format that the first lines of a file look like, to suggest in a message
    (bytes that are not UTF-8 read as U+FFFD: a legacy encoding keeps the layout)."""
    try:
        lines = [raw.decode("utf8", "replace") for _, (_, raw) in zip(range(200), binary_lines(path))]
    except UserError:
        return None
    content = [line.strip().lstrip(BOM) for line in lines if line.strip()]
    if not content:
        return None
    if content[0].startswith("{"):
        try:
            return _record_format(json.loads(content[0]))
        except json.JSONDecodeError:
            return "jsonl"
    if content[0].startswith("["):
        return "label_studio"
    if _looks_like_iob(next((line for line in content if not line.startswith("-DOCSTART-")), "")):
        return "iob"
    rows = [re.split(r"\t" if "\t" in line else r"\s+", line) for line in content[:50]]
    if all(len(row) >= 2 and TAG_PATTERN.match(row[-1]) for row in rows if row[0] != "-DOCSTART-"):
        return "conll"
    return None


def _is_token_line(line: str) -> bool:
    """Whether a line of a tagged-token file holds tokens: not blank, a '#' comment or a document start."""
    return bool(line.strip()) and not line.lstrip().startswith(("#", "-DOCSTART-"))


def _first_sentence_line(path: Path, stats: FileStats) -> str:
    """The first token line of a tagged-token file."""
    return next((line for _, line in _decoded_lines(path, stats) if _is_token_line(line)), "")


def _looks_like_iob(line: str) -> bool:
    """Whether a line is a sentence of `word|tag` tokens (spaCy's `iob` format),
    as spaCy's converter tells it from CoNLL: by content, not by file name."""
    tokens = line.split()
    return bool(tokens) and all(IOB_TOKEN.match(token) for token in tokens)


def _record_format(record: object) -> str:
    """Which of the JSONL formats one record (a line, or an item of a JSON array) is in."""
    if not isinstance(record, dict):
        return "jsonl"  # the reader reports the problem with its line
    if not any(key in record for key in TEXT_KEYS) and any(key in record for key in TOKEN_LIST_KEYS):
        return "tokens"
    entities = record.get("entities")
    offset_objects = isinstance(entities, list) and bool(entities) and isinstance(entities[0], dict) \
        and "start_offset" in entities[0]
    if "spans" in record:
        return "prodigy"
    if "label" in record or offset_objects:
        return "doccano"
    return "jsonl"


class TranscodedFile:
    """A file in the UTF-16 or UTF-32 its byte-order mark announces, or in a
    declared legacy encoding (`declared`), read as UTF-8 bytes (without the
    mark), in lines that end at "\\n" as a binary file's do."""

    chunk_size = 1 << 16

    def __init__(self, raw: IO[bytes], encoding: str, path: Path, declared: bool = False) -> None:
        self.raw, self.encoding, self.path, self.declared = raw, encoding, path, declared

    def __enter__(self) -> "TranscodedFile":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.raw.close()

    def __iter__(self) -> Iterator[bytes]:
        # "utf-16"/"utf-32" read the byte order from the mark and drop it.
        decoder = codecs.getincrementaldecoder(self.encoding if self.declared else self.encoding[:6].lower())()
        pending, lines = "", 0
        try:
            for chunk in iter(lambda: self.raw.read(self.chunk_size), b""):
                pending += decoder.decode(chunk)
                *complete, pending = pending.split("\n")
                for line in complete:
                    lines += 1
                    yield (line + "\n").encode("utf8")
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            announced = "the legacy_encoding var declares" if self.declared else "its byte-order mark announces"
            line = lines + 1 + err.object[:err.start].count(b"\n")  # lines the chunk held before the error
            raise UserError(f"not valid {self.encoding} ({err.reason}), which {announced}; "
                            "re-save the file as UTF-8", self.path, line) from None
        if pending:
            yield pending.encode("utf8")

    def read(self) -> bytes:
        return b"".join(self)


def _open_raw(path: Path) -> IO[bytes]:
    compression = compression_suffix(path)
    return COMPRESSIONS[compression](path, "rb") if compression else path.open("rb")  # type: ignore[return-value]


# What a broken compressed stream raises (bz2: a bare OSError), and the OSErrors that are no such thing.
DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
FILE_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


@contextmanager
def _decompressing(path: Path) -> Iterator[None]:
    """A broken or truncated compressed file as a one-line error naming it."""
    try:
        yield
    except DECOMPRESSION_ERRORS as err:
        if compression_suffix(path) is None or isinstance(err, FILE_ERRORS):
            raise
        raise UserError(f"not a readable {compression_suffix(path)} file ({err or type(err).__name__})",
                        path) from None


def _announced_encoding(raw: IO[bytes]) -> Optional[str]:
    head = raw.peek(4)[:4]  # type: ignore[attr-defined]  # buffered and decompressing files peek
    return next((name for name, mark in ANNOUNCED_ENCODINGS if head.startswith(mark)), None)


def open_binary(path: Path, codec: Optional[str] = None) -> Union[IO[bytes], TranscodedFile]:
    """Open a data file for reading UTF-8 bytes: a compressed file decompressed on the fly,
    a file whose byte-order mark announces UTF-16 or UTF-32, or one in the legacy
    encoding `codec`, transcoded."""
    raw = _open_raw(path)
    try:
        encoding = _announced_encoding(raw)
    except BaseException:
        raw.close()
        raise
    if encoding is not None:
        return TranscodedFile(raw, encoding, path)
    return raw if codec is None else TranscodedFile(raw, codec, path, declared=True)


def legacy_codec(path: Path, legacy_encoding: str) -> Optional[str]:
    """`legacy_encoding` if the file is not UTF-8 text (bytes that do not decode,
    or NUL characters, as UTF-16 without its mark has) and carries no byte-order
    mark; else None. A UTF-8 file is never read in the legacy encoding, which
    would turn its accents into mojibake without an error."""
    if not legacy_encoding:
        return None
    check_encoding(legacy_encoding)
    decoder = codecs.getincrementaldecoder("utf8")()
    with _decompressing(path), _open_raw(path) as raw:
        if _announced_encoding(raw) is not None:
            return None
        try:
            for chunk in iter(lambda: raw.read(1 << 16), b""):
                if b"\0" in chunk:
                    return legacy_encoding
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return legacy_encoding
    return None


def file_encoding(path: Path) -> str:
    """The encoding a data file is read in: UTF-8 unless a byte-order mark says otherwise."""
    with _decompressing(path), _open_raw(path) as raw:
        return _announced_encoding(raw) or "UTF-8"


def read_bytes(path: Path, codec: Optional[str] = None) -> bytes:
    with _decompressing(path), open_binary(path, codec) as file_:
        return file_.read()


def binary_lines(path: Path, codec: Optional[str] = None) -> Iterator[Tuple[int, bytes]]:
    """Yield (line number, raw line) of a file, decompressed on the fly; a broken
    compressed file is a one-line error. A carriage return alone ends a line
    too (classic Mac OS, spreadsheet exports), as Python's universal newlines and
    text editors have it, so line numbers are the ones an editor shows."""
    with _decompressing(path), open_binary(path, codec) as file_:
        number = 0
        for raw_line in file_:
            ending = 2 if raw_line.endswith(b"\r\n") else 1 if raw_line.endswith((b"\n", b"\r")) else 0
            body = raw_line[:len(raw_line) - ending]
            if b"\r" not in body:
                number += 1
                yield number, raw_line
                continue
            *parts, last = body.split(b"\r")
            for part in parts:
                number += 1
                yield number, part + b"\r"
            number += 1
            yield number, last + raw_line[len(body):]


def invalid_utf8(raw: bytes, position: int, unit: str, fix: str = "re-save the file as UTF-8") -> str:
    """Why `raw` is not UTF-8 at byte `position` of its `unit` (line, file): the byte,
    and the word around it as Windows-1252 reads it, if it does."""
    start = max(raw.rfind(separator, 0, position) for separator in WORD_EDGES) + 1
    ends = [end for end in (raw.find(separator, position) for separator in WORD_EDGES) if end != -1]
    word = raw[start:min(ends, default=len(raw))][:40]
    try:
        legacy = f"; as Windows-1252 it reads {word.decode(LIKELY_LEGACY_ENCODING)!r}"
    except UnicodeDecodeError:
        legacy = ""
    return f"not valid UTF-8 (byte {position + 1} of the {unit}, 0x{raw[position]:02X}{legacy}); {fix}"


def decode(raw: bytes, unit: str, fix: str = "re-save the file as UTF-8") -> Tuple[Optional[str], int, str]:
    """`raw` (a `unit`: a line, a file) as text; or None, the line of the problem
    counted from `raw`'s start, and the cause: bytes that are not UTF-8, or NUL
    characters (UTF-16 without its byte-order mark)."""
    try:
        text = raw.decode("utf8")
    except UnicodeDecodeError as err:
        if b"\0" in raw:
            return None, raw[: raw.index(b"\0")].count(b"\n") + 1, NO_BOM_HINT
        return None, raw[: err.start].count(b"\n") + 1, invalid_utf8(raw, err.start, unit, fix)
    if "\0" in text:
        return None, text.count("\n", 0, text.index("\0")) + 1, NO_BOM_HINT
    return text, 0, ""


def _decoded_lines(path: Path, stats: FileStats, allow_empty: bool = False) -> Iterator[Tuple[int, str]]:
    """Yield (line number, text) without line ends or leading byte-order marks;
    name the line of any invalid UTF-8. Streams, so a file never sits in memory whole."""
    any_content = False
    for number, raw_line in binary_lines(path, stats.codec_of(path)):
        decoded, _, cause = decode(raw_line, "line", LEGACY_FIX)
        if decoded is None:
            raise UserError(cause, path, number)
        line = stats.remove_leading_marks(decoded.rstrip("\r\n"))
        any_content = any_content or bool(line.strip())
        yield number, line
    if not any_content and not allow_empty:
        raise UserError("file is empty", path)


def _json_lines(path: Path, stats: FileStats) -> Iterator[Tuple[int, dict]]:
    for number, line in _decoded_lines(path, stats):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"not valid JSON ({err.msg} at column {err.colno})",
                            path, number) from None
        if not isinstance(data, dict):
            raise UserError("expected a JSON object per line", path, number)
        yield number, data


def _records(path: Path, stats: FileStats) -> Iterator[Tuple[int, str, dict]]:
    """The JSON objects of a JSONL file, or of the array a .json file holds, with
    the line each starts on and an id for a record that has none: its line, or
    in an array (which may be all one line) its position."""
    if data_suffix(path) != ".json":
        for number, data in _json_lines(path, stats):
            yield number, f"{path.name}:{number}", data
        return
    for index, (number, item) in enumerate(iter_json_array(path, stats.codec_of(path)), start=1):
        if not isinstance(item, dict):
            raise UserError(f"record {index}: expected a JSON object", path, number)
        yield number, f"{path.name}#{index}", item


def _text(data: dict, path: Path, number: int) -> str:
    text = next((data[key] for key in TEXT_KEYS if key in data), None)
    if not isinstance(text, str):
        keys = ", ".join(map(repr, list(data)[:8])) or "none"
        raise UserError(f"missing {' or '.join(map(repr, TEXT_KEYS))} string (the record's keys: {keys})", path, number)
    return text


def _looks_like_spans(value: object) -> bool:
    """A non-empty list of spans: [start, end, label] lists or objects with a start and a label."""
    if not isinstance(value, list) or not value:
        return False
    first = value[0]
    if isinstance(first, dict):
        return any(key in first for key in SPAN_START_KEYS) and any(key in first for key in SPAN_LABEL_KEYS)
    return isinstance(first, list) and len(first) == 3 and all(isinstance(x, int) for x in first[:2])


def read_jsonl(path: Path, stats: FileStats) -> Iterator[Record]:
    for number, fallback_id, data in _records(path, stats):
        text = _text(data, path, number)
        record = Record(source=str(path), line=number, id=str(data.get("id", fallback_id)),
                        text=text, entities=[])
        key = next((key for key in ENTITY_KEYS if key in data), None)
        if key is None:  # a record read without entities must not be one whose spans sit under another key
            unread = next((key for key, value in data.items() if _looks_like_spans(value)), None)
            if unread is not None:
                raise UserError(f"spans under {unread!r}, which is not read: entities go under "
                                f"{' or '.join(map(repr, ENTITY_KEYS))}", path, number)
        record.entities = [_parse_span(raw, record) for raw in (data[key] if key else None) or []]
        group = data.get("doc_id")
        record.group = record.doc_key = None if group is None else str(group)
        yield record


def read_prodigy(path: Path, stats: FileStats) -> Iterator[Record]:
    for number, fallback_id, data in _records(path, stats):
        text = _text(data, path, number)
        answer = data.get("answer", "accept")
        record_id = carried_id(data, data.get("_input_hash", data.get("id", fallback_id)))
        record = Record(source=str(path), line=number, id=record_id, text=text, entities=[],
                        skip=None if answer == "accept" else f"Prodigy answer {answer!r}")
        record.entities = [_parse_span(raw, record) for raw in data.get("spans") or []]
        yield record


def read_doccano(path: Path, stats: FileStats) -> Iterator[Record]:
    for number, fallback_id, data in _records(path, stats):
        text = _text(data, path, number)
        raw_spans = data.get("label") if "label" in data else data.get("entities")
        record = Record(source=str(path), line=number, text=text, entities=[],
                        id=carried_id(data, data.get("id", fallback_id)))
        record.entities = [_parse_span(raw, record) for raw in raw_spans or []]
        yield record


def read_text(path: Path, keep_bom: bool = False, codec: Optional[str] = None) -> str:
    """A whole file's text, decoded as the line readers decode it (UTF-8, the
    encoding its byte-order mark announces, or `codec`); the same errors, with their line."""
    text, line, cause = decode(read_bytes(path, codec), "file", LEGACY_FIX)
    if text is None:
        raise UserError(cause, path, line)
    return text if keep_bom else text.lstrip(BOM)


def iter_json_array(path: Path, codec: Optional[str] = None) -> Iterator[Tuple[int, object]]:
    """Items of a JSON array with the line each starts on."""
    text = read_text(path, codec=codec)
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if not text.strip():
        raise UserError("file is empty", path)
    if text[position : position + 1] != "[":
        raise UserError("expected a JSON array of records", path, text.count("\n", 0, position) + 1)
    position = _skip_space(text, position + 1)
    while position < len(text) and text[position] != "]":
        line = text.count("\n", 0, position) + 1
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as err:
            raise UserError(f"not valid JSON ({err.msg})", path, err.lineno) from None
        yield line, item
        position = _skip_space(text, position)
        if text[position : position + 1] == ",":
            position = _skip_space(text, position + 1)
        elif text[position : position + 1] != "]":
            raise UserError("expected ',' or ']' between records", path, text.count("\n", 0, position) + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def read_label_studio(path: Path, stats: FileStats) -> Iterator[Record]:
    for index, (number, task) in enumerate(iter_json_array(path, stats.codec_of(path)), start=1):
        where = f"task {index}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise UserError(f'{where}: expected a Label Studio task with a "data" object', path, number)
        data = task["data"]
        text = data.get("text", next((v for v in data.values() if isinstance(v, str)), None))
        if not isinstance(text, str):
            raise UserError(f"{where}: the task has no text in its data", path, number)
        annotations = task.get("annotations") or task.get("completions") or []
        if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
            raise UserError(f'{where}: "annotations" must be a list of objects', path, number)
        completed = [a for a in annotations if not a.get("was_cancelled")]
        record = Record(source=str(path), line=number, id=carried_id(task, task.get("id", f"{path.name}:{number}")),
                        text=text, entities=[],
                        skip=None if completed else "no completed annotation")
        results = (completed[-1].get("result") or []) if completed else []
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise UserError(f'{where}: an annotation\'s "result" must be a list of objects',
                            path, number)
        for result in results:
            value = result.get("value") or {}
            labels = value.get("labels") or value.get("hypertextlabels") or []
            if result.get("type", "labels") not in ("labels", "hypertextlabels") or not labels:
                continue
            # Some exports hold a single label as a string rather than a list.
            for label in [labels] if isinstance(labels, str) else labels:
                raw = [value.get("start"), value.get("end"), label]
                record.entities.append(_parse_span(raw, record, value.get("text")))
        yield record


def brat_pairs(path: Path) -> List[Tuple[Path, Path]]:
    """The (.ann, .txt) pairs a brat input holds: one `.ann` file, or every one below
    a folder, sorted; each needs its text beside it."""
    annotations = sorted(p for p in path.rglob(f"*{BRAT_SUFFIX}") if p.is_file() and not p.name.startswith(".")) \
        if path.is_dir() else [path]
    if not annotations:
        raise UserError(f"no brat annotation files ({BRAT_SUFFIX}) in the folder", path)
    pairs = []
    for annotation in annotations:
        text = annotation.with_suffix(BRAT_TEXT_SUFFIX)
        if not text.is_file():
            raise UserError(f"no text file beside it (expected {text.name})", annotation)
        pairs.append((annotation, text))
    return pairs


def is_brat_text(path: Path) -> bool:
    """A `.txt` file that a brat `.ann` file of the same name annotates: read through it."""
    return path.suffix.lower() == BRAT_TEXT_SUFFIX and path.with_suffix(BRAT_SUFFIX).is_file()


def read_brat(path: Path, stats: FileStats) -> Iterator[Record]:
    """One record per document: the text file's text, the `.ann` file's text-bound
    annotations (`T` lines; relations, events, attributes and notes are not NER and
    are passed over). A discontinuous entity becomes one entity per fragment, a
    reported repair."""
    for annotation, text_path in brat_pairs(path):
        name = annotation.relative_to(path).with_suffix("").as_posix() if path.is_dir() else annotation.stem
        # brat reads a text as plain UTF-8 with universal newlines: its offsets count a
        # leading byte-order mark and a CRLF as one character.
        as_brat_reads = read_text(text_path, keep_bom=True, codec=stats.codec_of(text_path))
        as_brat_reads = as_brat_reads.replace("\r\n", "\n").replace("\r", "\n")
        text = as_brat_reads.lstrip(BOM)
        shift = len(as_brat_reads) - len(text)
        record = Record(source=str(annotation), line=1, id=name, text=text, entities=[], group=name)
        for number, line in _decoded_lines(annotation, stats, allow_empty=True):
            if not line.startswith("T"):
                continue
            found = BRAT_ENTITY.match(line)
            if found is None:
                raise UserError(f"not a brat text-bound annotation (expected 'T1<TAB>LABEL START END<TAB>TEXT'): "
                                f"{line[:80]!r}", annotation, number)
            entity_id, label, fragments, declared = found.groups()
            offsets = [tuple(int(offset) - shift for offset in fragment.split()) for fragment in fragments.split(";")]
            if len(offsets) == 1:
                record.entities.append(_parse_span([*offsets[0], label], record, declared, number))
            else:
                record.repairs.append((number, "discontinuous entity split",
                                       f"{entity_id} {label} read as {len(offsets)} entities, one a fragment"))
                record.entities += [_parse_span([start, end, label], record, line=number) for start, end in offsets]
        yield record


def read_docbin(path: Path, stats: FileStats) -> Iterator[Record]:
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    entities, spans = 0, Counter()  # a span categorizer's corpus keeps its annotation in doc.spans
    try:
        docs = DocBin().from_bytes(read_bytes(path)).get_docs(Vocab())
        for index, doc in enumerate(docs, start=1):
            entities += len(doc.ents)
            spans.update({key: len(group) for key, group in doc.spans.items()})
            yield _record_from_doc(path, index, doc)
    except UserError:
        raise
    except (ValueError, KeyError, TypeError, zlib.error) as err:  # msgpack/zlib on a non-DocBin
        raise UserError(f"not a spaCy DocBin file ({type(err).__name__}: {err})", path) from None
    if not entities and +spans:
        key, count = spans.most_common(1)[0]
        raise UserError(f"no doc.ents in any doc, but {count} span(s) in doc.spans[{key!r}]: entities are read from "
                        "doc.ents (set them from the spans where they do not overlap)", path)


def read_spacy_json(path: Path, stats: FileStats) -> Iterator[Record]:
    from spacy.training.converters import json_to_docs

    for number, item in iter_json_array(path, stats.codec_of(path)):
        try:
            docs = list(json_to_docs([item]))
        except (KeyError, ValueError, TypeError, IndexError) as err:
            raise UserError(f"not a spaCy v2 JSON document ({type(err).__name__}: {err})",
                            path, number) from None
        for doc in docs:
            yield _record_from_doc(path, number, doc)


def _record_from_doc(path: Path, number: int, doc) -> Record:
    return Record(source=str(path), line=number, id=f"{path.name}:{number}", text=doc.text,
                  entities=[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents],
                  words=[token.text for token in doc], spaces=[bool(token.whitespace_) for token in doc])


def _clean_label(label: str, record: Record, line: int) -> str:
    """The label without surrounding whitespace, noting the repair."""
    stripped = label.strip()
    if stripped != label:
        record.repairs.append((line, "label whitespace stripped",
                               f"label {label!r} read as {stripped!r}"))
    return stripped


def _utf16_offset(text: str, offset: int) -> Optional[int]:
    """The character offset of a UTF-16 code unit offset (as JavaScript counts)."""
    encoded = text.encode("utf-16-le")
    try:
        return len(encoded[: 2 * offset].decode("utf-16-le")) if 0 <= 2 * offset <= len(encoded) else None
    except UnicodeDecodeError:  # inside a surrogate pair
        return None


def _utf8_offset(text: str, offset: int) -> Optional[int]:
    """The character offset of a UTF-8 byte offset."""
    encoded = text.encode("utf8")
    try:
        return len(encoded[:offset].decode("utf8")) if 0 <= offset <= len(encoded) else None
    except UnicodeDecodeError:  # inside a character
        return None


def _lf_offset(text: str, offset: int) -> Optional[int]:
    """The character offset of an offset into the text with each CRLF counted as one
    character (as browsers normalise line ends)."""
    position = 0
    for index, char in enumerate(text):
        if position == offset:
            return index
        position += not (char == "\r" and text[index + 1 : index + 2] == "\n")
    return len(text) if position == offset else None


# Annotation tools that count offsets in other units than Python's characters
# (JavaScript's UTF-16 code units before an emoji, bytes, CRLF as one character):
# where the export also gives each span's text, the offsets it fits are read
# as such and the repair reported.
OFFSET_UNITS = (("UTF-16 code units", _utf16_offset), ("UTF-8 bytes", _utf8_offset),
                ("characters with CRLF as one", _lf_offset))


def _parse_span(raw: object, record: Record, declared: Optional[object] = None,
                line: Optional[int] = None) -> CharSpan:
    """One entity as character offsets; `declared` is the span's own text where the
    export gives it (a "text" key), which the offsets must point at. Problems name
    `line`, by default the record's."""
    path, number, text = record.source, line or record.line, record.text
    if isinstance(raw, dict):
        declared, label = raw.get("text"), raw.get("label")
        labels = raw.get("labels")  # Label Studio's JSON-MIN export: a list of the span's labels
        if label is None and isinstance(labels, list):
            if len(labels) != 1:
                raise UserError(f"entity {raw!r}: {len(labels)} labels on one span (one expected)", path, number)
            label = labels[0]
        raw = [raw.get("start", raw.get("start_offset")), raw.get("end", raw.get("end_offset")), label]
    if not (isinstance(raw, (list, tuple)) and len(raw) == 3):
        raise UserError(f"entity {raw!r} is not [start, end, label]", path, number)
    start, end, label = raw
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
        raise UserError(f"entity {list(raw)!r}: offsets must be integers", path, number)
    if not isinstance(label, str) or not label.strip():
        raise UserError(f"entity {list(raw)!r}: label must be a non-empty string", path, number)
    if isinstance(declared, str) and declared and text[start:end] != declared:
        for unit, to_characters in OFFSET_UNITS:
            converted = to_characters(text, start), to_characters(text, end)
            if None not in converted and text[converted[0]:converted[1]] == declared:
                record.repairs.append((number, f"offsets in {unit}",
                                       f"entity {list(raw)!r} ({declared!r}) read as characters {list(converted)}"))
                start, end = converted  # type: ignore[assignment]
                break
        else:  # no unit fits; offsets outside the text are reported as such below
            if 0 <= start < end <= len(text):
                raise UserError(f"entity {list(raw)!r}: the export gives its text as {declared!r}, but the text "
                                f"at those offsets is {text[start:end]!r}", path, number)
    if not 0 <= start < end <= len(text):
        raise UserError(f"entity {list(raw)!r}: offsets outside the text "
                        f"(0 <= start < end <= {len(text)} expected)", path, number)
    return start, end, _clean_label(label, record, number)


# One CoNLL line: (line number, token, tag), or (line number, None, "-DOCSTART-"
# or "") for a document start or a sentence break.
ConllRow = Tuple[int, Optional[str], str]


def tag_problem(tag: str, io: bool, hint: Optional[str], first_hint: Optional[str] = None) -> Optional[str]:
    """Why `tag` is not a tag of its scheme, or None: under IO, O or a label
    without a prefix; otherwise O or B-/I-/E-/S-/L-/U- and a label. The message
    gives `first_hint`, the slip the tag looks like, then `hint` (where else to look)."""
    if io:
        if TAG_PATTERN.match(tag) and tag != "O":
            return f"tag {tag!r} has the prefix {tag[:2]!r}, but the tag_scheme var is io (labels without prefixes)"
        return None if IO_LABEL.match(tag.strip()) else f"tag {tag!r} is not O or a label" + (
            f" ({hint})" if hint else "")
    if TAG_PATTERN.match(tag):
        return None
    slip = next((why for pattern, why in TAG_SLIPS if pattern.match(tag)), None)
    hints = "; else ".join(h for h in (first_hint, slip, hint) if h)
    return f"tag {tag!r} is not O or B-/I-/E-/S-/L-/U- followed by a label" + (f" ({hints})" if hints else "")


def _is_comment(line: str, tag_column: int) -> bool:
    """A line starting with "#" that is not a token "#" with its tag."""
    fields = line.split()
    try:
        return not (len(fields) >= 2 and TAG_PATTERN.match(fields[tag_column]))
    except IndexError:
        return True


def _conll_rows(path: Path, tag_column: int, stats: FileStats,
                strip_prefix: str = "", io: bool = False) -> Iterator[ConllRow]:
    """Split CoNLL lines into token and tag, with one column layout per file.

    A file whose first token line holds a tab is tab-separated: columns split on
    tabs only, so a token may contain spaces ("São Paulo"). Otherwise columns
    split on runs of whitespace. Every token line must have the first line's
    number of columns. A first column of token ids (1, 2, ... in each sentence,
    as CoNLL-U, Universal NER and NeuroNLP2's CoNLL-2003 have it) is passed over,
    the tokens read from the second.
    """
    separator: Optional[str] = None
    expected: Optional[Tuple[int, int]] = None  # (columns, line of the first token)
    token_lines = numeric_first_columns = 0
    inside_sentence = False
    lines = _decoded_lines(path, stats)
    first_sentence = _first_sentence(lines)
    # The token's column; with token ids, the id the next token line must have.
    token_at, next_id = int(_numbers_its_tokens(line for _, line in first_sentence)), 1
    stats.token_id_column = token_at
    for number, line in itertools.chain(first_sentence, lines):
        if line.startswith("#"):
            if expected is None and line.startswith(WEBANNO_HEADER):
                raise UserError("a WebAnno TSV file (INCEpTION's and WebAnno's own format), which is not read; "
                                "export the project as CoNLL 2002 or brat instead", path, number)
            if _is_comment(line, tag_column):
                if inside_sentence:  # each token's line is its sentence's first line plus its position
                    raise UserError("a '#' comment line inside a sentence (comments go before one)", path, number)
                stats.comment_lines += 1  # "# id ...", "# text = ..." as MultiCoNER and CoNLL-U write them
                continue
        if separator is None and line.strip():
            separator = "\t" if "\t" in line else " "
        invisible = INVISIBLE.search(line) is not None
        if separator == "\t":
            columns = line.split("\t")
            if invisible:
                columns = [stats.remove_invisibles(c, strip_edges=True) for c in columns]
            columns = [c.strip() for c in columns[:-1]] + [c.lstrip() for c in columns[-1:]]
            while columns and not columns[-1]:
                columns.pop()  # trailing tabs
        else:
            columns = line.split()
            if invisible:
                columns = [c for c in (stats.remove_invisibles(c, strip_edges=True)
                                       for c in columns) if c]
        inside_sentence = bool(columns) and columns[0] != "-DOCSTART-"
        if not columns:
            next_id = 1
            yield number, None, ""
            continue
        if columns[0] == "-DOCSTART-":
            next_id = 1
            yield number, None, "-DOCSTART-"
            continue
        if len(columns) < 2:
            raise UserError(f"expected a token and a tag separated by "
                            f"{'a tab' if separator == chr(9) else 'whitespace'}, got {line[:80]!r}",
                            path, number)
        if len(columns) > MAX_COLUMNS:
            raise UserError(f"{len(columns)} columns on one line: this is running text, not one "
                            "token a line (check the 'format' var)", path, number)
        if expected is None:
            if separator == " " and len(columns) >= 2 and all(IOB_SEPARATOR in column for column in columns):
                raise UserError("every column holds a '|': a sentence of word|tag tokens on one line (spaCy's "
                                "iob format)? Set the 'format' var to iob", path, number)
            if (separator == " " and len(columns) >= 4 and len(columns) % 2 == 0
                    and all(TAG_PATTERN.match(c) for c in columns[1::2])):
                raise UserError(f"holds {len(columns) // 2} token/tag pairs on one line; CoNLL "
                                "needs one token a line", path, number)
            expected = (len(columns), number)
        elif len(columns) != expected[0]:
            hint = (" (several token/tag pairs on one line?)" if len(columns) > expected[0]
                    else "")
            raise UserError(f"{len(columns)} columns, but line {expected[1]} has {expected[0]}"
                            f"{hint}", path, number)
        header = number == expected[1]  # the first token line
        if token_at:
            if columns[0] != str(next_id):
                raise UserError(f"column 0 holds token ids (1, 2, ... in each sentence, as CoNLL-U and Universal "
                                f"NER files have them), but here it is {columns[0]!r} where {next_id} was expected",
                                path, number)
            next_id += 1
        if not columns[token_at]:
            raise UserError("empty token" + (f" ({HEADER_HINT})" if header else ""), path, number)
        try:
            tag = columns[tag_column]
        except IndexError:
            raise UserError(f"no column {tag_column} (the line has {len(columns)}); check the "
                            "'tag_column' var", path, number) from None
        problem = tag_problem(tag, io, "check the 'tag_column' var", _first_line_hint(columns, token_at, tag_column)
                              if header else None)
        if problem:
            raise UserError(problem, path, number)
        token_lines += 1
        numeric_first_columns += columns[token_at].isdigit()
        yield number, stats.read_token(columns[token_at], number, strip_prefix), tag
    if token_lines >= ROW_INDEX_MIN_LINES and numeric_first_columns >= ROW_INDEX_SHARE * token_lines and expected:
        raise UserError(f"the first column, which must hold the tokens, is a number on "
                        f"{numeric_first_columns / token_lines:.0%} of the token lines: a row index, as spreadsheets "
                        "and pandas write? Remove that column", path, expected[1])


# How many lines of a CoNLL file are held to see whether its first sentence numbers its tokens.
FIRST_SENTENCE_LINES = 1000


def _first_sentence(lines: Iterator[Tuple[int, str]]) -> List[Tuple[int, str]]:
    """The numbered lines up to the blank line that ends the first sentence (at most FIRST_SENTENCE_LINES)."""
    held: List[Tuple[int, str]] = []
    started = False  # a token line was held
    for number, line in lines:
        held.append((number, line))
        if (started and not line.strip()) or len(held) >= FIRST_SENTENCE_LINES:
            break
        started = started or _is_token_line(line)
    return held


def _numbers_its_tokens(lines: Iterator[str]) -> bool:
    """Whether a sentence's token lines start with ids 1, 2, ... and two more columns
    (a token and a tag at least): CoNLL-U's, Universal NER's and NeuroNLP2's layout."""
    rows = [re.split(r"\t" if "\t" in line else r"\s+", line.strip()) for line in lines if _is_token_line(line)]
    return bool(rows) and all(len(row) >= 3 and row[0] == str(index) for index, row in enumerate(rows, start=1))


def _first_line_hint(columns: List[str], token_at: int, tag_column: int) -> str:
    """Why a CoNLL file's first token line has no tag where the tag_column var
    looks: another column that holds one (Universal NER: the third), or a header."""
    tagged = [index for index, column in enumerate(columns)
              if index != token_at and index != tag_column % len(columns) and TAG_PATTERN.match(column)]
    return f"column {tagged[-1]} holds a tag: set the tag_column var to {tagged[-1]}" if tagged else HEADER_HINT


def infer_tag_scheme(tags: Iterator[str]) -> str:
    """The scheme a file's tags follow: BILUO if any E-/S-/L-/U- tag occurs, else
    IOB1 if entities mostly start with I- (CoNLL-2003's layout), else IOB2."""
    b_starts = i_starts = 0
    previous = "O"
    for tag in tags:
        prefix, _, label = tag.partition("-")
        if prefix in ("E", "S", "L", "U"):
            return "biluo"
        prev_prefix, _, prev_label = previous.partition("-")
        starts = prefix in ("B", "I") and not (prev_prefix in ("B", "I") and prev_label == label)
        b_starts += starts and prefix == "B"
        i_starts += starts and prefix == "I"
        previous = tag
    return "iob1" if i_starts > b_starts else "iob2"


# Under tag_scheme "auto", sentences are held back until this many entity starts
# (or the end of the file) decide the scheme: one pass, bounded memory.
SCHEME_EVIDENCE = 500


def read_conll(path: Path, tag_column: int = -1, tag_scheme: str = "auto",
               stats: Optional[FileStats] = None, strip_prefix: str = "") -> Iterator[Record]:
    """Read CoNLL-style columns; each sentence becomes one record.

    Any line whose first column is `-DOCSTART-` starts a document (this also
    covers CoNLL-2002 Dutch's `-DOCSTART- -DOCSTART- O`, which spaCy's own
    converter would read as a token). Under `tag_scheme` "auto" the scheme is
    inferred from the file's first entities; tags that break it are read
    leniently and each such repair is recorded with its line.
    """
    stats = stats if stats is not None else FileStats()
    rows = _conll_rows(path, tag_column, stats, strip_prefix, io=tag_scheme == "io")
    return _tagged_records(path, _conll_sentences(path, rows), tag_scheme, stats)


def read_csv(path: Path, tag_scheme: str = "auto", stats: Optional[FileStats] = None) -> Iterator[Record]:
    """Read a table of one token a row with a header naming its columns (as
    spreadsheets, pandas and Kaggle's NER datasets have it): the token column,
    the tag column and, optionally, a sentence column whose value starts a new
    sentence when it changes (it may be filled in on a sentence's first row only).
    A blank row also ends a sentence. Comma, semicolon or tab separated."""
    stats = stats if stats is not None else FileStats()
    rows = _csv_rows(path, stats, io=tag_scheme == "io")
    return _tagged_records(path, _conll_sentences(path, rows), tag_scheme, stats)


def _csv_rows(path: Path, stats: FileStats, io: bool = False) -> Iterator[ConllRow]:
    numbered = _decoded_lines(path, stats)
    current = [0]

    def lines() -> Iterator[str]:
        for number, line in numbered:
            current[0] = number
            yield line

    text_lines = lines()
    first = next(text_lines, None)
    if first is None:
        raise UserError("file is empty", path)
    # The separator that splits the header into the most columns (Excel writes ";" in many locales).
    separator = max(CSV_SEPARATORS, key=first.count)
    rows = csv.reader(itertools.chain([first], text_lines), delimiter=separator)
    header = next(rows)
    names = [name.strip().lower() for name in header]
    columns = {role: next((names.index(name) for name in candidates if name in names), None)
               for role, candidates in CSV_COLUMNS.items()}
    if columns["token"] is None or columns["tag"] is None:
        raise UserError(f"the header {header!r} names no " + " and no ".join(
            f"{role} column ({', '.join(CSV_COLUMNS[role])})" for role in ("token", "tag") if columns[role] is None),
            path, 1)
    token_at, tag_at, sentence_at = columns["token"], columns["tag"], columns["sentence"]
    sentence = None
    for row in rows:
        number = current[0]
        if not any(cell.strip() for cell in row):
            yield number, None, ""
            continue
        if len(row) != len(header):
            raise UserError(f"{len(row)} columns, but the header has {len(header)}", path, number)
        sentence_id = row[sentence_at].strip() if sentence_at is not None else ""
        if sentence_id and sentence_id != sentence:
            if sentence is not None:
                yield number, None, ""
            sentence = sentence_id
        token, tag = row[token_at], row[tag_at]
        token = stats.remove_invisibles(token, strip_edges=True).strip() if INVISIBLE.search(token) else token.strip()
        if not token:
            raise UserError("empty token", path, number)
        problem = tag_problem(tag.strip(), io, f"the {header[tag_at]!r} column")
        if problem:
            raise UserError(problem, path, number)
        yield number, stats.read_token(token, number, ""), tag


def read_tokens(path: Path, tag_scheme: str = "auto", stats: Optional[FileStats] = None,
                tag_names: Sequence[str] = ()) -> Iterator[Record]:
    """Read records of one tokenised sentence each, `{"tokens": [...], "ner_tags": [...]}`
    (JSONL, or a JSON array); the tags are checked and read as CoNLL's are. Numeric
    tags (class ids) are read as `tag_names[id]`."""
    stats = stats if stats is not None else FileStats()
    sentences = _token_list_sentences(path, stats, tag_scheme == "io", tag_names)
    return _tagged_records(path, sentences, tag_scheme, stats)


def parse_tag_names(tag_names: str) -> List[str]:
    """The tag_names var: comma-separated tag names in id order."""
    return [name.strip() for name in tag_names.split(",")] if tag_names.strip() else []


def _token_list_sentences(path: Path, stats: FileStats, io: bool, tag_names: Sequence[str] = ()
                          ) -> Iterator["_Sentence"]:
    """Sentences of token-list records; a record of the one token -DOCSTART- (as
    Hugging Face's conll2003 keeps CoNLL's) starts a document, as in CoNLL."""
    doc_index, seen_docstart = 0, False
    for number, _, data in _records(path, stats):
        words, tags = (next((data[key] for key in keys if key in data), None)
                       for keys in (TOKEN_LIST_KEYS, TAG_LIST_KEYS))
        if not (isinstance(words, list) and all(isinstance(word, str) for word in words)):
            raise UserError(f"expected a list of token strings under {' or '.join(map(repr, TOKEN_LIST_KEYS))}",
                            path, number)
        if not isinstance(tags, list):
            raise UserError(f"no list of tags under {' or '.join(map(repr, TAG_LIST_KEYS))}", path, number)
        if any(isinstance(tag, int) and not isinstance(tag, bool) for tag in tags):
            if not tag_names:
                raise UserError("the tags are numbers (class ids): set the tag_names var to their names in id order, "
                                "comma-separated (a Hugging Face dataset lists them in "
                                "dataset.features['ner_tags'].feature.names)", path, number)
            outside = next((tag for tag in tags if isinstance(tag, int) and not 0 <= tag < len(tag_names)), None)
            if outside is not None:
                raise UserError(f"tag id {outside} has no name: the tag_names var names ids 0 to "
                                f"{len(tag_names) - 1}", path, number)
            stats.named_tag_ids += sum(isinstance(tag, int) for tag in tags)
            tags = [tag_names[tag] if isinstance(tag, int) else tag for tag in tags]
        if not all(isinstance(tag, str) for tag in tags):
            raise UserError(f"tag {next(t for t in tags if not isinstance(t, str))!r} is not a string", path, number)
        if len(tags) != len(words):
            raise UserError(f"{len(words)} token(s) but {len(tags)} tag(s)", path, number)
        if not words:
            continue
        if words[0] == "-DOCSTART-":
            doc_index, seen_docstart = doc_index + 1, True
            continue
        cleaned, repairs = [], []
        for index, (word, tag) in enumerate(zip(words, tags)):
            problem = tag_problem(tag.strip(), io, None)
            if problem:
                raise UserError(f"token {index + 1} ({word!r}): {problem}", path, number)
            if not word.strip():
                raise UserError(f"empty token (token {index + 1})", path, number)
            cleaned.append(_stripped_tag(tag, number, repairs))
        yield _Sentence(number, [stats.read_token(word.strip(), number, "") for word in words], cleaned, repairs,
                        f"{path.name}#doc{doc_index}", has_docs=seen_docstart, one_token_per_line=False)


def read_iob(path: Path, tag_scheme: str = "auto", stats: Optional[FileStats] = None,
             strip_prefix: str = "") -> Iterator[Record]:
    """Read spaCy's `iob` format: one sentence a line of whitespace-separated
    tokens, each a word, optionally its POS, and its tag joined by "|" (WikiNER's
    layout). The file's first token fixes how many fields a token has; the tags
    are checked and read as CoNLL's are. Blank lines are passed over, as spaCy's
    converter does; a `-DOCSTART-` token starts a document."""
    stats = stats if stats is not None else FileStats()
    return _tagged_records(path, _iob_sentences(path, stats, tag_scheme == "io", strip_prefix), tag_scheme, stats)


def _iob_sentences(path: Path, stats: FileStats, io: bool, strip_prefix: str) -> Iterator["_Sentence"]:
    fields: Optional[Tuple[int, int]] = None  # (fields a token has, line of the file's first token)
    doc_index, seen_docstart = 0, False
    for number, line in _decoded_lines(path, stats):
        tokens = line.split()
        if INVISIBLE.search(line):
            tokens = [t for t in (stats.remove_invisibles(t, strip_edges=True) for t in tokens) if t]
        if not tokens:
            continue
        if tokens[0].split(IOB_SEPARATOR, 1)[0] == "-DOCSTART-":
            doc_index, seen_docstart = doc_index + 1, True
            continue
        if fields is None:
            fields = (tokens[0].count(IOB_SEPARATOR) + 1, number)
            if fields[0] < 2:
                raise UserError(f"token {tokens[0][:40]!r} has no '|' before its tag (spaCy's iob format: "
                                "word|tag or word|POS|tag tokens, one sentence a line; one token a line "
                                "is CoNLL: set the 'format' var to conll)", path, number)
        words, tags = [], []
        for index, token in enumerate(tokens):
            parts = token.rsplit(IOB_SEPARATOR, fields[0] - 1)
            if len(parts) != fields[0]:
                raise UserError(f"token {index + 1} ({token[:40]!r}) has {len(parts)} '|'-separated field(s), "
                                f"but the first token of line {fields[1]} has {fields[0]}", path, number)
            word, tag = parts[0], parts[-1]
            if not word:
                raise UserError(f"token {index + 1} ({token[:40]!r}): empty word", path, number)
            problem = tag_problem(tag, io, None)
            if problem:
                raise UserError(f"token {index + 1} ({token[:40]!r}): {problem}", path, number)
            words.append(stats.read_token(word, number, strip_prefix))
            tags.append(tag)
        yield _Sentence(number, words, tags, [], f"{path.name}#doc{doc_index}", has_docs=seen_docstart,
                        one_token_per_line=False)


def _tagged_records(path: Path, sentences: Iterator["_Sentence"], tag_scheme: str,
                    stats: FileStats) -> Iterator[Record]:
    """Records of tagged sentences, the tag scheme inferred under "auto"; IO tags
    are read as IOB2 (a run of one label is one entity)."""
    held: List[_Sentence] = []
    scheme = tag_scheme
    if scheme == "io":
        stats.tag_scheme = scheme
        for sentence in sentences:
            sentence.tags = io_to_iob2(sentence.tags)
            yield _conll_record(path, sentence, "iob2", "iob2")
        return
    if scheme == "auto":
        starts = 0
        for sentence in sentences:
            held.append(sentence)
            starts += sum(tag[0] != "O" for tag in sentence.tags)
            if starts >= SCHEME_EVIDENCE:
                break
        scheme = infer_tag_scheme(tag for sentence in held for tag in sentence.tags)
    stats.tag_scheme = scheme
    held.reverse()  # popped from the end, so that held sentences are freed as they go
    while held:
        yield _conll_record(path, held.pop(), tag_scheme, scheme)
    for sentence in sentences:
        yield _conll_record(path, sentence, tag_scheme, scheme)


@dataclass
class _Sentence:
    first_line: int
    words: List[str]
    tags: List[str]
    repairs: List[Repair]
    doc_key: str
    has_docs: bool
    one_token_per_line: bool = True  # else the whole sentence stands on `first_line`


def _stripped_tag(tag: str, line: int, repairs: List[Repair]) -> str:
    """The tag without surrounding whitespace, noting the repair."""
    stripped = tag.strip()
    if stripped != tag:
        repairs.append((line, "label whitespace stripped", f"tag {tag!r} read as {stripped!r}"))
    return stripped


def _conll_sentences(path: Path, rows: Iterator[ConllRow]) -> Iterator[_Sentence]:
    words: List[str] = []
    tags: List[str] = []
    repairs: List[Repair] = []  # label whitespace of the current sentence
    first_line = doc_index = 0
    seen_docstart = False
    for number, token, tag in rows:
        if token is None:
            if words:
                yield _Sentence(first_line, words, tags, repairs, f"{path.name}#doc{doc_index}",
                                seen_docstart)
                words, tags, repairs = [], [], []
            if tag == "-DOCSTART-":
                doc_index += 1
                seen_docstart = True
            continue
        if not words:
            first_line = number
        words.append(token)
        tags.append(_stripped_tag(tag, number, repairs))
    if words:
        yield _Sentence(first_line, words, tags, repairs, f"{path.name}#doc{doc_index}", seen_docstart)


def _conll_record(path: Path, sentence: _Sentence, strictness: str, scheme: str) -> Record:
    words, tags, first_line = sentence.words, sentence.tags, sentence.first_line
    record = Record(source=str(path), line=first_line, id=f"{path.name}:{first_line}",
                    text=" ".join(words), entities=[], words=words,
                    spaces=[True] * (len(words) - 1) + [False],
                    group=sentence.doc_key if sentence.has_docs else None,
                    doc_key=sentence.doc_key, one_token_per_line=sentence.one_token_per_line,
                    repairs=sentence.repairs)
    for index, reason in tag_sequence_problems(tags, scheme):
        line = first_line + min(index, len(tags) - 1) * sentence.one_token_per_line
        if strictness != "auto":
            raise UserError(reason, path, line)
        record.repairs.append((line, "invalid tag sequence", f"{reason}; read leniently"))
    offsets = []
    position = 0
    for word in words:
        offsets.append((position, position + len(word)))
        position += len(word) + 1
    for first, last, label in tags_to_spans(tags):
        record.entities.append((offsets[first][0], offsets[last][1], label))
    return record


def io_to_iob2(tags: List[str]) -> List[str]:
    """IO tags (a bare label, or O) as IOB2: each run of one label starts with B-."""
    return [tag if tag == "O" else ("I-" if index and tags[index - 1] == tag else "B-") + tag
            for index, tag in enumerate(tags)]


def tag_sequence_problems(tags: List[str], scheme: str) -> List[Tuple[int, str]]:
    """Every tag that breaks `scheme` ("iob1", "iob2" or "biluo"), as (index, reason)."""
    allowed = {"iob1": ("B", "I", "O"), "iob2": ("B", "I", "O"),
               "biluo": ("B", "I", "L", "U", "O", "E", "S")}[scheme]
    problems: List[Tuple[int, str]] = []
    previous = "O"
    for index, tag in enumerate(tags + ["O"]):  # the sentinel closes a final open entity
        prefix, _, label = tag.partition("-")
        prev_prefix, _, prev_label = previous.partition("-")
        open_entity = prev_prefix in ("B", "I")
        continues = open_entity and prev_label == label
        reason = None
        if prefix not in allowed:
            reason = f"tag {tag!r} is not allowed in {scheme.upper()}"
        elif scheme == "iob2" and prefix == "I" and not continues:
            reason = f"{tag} after {previous} is invalid in IOB2: an entity must start with B-"
        elif scheme == "iob1" and prefix == "B" and not continues:
            reason = (f"{tag} after {previous} is invalid in IOB1: B- only separates two "
                      "adjacent entities of one label")
        elif scheme == "biluo" and open_entity and not (prefix in ("I", "L", "E") and continues):
            reason = (f"{tag} after {previous} is invalid in BILUO: {previous} must be "
                      f"followed by I-{prev_label} or L-{prev_label}")
        elif scheme == "biluo" and not open_entity and prefix in ("I", "L", "E"):
            reason = f"{tag} after {previous} is invalid in BILUO: an entity must start with B- or U-"
        if reason:
            problems.append((index, reason))
        previous = tag
    return problems


def tags_to_spans(tags: List[str]) -> List[Tuple[int, int, str]]:
    """Token spans (first, last, label) from IOB1, IOB2 or BILUO/BIOES tags.

    Lenient where the schemes disagree: an I- tag that does not continue an
    entity of the same label starts one (IOB1, and the usual slips in IOB2).
    """
    spans: List[Tuple[int, int, str]] = []
    start: Optional[int] = None
    label = ""
    for index, tag in enumerate(tags):
        prefix, _, tag_label = tag.partition("-")
        continues = start is not None and tag_label == label and prefix in ("I", "E", "L")
        if start is not None and not continues:
            spans.append((start, index - 1, label))
            start = None
        if prefix == "O":
            continue
        if start is None:
            start, label = index, tag_label
        if prefix in ("E", "L", "S", "U"):
            spans.append((start, index, label))
            start = None
    if start is not None:
        spans.append((start, len(tags) - 1, label))
    return spans


READERS = {
    "jsonl": read_jsonl,
    "prodigy": read_prodigy,
    "doccano": read_doccano,
    "label_studio": read_label_studio,
    "brat": read_brat,
    "spacy": read_docbin,
    "spacy_json": read_spacy_json,
}
