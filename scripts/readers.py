"""Readers that turn annotated files into `Record`s with character offsets.

Formats (detected from the file name and first record, or named explicitly):
- `jsonl`: `{"text": ..., "entities": [[start, end, label], ...]}` per line
  (entities may also be objects with start/end/label or start_offset/end_offset).
- `prodigy`: Prodigy JSONL with `spans`; only `"answer": "accept"` is kept.
- `doccano`: doccano JSONL exports with a `label` list (or `entities` objects).
- `label_studio`: Label Studio JSON exports (`data.text`, `annotations[].result`).
- `conll`: one token a line, the tag in a chosen column (default last), blank
  lines between sentences, IOB1/IOB2/BILUO tags, optional `-DOCSTART-` lines.
- `spacy`: spaCy's own DocBin (`.spacy`).
- `spacy_json`: spaCy v2 JSON training files, read with spaCy's own converter.
Structural problems (invalid UTF-8, malformed lines, offsets outside the text,
invalid tag sequences in a strict scheme) raise `UserError` naming the file and
line; annotation problems that a policy can fix or drop are left to
`scripts.cleaning`.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from .util import UserError

Span = Tuple[int, int, str]

CONLL_SUFFIXES = (".conll", ".iob", ".bio", ".tsv")
SUPPORTED_SUFFIXES = (".jsonl", ".json", ".spacy") + CONLL_SUFFIXES
FORMATS = ("auto", "jsonl", "prodigy", "doccano", "label_studio", "conll", "spacy", "spacy_json")
TAG_SCHEMES = ("auto", "iob1", "iob2", "biluo")
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
    # Consecutive records with the same doc_key may be joined into one Doc.
    doc_key: Optional[str] = None
    # Set when the source marks the record as not to be used (e.g. a rejected
    # Prodigy answer): it is dropped and reported with this reason.
    skip: Optional[str] = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class ReadOptions:
    """How to read a file: its format and, for CoNLL, the tag column and scheme."""

    format: str = "auto"
    tag_column: int = -1
    tag_scheme: str = "auto"


def read_records(path: Path, options: Optional[ReadOptions] = None) -> List[Record]:
    """Read every record of a supported file, checking its structure."""
    options = options or ReadOptions()
    if options.format not in FORMATS:
        raise UserError(f"unknown format {options.format!r} (expected one of {', '.join(FORMATS)})")
    if options.tag_scheme not in TAG_SCHEMES:
        raise UserError(f"unknown tag scheme {options.tag_scheme!r} "
                        f"(expected one of {', '.join(TAG_SCHEMES)})")
    fmt = detect_format(path) if options.format == "auto" else options.format
    if fmt == "conll":
        records = list(read_conll(path, options.tag_column, options.tag_scheme))
    else:
        records = list(READERS[fmt](path))
    if not records:
        raise UserError("no records found (the file is empty or holds only blank lines)", path)
    return records


def detect_format(path: Path) -> str:
    """The format of a file, from its suffix and, for JSON(L), its first record."""
    suffix = path.suffix.lower()
    if suffix in CONLL_SUFFIXES:
        return "conll"
    if suffix == ".spacy":
        return "spacy"
    if suffix == ".jsonl":
        first = next((line for _, line in _decoded_lines(path) if line.strip()), "")
        try:
            keys = set(json.loads(first))
        except (json.JSONDecodeError, TypeError):
            return "jsonl"  # read_jsonl reports the problem with its line
        if "spans" in keys:
            return "prodigy"
        if "label" in keys or ("entities" in keys and _has_offset_objects(first)):
            return "doccano"
        return "jsonl"
    if suffix == ".json":
        for _, item in iter_json_array(path):
            if isinstance(item, dict) and "paragraphs" in item:
                return "spacy_json"
            if isinstance(item, dict) and "data" in item:
                return "label_studio"
            break
        raise UserError("cannot tell the format of this JSON file (expected a Label Studio "
                        "export or spaCy v2 JSON); set the 'format' var", path)
    raise UserError(f"unsupported file type '{suffix}' (expected one of "
                    f"{', '.join(SUPPORTED_SUFFIXES)})", path)


def _has_offset_objects(line: str) -> bool:
    entities = json.loads(line).get("entities") or []
    return bool(entities) and isinstance(entities[0], dict) and "start_offset" in entities[0]


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


def _json_lines(path: Path) -> Iterator[Tuple[int, dict]]:
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
        yield number, data


def _text(data: dict, path: Path, number: int) -> str:
    text = data.get("text")
    if not isinstance(text, str):
        raise UserError('missing "text" string', path, number)
    return text


def read_jsonl(path: Path) -> Iterator[Record]:
    for number, data in _json_lines(path):
        text = _text(data, path, number)
        entities = [_parse_span(raw, text, path, number) for raw in data.get("entities") or []]
        group = data.get("doc_id")
        yield Record(source=str(path), line=number, id=str(data.get("id", f"{path.name}:{number}")),
                     text=text, entities=entities, group=None if group is None else str(group),
                     doc_key=None if group is None else str(group))


def read_prodigy(path: Path) -> Iterator[Record]:
    for number, data in _json_lines(path):
        text = _text(data, path, number)
        entities = [_parse_span(raw, text, path, number) for raw in data.get("spans") or []]
        answer = data.get("answer", "accept")
        record_id = data.get("_input_hash", data.get("id", f"{path.name}:{number}"))
        yield Record(source=str(path), line=number, id=str(record_id), text=text, entities=entities,
                     skip=None if answer == "accept" else f"Prodigy answer {answer!r}")


def read_doccano(path: Path) -> Iterator[Record]:
    for number, data in _json_lines(path):
        text = _text(data, path, number)
        raw_spans = data.get("label") if "label" in data else data.get("entities")
        entities = [_parse_span(raw, text, path, number) for raw in raw_spans or []]
        yield Record(source=str(path), line=number, id=str(data.get("id", f"{path.name}:{number}")),
                     text=text, entities=entities)


def iter_json_array(path: Path) -> Iterator[Tuple[int, object]]:
    """Items of a JSON array with the line each starts on."""
    try:
        text = path.read_bytes().decode("utf8").lstrip("\ufeff")
    except UnicodeDecodeError as err:
        raise UserError(f"not valid UTF-8 (byte {err.start + 1} of the file); re-save it as UTF-8",
                        path, path.read_bytes()[: err.start].count(b"\n") + 1) from None
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


def read_label_studio(path: Path) -> Iterator[Record]:
    for number, task in iter_json_array(path):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise UserError('expected a Label Studio task with a "data" object', path, number)
        data = task["data"]
        text = data.get("text", next((v for v in data.values() if isinstance(v, str)), None))
        if not isinstance(text, str):
            raise UserError("task has no text in its data", path, number)
        annotations = [a for a in task.get("annotations") or task.get("completions") or []
                       if not a.get("was_cancelled")]
        entities = []
        for result in (annotations[-1].get("result") or []) if annotations else []:
            value = result.get("value") or {}
            labels = value.get("labels") or value.get("hypertextlabels") or []
            if result.get("type", "labels") not in ("labels", "hypertextlabels") or not labels:
                continue
            for label in labels:
                raw = [value.get("start"), value.get("end"), label]
                entities.append(_parse_span(raw, text, path, number))
        yield Record(source=str(path), line=number, id=str(task.get("id", f"{path.name}:{number}")),
                     text=text, entities=entities,
                     skip=None if annotations else "no completed annotation")


def read_docbin(path: Path) -> Iterator[Record]:
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    try:
        docs = list(DocBin().from_disk(path).get_docs(Vocab()))
    except Exception as err:  # msgpack/zlib errors for a file that is not a DocBin
        raise UserError(f"not a spaCy DocBin file ({type(err).__name__}: {err})", path) from None
    for index, doc in enumerate(docs, start=1):
        yield _record_from_doc(path, index, doc)


def read_spacy_json(path: Path) -> Iterator[Record]:
    from spacy.training.converters import json_to_docs

    for number, item in iter_json_array(path):
        try:
            docs = list(json_to_docs([item]))
        except Exception as err:  # spaCy's converter raises KeyError/ValueError/...
            raise UserError(f"not a spaCy v2 JSON document ({type(err).__name__}: {err})",
                            path, number) from None
        for doc in docs:
            yield _record_from_doc(path, number, doc)


def _record_from_doc(path: Path, number: int, doc) -> Record:
    return Record(source=str(path), line=number, id=f"{path.name}:{number}", text=doc.text,
                  entities=[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents],
                  words=[token.text for token in doc], spaces=[bool(token.whitespace_) for token in doc])


def _parse_span(raw: object, text: str, path: Path, number: int) -> Span:
    if isinstance(raw, dict):
        raw = [raw.get("start", raw.get("start_offset")), raw.get("end", raw.get("end_offset")),
               raw.get("label")]
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


def read_conll(path: Path, tag_column: int = -1, tag_scheme: str = "auto") -> Iterator[Record]:
    """Read CoNLL-style columns; each sentence becomes one record.

    Any line whose first column is `-DOCSTART-` starts a document (this also
    covers CoNLL-2002 Dutch's `-DOCSTART- -DOCSTART- O`, which spaCy's own
    converter would read as a token).
    """
    words: List[str] = []
    tags: List[str] = []
    lines: List[int] = []
    doc_index = 0
    seen_docstart = False

    def flush() -> Iterator[Record]:
        if words:
            yield _conll_record(path, lines, words, tags, tag_scheme,
                                f"{path.name}#doc{doc_index}", seen_docstart)
            words.clear(), tags.clear(), lines.clear()

    for number, line in _decoded_lines(path):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            yield from flush()
            doc_index += 1
            seen_docstart = True
            continue
        if not columns:
            yield from flush()
            continue
        if len(columns) < 2:
            raise UserError(f"expected a token and a tag separated by whitespace, got {line!r}",
                            path, number)
        try:
            tag = columns[tag_column]
        except IndexError:
            raise UserError(f"no column {tag_column} (the line has {len(columns)}); check the "
                            "'tag_column' var", path, number) from None
        if not TAG_PATTERN.match(tag):
            raise UserError(f"tag {tag!r} is not O or B-/I-/E-/S-/L-/U- followed by a label "
                            "(check the 'tag_column' var)", path, number)
        words.append(columns[0])
        tags.append(tag)
        lines.append(number)
    yield from flush()


def _conll_record(path: Path, lines: List[int], words: List[str], tags: List[str], scheme: str,
                  doc_key: str, has_docs: bool) -> Record:
    problem = check_tag_sequence(tags, scheme)
    if problem:
        index, reason = problem
        raise UserError(reason, path, lines[min(index, len(lines) - 1)])
    offsets = []
    position = 0
    for word in words:
        offsets.append((position, position + len(word)))
        position += len(word) + 1
    entities = [(offsets[first][0], offsets[last][1], label)
                for first, last, label in tags_to_spans(tags)]
    return Record(source=str(path), line=lines[0], id=f"{path.name}:{lines[0]}", text=" ".join(words),
                  entities=entities, words=list(words), spaces=[True] * (len(words) - 1) + [False],
                  group=doc_key if has_docs else None, doc_key=doc_key)


def check_tag_sequence(tags: List[str], scheme: str) -> Optional[Tuple[int, str]]:
    """The first tag that breaks a strict scheme, as (index, reason); None if fine.

    "auto" accepts everything `tags_to_spans` can read.
    """
    if scheme == "auto":
        return None
    allowed = {"iob1": ("B", "I", "O"), "iob2": ("B", "I", "O"),
               "biluo": ("B", "I", "L", "U", "O", "E", "S")}[scheme]
    previous = "O"
    for index, tag in enumerate(tags + ["O"]):  # the sentinel closes a final open entity
        prefix, _, label = tag.partition("-")
        prev_prefix, _, prev_label = previous.partition("-")
        open_entity = prev_prefix in ("B", "I")
        continues = open_entity and prev_label == label
        if prefix not in allowed:
            return index, f"tag {tag!r} is not allowed in {scheme.upper()}"
        if scheme == "iob2" and prefix == "I" and not continues:
            return index, f"{tag} after {previous} is invalid in IOB2 (strict): an entity must start with B-"
        if scheme == "iob1" and prefix == "B" and not continues:
            return index, (f"{tag} after {previous} is invalid in IOB1: B- only separates two "
                           "adjacent entities of one label")
        if scheme == "biluo":
            if open_entity and not (prefix in ("I", "L", "E") and continues):
                return index, (f"{tag} after {previous} is invalid in BILUO: {previous} must be "
                               f"followed by I-{prev_label} or L-{prev_label}")
            if not open_entity and prefix in ("I", "L", "E"):
                return index, (f"{tag} after {previous} is invalid in BILUO: an entity must start "
                               "with B- or U-")
        previous = tag
    return None


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
    "spacy": read_docbin,
    "spacy_json": read_spacy_json,
}
