"""Where a Doc of the corpus came from: the one owner of the provenance that
preprocess stores in each Doc's user_data and the report reads back."""

from typing import TYPE_CHECKING, Dict, Optional

from spacy.tokens import Doc

if TYPE_CHECKING:  # only for the type: the report step does not depend on the readers
    from .readers import Record


def provenance(record: "Record") -> Dict[str, object]:
    """What a Doc keeps of its source: id, file and line; for one-token-a-line
    sources (CoNLL), the lines of each sentence, so any token's line is known."""
    info: Dict[str, object] = {"id": record.id, "source": record.source, "line": record.line}
    if record.one_token_per_line:
        info["sentence_lines"] = [[0, record.line]]
    return info


def source_line(doc: Doc, char_offset: int) -> Optional[int]:
    """The line of the source file that holds the character at `char_offset`."""
    sentences = doc.user_data.get("sentence_lines")
    if not sentences:
        return doc.user_data.get("line")
    token = doc.char_span(char_offset, char_offset + 1, alignment_mode="expand")
    index = token.start if token is not None else 0
    start, line = max((s for s in sentences if s[0] <= index), default=sentences[0])
    return line + index - start
