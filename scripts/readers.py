"""Readers that turn annotated files into `Record`s with character offsets.

Formats: JSONL (`{"text": ..., "entities": [[start, end, label], ...]}`) and
CoNLL-style column files (one token a line, the tag in the last column, blank
lines between sentences, IOB1/IOB2/BILUO tags, optional `-DOCSTART-` lines).
Structural problems (invalid UTF-8, malformed lines, offsets outside the text)
raise `UserError` naming the file and line; annotation problems that a policy
can fix or drop are left to `scripts.cleaning`.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from .util import UserError

Span = Tuple[int, int, str]

JSONL_SUFFIXES = (".jsonl",)
CONLL_SUFFIXES = (".conll", ".iob", ".bio", ".tsv")
SUPPORTED_SUFFIXES = JSONL_SUFFIXES + CONLL_SUFFIXES
TAG_PATTERN = re.compile(r"^(?:O|[BIESLU]-\S+)$")


@dataclass
class Record:
    """One annotated text and where it came from."""

    source: str
    line: int
    id: str
    text: str
    entities: List[Span]
    # Pre-tokenized sources (CoNLL) keep their tokens; others are tokenized by spaCy.
    words: Optional[List[str]] = None
    spaces: Optional[List[bool]] = None
    # Records sharing a group (a document) always land in the same split.
    group: Optional[str] = None
    extra: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def read_records(path: Path) -> List[Record]:
    """Read every record of a supported file, checking its structure."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        reader = read_jsonl
    elif suffix in CONLL_SUFFIXES:
        reader = read_conll
    else:
        raise UserError(f"unsupported file type '{suffix}' (expected one of "
                        f"{', '.join(SUPPORTED_SUFFIXES)})", path)
    records = list(reader(path))
    if not records:
        raise UserError("no records found (the file is empty or holds only blank lines)", path)
    return records


def _decoded_lines(path: Path) -> Iterator[Tuple[int, str]]:
    """Yield (line number, text) and name the line of any invalid UTF-8."""
    raw = path.read_bytes()
    if not raw.strip():
        raise UserError("file is empty", path)
    for number, raw_line in enumerate(raw.splitlines(), start=1):
        try:
            line = raw_line.decode("utf8")
        except UnicodeDecodeError as err:
            raise UserError(f"not valid UTF-8 (byte {err.start + 1} of the line); "
                            "re-save the file as UTF-8", path, number) from None
        yield number, line.lstrip("\ufeff") if number == 1 else line


def read_jsonl(path: Path) -> Iterator[Record]:
    for number, line in _decoded_lines(path):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"not valid JSON ({err.msg} at column {err.colno})",
                            path, number) from None
        if not isinstance(data, dict):
            raise UserError("expected a JSON object per line", path, number)
        text = data.get("text")
        if not isinstance(text, str):
            raise UserError('missing "text" string', path, number)
        record_id = str(data.get("id", f"{path.name}:{number}"))
        entities = [_parse_span(raw, text, path, number) for raw in data.get("entities") or []]
        group = data.get("doc_id")
        yield Record(source=str(path), line=number, id=record_id, text=text,
                     entities=entities, group=None if group is None else str(group))


def _parse_span(raw: object, text: str, path: Path, number: int) -> Span:
    if isinstance(raw, dict):
        raw = [raw.get("start"), raw.get("end"), raw.get("label")]
    if not (isinstance(raw, (list, tuple)) and len(raw) == 3):
        raise UserError(f"entity {raw!r} is not [start, end, label]", path, number)
    start, end, label = raw
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
        raise UserError(f"entity {list(raw)!r}: offsets must be integers", path, number)
    if not isinstance(label, str) or not label.strip():
        raise UserError(f"entity {list(raw)!r}: label must be a non-empty string", path, number)
    if not 0 <= start < end <= len(text):
        raise UserError(f"entity {list(raw)!r}: offsets outside the text "
                        f"(0 <= start < end <= {len(text)} expected)", path, number)
    return start, end, label


def read_conll(path: Path, tag_column: int = -1) -> Iterator[Record]:
    """Read CoNLL-style columns; each sentence becomes one record."""
    words: List[str] = []
    tags: List[str] = []
    start_line = 0
    doc_index = 0
    seen_docstart = False
    for number, line in _decoded_lines(path):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            if words:
                yield _conll_record(path, start_line, words, tags, doc_index, seen_docstart)
                words, tags = [], []
            doc_index += 1
            seen_docstart = True
            continue
        if not columns:
            if words:
                yield _conll_record(path, start_line, words, tags, doc_index, seen_docstart)
                words, tags = [], []
            continue
        if len(columns) < 2:
            raise UserError(f"expected a token and a tag separated by whitespace, got {line!r}",
                            path, number)
        tag = columns[tag_column]
        if not TAG_PATTERN.match(tag):
            raise UserError(f"tag {tag!r} is not O or B-/I-/E-/S-/L-/U- followed by a label",
                            path, number)
        if not words:
            start_line = number
        words.append(columns[0])
        tags.append(tag)
    if words:
        yield _conll_record(path, start_line, words, tags, doc_index, seen_docstart)


def _conll_record(path: Path, line: int, words: List[str], tags: List[str],
                  doc_index: int, has_docs: bool) -> Record:
    offsets = []
    position = 0
    for word in words:
        offsets.append((position, position + len(word)))
        position += len(word) + 1
    entities = [(offsets[first][0], offsets[last][1], label)
                for first, last, label in tags_to_spans(tags)]
    return Record(source=str(path), line=line, id=f"{path.name}:{line}", text=" ".join(words),
                  entities=entities, words=list(words), spaces=[True] * (len(words) - 1) + [False],
                  group=f"{path.name}#doc{doc_index}" if has_docs else None)


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
