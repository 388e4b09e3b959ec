"""Cleaning, splitting and leakage checks on `Record`s, turning them into Docs.

Policies for annotation problems (`on_problem`):
- "drop" (default): drop the record whose spans overlap or do not align with
  tokens, and the span whose label is not in `labels`; report each.
- "fix": snap misaligned spans outward to token boundaries and keep the
  longest of overlapping spans; report each fix.
- "fail": stop at the first problem with its file and line.
Empty texts and duplicate texts are always dropped and reported; whitespace at
span edges is always trimmed and reported as a fix.
"""

import hashlib
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span as SpacySpan
from spacy.util import filter_spans
from tqdm import tqdm

from .readers import Record, Span
from .util import UserError

POLICIES = ("drop", "fix", "fail")
SPLITS = ("train", "dev", "test")


@dataclass
class Problem:
    """One thing the cleaning step changed or removed, and why."""

    file: str
    line: int
    record_id: str
    action: str  # "dropped record", "dropped span" or "fixed span"
    kind: str  # short key for counting, e.g. "misaligned span"
    reason: str

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


class Cleaner:
    """Applies the policy to records and collects what it dropped or fixed."""

    def __init__(self, nlp: Language, labels: Optional[Set[str]], policy: str) -> None:
        if policy not in POLICIES:
            raise UserError(f"on_problem must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.nlp = nlp
        self.labels = labels
        self.policy = policy
        self.problems: List[Problem] = []

    def _note(self, record: Record, action: str, kind: str, reason: str) -> None:
        self.problems.append(Problem(record.source, record.line, record.id, action, kind, reason))

    def _problem(self, record: Record, action: str, kind: str, reason: str) -> None:
        """An annotation problem: fatal under "fail", otherwise reported."""
        if self.policy == "fail":
            raise UserError(f"{reason} (record {record.id!r}; set on_problem to "
                            "'drop' or 'fix' to continue past such records)",
                            record.source, record.line)
        self._note(record, action, kind, reason)

    def to_doc(self, record: Record) -> Optional[Doc]:
        """The record as a Doc with entities, or None if it is dropped."""
        if record.skip:
            self._note(record, "dropped record", "not accepted in the source", record.skip)
            return None
        if not record.text.strip():
            self._note(record, "dropped record", "empty text", "empty text")
            return None
        spans = [span for span in map(lambda s: self._trim(record, s), record.entities) if span]
        spans = [span for span in spans if self._known_label(record, span)]
        spans = self._resolve_overlaps(record, spans)
        if spans is None:
            return None
        if record.words is not None:
            doc = Doc(self.nlp.vocab, words=record.words, spaces=record.spaces)
        else:
            doc = self.nlp.make_doc(record.text)
        ents = self._align(record, doc, spans)
        if ents is None:
            return None
        doc.ents = ents
        doc.user_data.update({"id": record.id, "source": record.source, "line": record.line})
        return doc

    def _trim(self, record: Record, span: Span) -> Optional[Span]:
        start, end, label = span
        text = record.text[start:end]
        stripped = text.strip()
        if not stripped:
            self._note(record, "dropped span", "whitespace-only span",
                       f"span [{start}, {end}] {label} holds only whitespace")
            return None
        if stripped != text:
            new_start = start + (len(text) - len(text.lstrip()))
            new_end = new_start + len(stripped)
            self._note(record, "fixed span", "whitespace at span edge",
                       f"trimmed whitespace from {label} span {text!r}: "
                       f"[{start}, {end}] -> [{new_start}, {new_end}]")
            return new_start, new_end, label
        return span

    def _known_label(self, record: Record, span: Span) -> bool:
        if self.labels is None or span[2] in self.labels:
            return True
        self._problem(record, "dropped span", "label not in labels",
                      f"label {span[2]!r} is not in labels ({', '.join(sorted(self.labels))})")
        return False

    def _resolve_overlaps(self, record: Record, spans: List[Span]) -> Optional[List[Span]]:
        spans = sorted(set(spans))
        overlapping = [(a, b) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
        if not overlapping:
            return spans
        first, second = overlapping[0]
        reason = (f"overlapping spans {list(first)} {record.text[first[0]:first[1]]!r} and "
                  f"{list(second)} {record.text[second[0]:second[1]]!r}")
        if self.policy != "fix":
            self._problem(record, "dropped record", "overlapping spans", reason)
            return None
        kept: List[Span] = []
        for span in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if all(span[1] <= other[0] or span[0] >= other[1] for other in kept):
                kept.append(span)
            else:
                self._note(record, "fixed span", "overlapping spans",
                           f"{reason}: kept the longest, dropped {list(span)}")
        return sorted(kept)

    def _align(self, record: Record, doc: Doc, spans: Sequence[Span]) -> Optional[List[SpacySpan]]:
        ents: List[SpacySpan] = []
        for start, end, label in spans:
            ent = doc.char_span(start, end, label=label)
            if ent is not None:
                ents.append(ent)
                continue
            reason = (f"span [{start}, {end}] {label} {record.text[start:end]!r} does not "
                      "align with token boundaries")
            if self.policy != "fix":
                self._problem(record, "dropped record", "misaligned span", reason)
                return None
            ent = doc.char_span(start, end, label=label, alignment_mode="expand")
            self._note(record, "fixed span", "misaligned span", f"{reason}: expanded to {ent.text!r}")
            ents.append(ent)
        if len(filter_spans(ents)) != len(ents):
            self._note(record, "dropped record", "overlapping spans",
                       "spans overlap after snapping to token boundaries")
            return None
        return ents


def drop_duplicates(pairs: Iterable[Tuple[Record, Doc]],
                    problems: List[Problem]) -> List[Tuple[Record, Doc]]:
    """Keep the first record of each text; report later copies."""
    first_seen: Dict[str, Record] = {}
    kept: List[Tuple[Record, Doc]] = []
    for record, doc in pairs:
        original = first_seen.get(record.text)
        if original is None:
            first_seen[record.text] = record
            kept.append((record, doc))
            continue
        same = sorted(original.entities) == sorted(record.entities)
        kind = "exact duplicate" if same else "duplicate text, different entities"
        problems.append(Problem(record.source, record.line, record.id, "dropped record", kind,
                                f"{kind} of {original.where} (kept the first)"))
    return kept


def split_by_hash(pairs: Sequence[Tuple[Record, Doc]], seed: int,
                  ratios: Dict[str, float]) -> Dict[str, List[Tuple[Record, Doc]]]:
    """Carve splits (e.g. {"dev": 0.15, "test": 0.15}) off `pairs`; the rest is train.

    Each record goes by a seeded hash of its document (or text) rather than a
    shuffle: a record stays in its split when others are added or removed, and
    every sentence of one document lands in the same split.
    """
    if not all(0 < r < 1 for r in ratios.values()) or sum(ratios.values()) >= 1:
        raise UserError(f"split ratios {ratios} must be between 0 and 1 and leave data "
                        "for training")
    splits: Dict[str, List[Tuple[Record, Doc]]] = {"train": [], **{name: [] for name in ratios}}
    for record, doc in pairs:
        key = record.group if record.group is not None else record.text
        digest = hashlib.sha256(f"{seed}\x00{key}".encode("utf8")).digest()
        position = int.from_bytes(digest[:8], "big") / 2**64
        target, edge = "train", 0.0
        for name, ratio in sorted(ratios.items()):
            edge += ratio
            if position < edge:
                target = name
                break
        splits[target].append((record, doc))
    return splits


def _normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def find_leakage(splits: Dict[str, Sequence[Record]], max_examples: int = 10) -> Dict[str, object]:
    """Texts that occur in two splits, exactly or after case/punctuation folding."""
    by_split = {name: {_normalise(r.text): r for r in records} for name, records in splits.items()}
    exact_by_split = {name: {r.text for r in records} for name, records in splits.items()}
    pairs: Dict[str, Dict[str, int]] = {}
    examples: List[Dict[str, str]] = []
    names = list(splits)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            shared = sorted(set(by_split[first]) & set(by_split[second]))
            exact = exact_by_split[first] & exact_by_split[second]
            pairs[f"{first}-{second}"] = {"exact": len(exact), "normalised": len(shared)}
            for key in shared[: max(0, max_examples - len(examples))]:
                examples.append({"splits": f"{first}-{second}",
                                 first: by_split[first][key].where,
                                 second: by_split[second][key].where,
                                 "text": by_split[first][key].text[:200]})
    return {"pairs": pairs, "examples": examples}


def join_sentences(pairs: Sequence[Tuple[Record, Doc]], n_sents: int) -> List[Doc]:
    """Join consecutive sentences of one document (same `doc_key`) into Docs of up
    to `n_sents` sentences, keeping sentence boundaries and entities. Records
    without a doc_key (independent texts) stay one Doc each."""
    docs: List[Doc] = []
    batch: List[Doc] = []
    batch_key: Optional[str] = None

    def flush() -> None:
        if len(batch) == 1:
            docs.append(batch[0])
        elif batch:
            provenance = {**batch[0].user_data, "sentences": len(batch)}
            for doc in batch:
                doc.user_data = {}  # from_docs cannot merge it; the first's is kept below
                for token in doc:
                    token.is_sent_start = token.i == 0
            joined = Doc.from_docs(batch)
            joined.user_data = provenance
            docs.append(joined)
        batch.clear()

    for record, doc in pairs:
        if record.doc_key is None or n_sents <= 1:
            flush()
            docs.append(doc)
            continue
        if batch and (record.doc_key != batch_key or len(batch) >= n_sents):
            flush()
        batch_key = record.doc_key
        batch.append(doc)
    flush()
    return docs


def corpus_stats(docs: Sequence[Doc], sentences: int) -> Dict[str, object]:
    labels = Counter(ent.label_ for doc in docs for ent in doc.ents)
    return {
        "docs": len(docs),
        "sentences": sentences,
        "tokens": sum(len(doc) for doc in docs),
        "entities": sum(labels.values()),
        "labels": dict(sorted(labels.items())),
    }


def convert_records(records: Sequence[Record], cleaner: Cleaner,
                    desc: str) -> List[Tuple[Record, Doc]]:
    """Clean each record into a Doc; dropped records are left out."""
    pairs = []
    for record in tqdm(records, desc=desc, unit=" records", disable=None, leave=False):
        doc = cleaner.to_doc(record)
        if doc is not None:
            pairs.append((record, doc))
    return pairs


def summarise_problems(problems: Sequence[Problem]) -> Dict[str, Dict[str, int]]:
    """Counts by action ("dropped record", ...) and kind of problem."""
    summary: Dict[str, Counter] = {}
    for problem in problems:
        summary.setdefault(problem.action, Counter())[problem.kind] += 1
    return {action: dict(counts.most_common()) for action, counts in sorted(summary.items())}


def parse_labels(labels: str) -> Optional[Set[str]]:
    """The `labels` var: comma-separated, empty for "keep every label"."""
    names = {name.strip() for name in labels.split(",") if name.strip()}
    return names or None
