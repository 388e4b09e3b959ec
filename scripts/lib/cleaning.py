"""Cleaning, splitting and leakage checks on `Record`s, turning them into Docs.

Policies for annotation problems (`on_problem`):
- "drop" (default): drop the record whose spans overlap or do not align with
  tokens, and the span whose label is not in `labels`; report each.
- "fix": snap misaligned spans outward to token boundaries and keep the
  longest of overlapping spans; report each fix.
- "mask": keep the record, and leave the tokens of a misaligned span, or of
  overlapping spans, without annotation (spaCy's missing value: the NER is
  neither trained nor scored on them); report each. For records of whole
  documents, where one odd span would cost a page of annotation.
- "fail": stop at the first problem with its file and line.
Empty texts are always dropped and reported; duplicate texts are dropped in the
dedupe scope and reported everywhere; whitespace at span edges is always trimmed
and reported as a fix; what a reader repaired (tag sequences, label whitespace)
is reported as "repaired input" with its line.
"""

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from .doc_source import provenance
from .errors import UserError
from .readers import CharSpan, ReadOptions, Record

POLICIES = ("drop", "fix", "mask", "fail")
SPLITS = ("train", "dev", "test")


@dataclass
class Problem:
    """One thing the cleaning step changed or removed, and why."""

    file: str
    line: int
    record_id: str
    action: str  # "dropped record", "dropped span", "fixed span", "masked span", "repaired input" or "kept record"
    kind: str  # short key for counting, e.g. "misaligned span"
    reason: str

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LabelMap:
    """The `labels` var: the labels to keep, each under its output name, and
    whether labels it does not list are kept as they are ("*"). A label that
    already is an output name is kept (data annotated with the model's labels:
    review's corrections, a second dataset that says PER where the first says
    PESSOA)."""

    kept: Dict[str, str]
    keep_others: bool = False

    def __call__(self, label: str) -> Optional[str]:
        """The label's output name, or None if it is not kept."""
        if label in self.kept:
            return self.kept[label]
        return label if self.keep_others or label in self.kept.values() else None

    def __str__(self) -> str:
        return ", ".join([old if old == new else f"{old}={new}" for old, new in sorted(self.kept.items())]
                         + ["*"] * self.keep_others)

    def as_dict(self) -> Dict[str, object]:
        return {"kept": dict(sorted(self.kept.items())), "keep_others": self.keep_others}


# The data report's keys for how preprocess read the files and which labels it
# kept under which names: monitor reads an annotated sample of new text so too.
READ_OPTIONS_KEY, LABELS_KEY = "read_options", "labels"


def reading_of(report: Dict[str, Any]) -> Tuple[ReadOptions, Optional[LabelMap]]:
    """The read options and labels map of a data report."""
    labels = report.get(LABELS_KEY)
    return ReadOptions(**report[READ_OPTIONS_KEY]), labels and LabelMap(labels["kept"], labels["keep_others"])


def parse_labels(labels: str) -> Optional[LabelMap]:
    """The `labels` var: comma-separated labels to keep, each `NAME` or
    `OLD=NEW` (renamed; several OLD may share a NEW, merging them), and `*` for
    every other label as it is; empty keeps every label as it is."""
    kept: Dict[str, str] = {}
    keep_others = False
    for item in filter(None, (part.strip() for part in labels.split(","))):
        if item == "*":
            keep_others = True
            continue
        old, renamed, new = (part.strip() for part in item.partition("="))
        new = new if renamed else old
        if not old or not new or "=" in new:
            raise UserError(f"labels: {item!r} is not LABEL, OLD=NEW or * (e.g. 'PER,LOC,PESSOA=PER,*')")
        if kept.setdefault(old, new) != new:
            raise UserError(f"labels: {old!r} is renamed twice, to {kept[old]!r} and to {new!r}")
    return LabelMap(kept, keep_others) if kept or keep_others else None


class Cleaner:
    """Applies the policy to records and collects what it dropped or fixed."""

    def __init__(self, nlp: Language, labels: Optional[LabelMap], policy: str) -> None:
        if policy not in POLICIES:
            raise UserError(f"on_problem must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.nlp = nlp
        self.labels = labels
        self.policy = policy
        self.problems: List[Problem] = []
        self.renamed: Counter = Counter()  # (old, new): entities whose label the labels var renamed

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
        cleaned = self.clean(record)
        return cleaned.build() if isinstance(cleaned, TokenizedDoc) else cleaned

    def clean(self, record: Record) -> Union[Doc, "TokenizedDoc", None]:
        """Like `to_doc`, but a pre-tokenized record whose entities fall on its
        token boundaries stays a `TokenizedDoc`, so that sentences joined into one
        Doc are not each built as a Doc first."""
        for line, kind, reason in record.repairs:
            self.problems.append(Problem(record.source, line, record.id, "repaired input", kind,
                                         reason))
        if record.skip:
            self._note(record, "dropped record", "not accepted in the source", record.skip)
            return None
        if len(record.text) > self.nlp.max_length:
            raise UserError(f"record of {len(record.text):,} characters is longer than spaCy's "
                            f"max_length ({self.nlp.max_length:,}); split it into smaller "
                            "records", record.source, record.line)
        if not record.text.strip():
            self._note(record, "dropped record", "empty text", "empty text")
            return None
        spans = [span for span in map(lambda s: self._trim(record, s), record.entities) if span]
        spans = [span for span in map(lambda s: self._relabel(record, s), spans) if span]
        masked_chars: List[Tuple[int, int]] = []
        spans = self._resolve_overlaps(record, spans, masked_chars)
        if spans is None:
            return None
        if record.words is not None and not masked_chars:
            token_ents = _token_spans(record, spans)
            if token_ents is not None:
                return TokenizedDoc(self.nlp.vocab, record.words, record.spaces, token_ents,
                                    provenance(record))
        if record.words is not None:
            doc = Doc(self.nlp.vocab, words=record.words, spaces=record.spaces)
        else:
            doc = self.nlp.make_doc(record.text)
        aligned = self._align(record, doc, spans, masked_chars)
        if aligned is None:
            return None
        ents, masked = aligned
        doc.set_ents(ents, missing=masked, default="outside")
        doc.user_data.update(provenance(record))
        return doc

    def _trim(self, record: Record, span: CharSpan) -> Optional[CharSpan]:
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

    def _relabel(self, record: Record, span: CharSpan) -> Optional[CharSpan]:
        """The span under the label the labels var gives it, or None if that drops it."""
        if self.labels is None:
            return span
        label = self.labels(span[2])
        if label is None:
            self._problem(record, "dropped span", "label not in labels",
                          f"label {span[2]!r} is not in labels ({self.labels})")
            return None
        if label != span[2]:
            self.renamed[span[2], label] += 1
        return span[0], span[1], label

    def _resolve_overlaps(self, record: Record, spans: List[CharSpan],
                          masked_chars: List[Tuple[int, int]]) -> Optional[List[CharSpan]]:
        """The spans without overlaps, by the policy; under "mask", each group of
        overlapping spans is added to `masked_chars` as the range they cover."""
        spans = sorted(set(spans))
        overlapping = [(a, b) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
        if not overlapping:
            return spans
        first, second = overlapping[0]
        reason = (f"overlapping spans {list(first)} {record.text[first[0]:first[1]]!r} and "
                  f"{list(second)} {record.text[second[0]:second[1]]!r}")
        if self.policy == "mask":
            return self._mask_overlaps(record, spans, masked_chars)
        if self.policy != "fix":
            self._problem(record, "dropped record", "overlapping spans", reason)
            return None
        kept: List[CharSpan] = []
        for span in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if all(span[1] <= other[0] or span[0] >= other[1] for other in kept):
                kept.append(span)
            else:
                self._note(record, "fixed span", "overlapping spans",
                           f"{reason}: kept the longest, dropped {list(span)}")
        return sorted(kept)

    def _mask_overlaps(self, record: Record, spans: List[CharSpan],
                       masked_chars: List[Tuple[int, int]]) -> List[CharSpan]:
        kept: List[CharSpan] = []
        group: List[CharSpan] = []
        for span in spans + [(len(record.text) + 1, len(record.text) + 1, "")]:  # a sentinel ends the last group
            if group and span[0] < max(end for _, end, _ in group):
                group.append(span)
                continue
            if len(group) > 1:
                start, end = group[0][0], max(end for _, end, _ in group)
                masked_chars.append((start, end))
                self._note(record, "masked span", "overlapping spans",
                           f"overlapping spans {', '.join(f'{list(s)} {record.text[s[0]:s[1]]!r}' for s in group)}: "
                           f"characters [{start}, {end}] left without annotation")
            else:
                kept.extend(group)
            group = [span]
        return kept

    def _align(self, record: Record, doc: Doc, spans: Sequence[CharSpan],
               masked_chars: Sequence[Tuple[int, int]]) -> Optional[Tuple[List[Span], List[Span]]]:
        """The spans as entities of `doc`, and the token ranges to leave without
        annotation (`masked_chars` and, under "mask", misaligned spans)."""
        ents: List[Span] = []
        masked = [doc.char_span(start, end, alignment_mode="expand") for start, end in masked_chars]
        for start, end, label in spans:
            ent = doc.char_span(start, end, label=label)
            if ent is not None:
                ents.append(ent)
                continue
            reason = (f"span [{start}, {end}] {label} {record.text[start:end]!r} does not "
                      "align with token boundaries")
            if self.policy == "mask":
                ent = doc.char_span(start, end, label=label, alignment_mode="expand")
                self._note(record, "masked span", "misaligned span",
                           f"{reason}: its tokens {ent.text!r} left without annotation")
                masked.append(ent)
                continue
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
        return ents, _merged(masked)


def _merged(spans: Sequence[Span]) -> List[Span]:
    """Token ranges with those that overlap merged (a token masked twice is
    masked once: spaCy refuses overlapping ranges)."""
    merged: List[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start < merged[-1].end:
            last = merged.pop()
            span = span.doc[last.start:max(last.end, span.end)]
        merged.append(span)
    return merged


@dataclass
class TokenizedDoc:
    """A pre-tokenized record's Doc before it is built: words, spaces, entities as
    token ranges [start, end) and provenance."""

    vocab: Vocab
    words: List[str]
    spaces: List[bool]
    ents: List[Tuple[int, int, str]]
    user_data: Dict[str, object]

    def __len__(self) -> int:
        return len(self.words)

    def iob_tags(self) -> List[str]:
        tags = ["O"] * len(self.words)
        for start, end, label in self.ents:
            tags[start] = f"B-{label}"
            tags[start + 1:end] = [f"I-{label}"] * (end - start - 1)
        return tags

    def build(self) -> Doc:
        doc = Doc(self.vocab, words=self.words, spaces=self.spaces, ents=self.iob_tags())
        doc.user_data.update(self.user_data)
        return doc


def _token_spans(record: Record, spans: Sequence[CharSpan]) -> Optional[List[Tuple[int, int, str]]]:
    """Character spans of a pre-tokenized record as token ranges; None if any
    span does not fall on token boundaries (the Doc path then reports it)."""
    starts: Dict[int, int] = {}
    ends: Dict[int, int] = {}
    position = 0
    for index, (word, space) in enumerate(zip(record.words or [], record.spaces or [])):
        starts[position] = index
        position += len(word)
        ends[position] = index + 1
        position += bool(space)
    token_spans = []
    for start, end, label in spans:
        if start not in starts or end not in ends:
            return None
        token_spans.append((starts[start], ends[end], label))
    return token_spans


def text_digest(text: str) -> bytes:
    """A short digest of a text, to compare texts without keeping them."""
    return hashlib.blake2b(text.encode("utf8"), digest_size=16).digest()


def doc_sentences(doc: Doc) -> Iterable[Span]:
    """A corpus Doc's sentences, or the whole Doc when it has no sentence boundaries."""
    return doc.sents if doc.has_annotation("SENT_START") else [doc[:]]


class Deduper:
    """Finds repeated texts in a stream of records, keeping a 16-byte digest per
    text rather than the text. In scope, later copies are dropped; out of scope
    (a published dev or test split) they are kept, and reported either way."""

    def __init__(self, problems: List[Problem], drop: bool = True) -> None:
        self.problems = problems
        self.drop = drop
        self.kept_duplicates = 0
        self._first: Dict[bytes, Tuple[str, bytes]] = {}

    def keep(self, record: Record) -> bool:
        key = text_digest(record.text)
        entities = text_digest(repr(sorted(record.entities)))
        first = self._first.get(key)
        if first is None:
            self._first[key] = (record.where, entities)
            return True
        kind = "exact duplicate" if first[1] == entities else "duplicate text, different entities"
        if self.drop:
            action, what = "dropped record", "kept the first"
        else:
            action, what = "kept record", "kept both: this split is kept as given"
            self.kept_duplicates += 1
        self.problems.append(Problem(record.source, record.line, record.id, action, kind,
                                     f"{kind} of {first[0]} ({what})"))
        return not self.drop


def check_ratios(ratios: Dict[str, float]) -> None:
    if not all(0 < r < 1 for r in ratios.values()) or sum(ratios.values()) >= 1:
        raise UserError(f"split ratios {ratios} must be between 0 and 1 and leave data "
                        "for training")


def hash_split(record: Record, seed: int, ratios: Dict[str, float]) -> str:
    """The split ("train" or a key of `ratios`) a record goes to, by a seeded hash
    of its document (or text) rather than a shuffle: a record stays in its split
    when others are added or removed, and every sentence of one document lands
    in the same split."""
    key = record.group if record.group is not None else record.text
    digest = hashlib.sha256(f"{seed}\x00{key}".encode("utf8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, ratio in sorted(ratios.items()):
        edge += ratio
        if position < edge:
            return name
    return "train"


# Kana and ideographs: about a word each, the units of near-duplicate measures.
SYLLABLE_LETTERS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana
# and ideographs. Whether a text spaces their letters depends on its source (a
# CoNLL file puts a space between every token), never on its content.
UNSPACED_LETTERS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff" + SYLLABLE_LETTERS
UNSPACED = re.compile(f"[{UNSPACED_LETTERS}]")
SPACE_IN_UNSPACED = re.compile(f"(?<=[{UNSPACED_LETTERS}]) (?=[{UNSPACED_LETTERS}])")
SYLLABLE = re.compile(f"([{SYLLABLE_LETTERS}])")


@functools.lru_cache(maxsize=None)
def non_word_run() -> "re.Pattern[str]":
    """Runs of characters that are neither word characters nor combining marks:
    Python's `\\w` leaves out the vowel signs of Devanagari, Thai and other
    scripts, which would cut their words in pieces. Built once per process, from
    the marks of the Basic Multilingual Plane (every script spaCy has a language
    for; a class reaching beyond it runs at half the speed)."""
    ranges: List[List[int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    marks = "".join(re.escape(chr(first)) + (f"-{re.escape(chr(last))}" if last > first else "")
                    for first, last in ranges)
    return re.compile(f"[^\\w{marks}]+")


def normalise_text(text: str) -> str:
    """Text compared without case, punctuation, spacing or Unicode form (leakage
    checks): words separated by one space, where each kana or ideograph is a word
    of its own and letters of other unspaced scripts are never separated."""
    folded = non_word_run().sub(" ", unicodedata.normalize("NFKC", text).casefold())
    if not UNSPACED.search(folded):  # most texts: skip two passes
        return folded.strip()
    return " ".join(SYLLABLE.sub(r" \1 ", SPACE_IN_UNSPACED.sub("", folded)).split())


class LeakageIndex:
    """Texts shared between splits, exactly or after case/punctuation folding,
    from digests: memory grows by a few dozen bytes per record, not by its text.
    A pair's counts are distinct texts of its later split, so the folded count is
    never below the exact one ("1" and "1 ." in test, both in train: two texts,
    one folded form). Texts of punctuation alone fold to nothing and are compared
    exactly. Only the first 200 characters of dev and test texts are kept, for examples."""

    def __init__(self, splits: Sequence[str]) -> None:
        self.splits = list(splits)
        self._exact: Dict[str, Set[bytes]] = {name: set() for name in splits}
        self._folded: Dict[str, Dict[bytes, Tuple[str, Optional[str]]]] = {n: {} for n in splits}
        # Each text's folded form, kept for the splits that are a pair's later one.
        self._folded_of: Dict[str, Dict[bytes, Optional[bytes]]] = {n: {} for n in self.splits[1:]}

    def add(self, split: str, record: Record) -> None:
        exact = text_digest(record.text)
        folded_text = normalise_text(record.text)
        folded = text_digest(folded_text) if folded_text else None
        self._exact[split].add(exact)
        if split in self._folded_of:
            self._folded_of[split][exact] = folded
        if folded is not None and folded not in self._folded[split]:
            snippet = None if split == "train" else record.text[:200]
            self._folded[split][folded] = (record.where, snippet)

    def result(self, max_examples: int = 10) -> Dict[str, object]:
        pairs: Dict[str, Dict[str, int]] = {}
        examples: List[Dict[str, str]] = []
        for i, first in enumerate(self.splits):
            for second in self.splits[i + 1:]:
                exact = self._exact[first] & self._exact[second]
                folded_in_first = self._folded[first]
                near = [text for text, folded in self._folded_of[second].items()
                        if text in exact or folded in folded_in_first]
                pairs[f"{first}-{second}"] = {"exact": len(exact), "normalised": len(near)}
                shared = sorted(set(folded_in_first) & set(self._folded[second]))
                for key in shared[: max(0, max_examples - len(examples))]:
                    (first_where, _), (second_where, snippet) = (folded_in_first[key],
                                                                 self._folded[second][key])
                    examples.append({"splits": f"{first}-{second}", first: first_where,
                                     second: second_where, "text": snippet or ""})
        return {"pairs": pairs, "examples": examples}


class SentenceJoiner:
    """Joins consecutive sentences of one document (same `doc_key`) into Docs of
    up to `n_sents` sentences, keeping sentence boundaries, entities and each
    sentence's source line. Records without a doc_key stay one Doc each. Streams:
    `add` returns the Docs that are complete."""

    def __init__(self, n_sents: int) -> None:
        self.n_sents = n_sents
        self._batch: List[Tuple[Record, Union[Doc, TokenizedDoc]]] = []
        self._key: Optional[str] = None

    def add(self, record: Record, doc: Union[Doc, TokenizedDoc]) -> List[Doc]:
        if record.doc_key is None or self.n_sents <= 1:
            return self.flush() + [_built(doc)]
        done = []
        if self._batch and (record.doc_key != self._key or len(self._batch) >= self.n_sents):
            done = self.flush()
        self._key = record.doc_key
        self._batch.append((record, doc))
        return done

    def flush(self) -> List[Doc]:
        batch, self._batch = self._batch, []
        if len(batch) <= 1:
            return [_built(doc) for _, doc in batch]
        docs = [doc for _, doc in batch]
        info = {**docs[0].user_data, "sentences": len(docs)}
        if "sentence_lines" in info:
            starts, offset = [], 0
            for doc in docs:
                starts.append([offset, doc.user_data["line"]])
                offset += len(doc)
            info["sentence_lines"] = starts
        if all(isinstance(doc, TokenizedDoc) for doc in docs):
            joined = _join_tokenized(docs)
        else:
            built = [_built(doc) for doc in docs]
            for doc in built:
                doc.user_data = {}  # from_docs cannot merge it; the first's is kept below
                for token in doc:
                    token.is_sent_start = token.i == 0
            joined = Doc.from_docs(built)
        joined.user_data = info
        return [joined]


def _built(doc: Union[Doc, TokenizedDoc]) -> Doc:
    return doc.build() if isinstance(doc, TokenizedDoc) else doc


def _join_tokenized(sentences: Sequence[TokenizedDoc]) -> Doc:
    """One Doc from pre-tokenized sentences, built once from their words and
    entities: much cheaper than building each and copying them with from_docs."""
    words: List[str] = []
    spaces: List[bool] = []
    sent_starts: List[bool] = []
    tags: List[str] = []
    for sentence in sentences:
        words.extend(sentence.words)
        spaces.extend(sentence.spaces)
        spaces[-1] = True  # a space between sentences, as Doc.from_docs puts one
        sent_starts.extend([True] + [False] * (len(sentence) - 1))
        tags.extend(sentence.iob_tags())
    spaces[-1] = bool(sentences[-1].spaces[-1])
    return Doc(sentences[0].vocab, words=words, spaces=spaces, sent_starts=sent_starts, ents=tags)


class SplitStats:
    """Counts of one split's Docs, as the data report shows them."""

    def __init__(self) -> None:
        self.docs = self.sentences = self.tokens = 0
        self.labels: Counter = Counter()

    def add(self, doc: Doc) -> None:
        self.docs += 1
        self.tokens += len(doc)
        self.labels.update(ent.label_ for ent in doc.ents)

    def as_dict(self) -> Dict[str, object]:
        return {"docs": self.docs, "sentences": self.sentences, "tokens": self.tokens,
                "entities": sum(self.labels.values()), "labels": dict(sorted(self.labels.items()))}


def summarise_problems(problems: Sequence[Problem]) -> Dict[str, Dict[str, int]]:
    """Counts by action ("dropped record", ...) and kind of problem."""
    summary: Dict[str, Counter] = {}
    for problem in problems:
        summary.setdefault(problem.action, Counter())[problem.kind] += 1
    return {action: dict(counts.most_common()) for action, counts in sorted(summary.items())}


def label_warnings(split_labels: Dict[str, Counter], min_count: int) -> List[Dict[str, object]]:
    """Label problems worth a warning: labels that differ only by case, labels
    seen in dev or test but never in train, and labels rarer than `min_count`
    in train."""
    warnings: List[Dict[str, object]] = []
    every = sorted({label for counts in split_labels.values() for label in counts})
    by_folded: Dict[str, List[str]] = {}
    for label in every:
        by_folded.setdefault(label.casefold(), []).append(label)
    for variants in by_folded.values():
        if len(variants) > 1:
            warnings.append({"kind": "labels differ only by case", "labels": variants,
                             "message": f"Labels that differ only by case: {', '.join(variants)} "
                                        "(they are trained as different labels)"})
    train = split_labels.get("train", Counter())
    for split, counts in split_labels.items():
        unseen = sorted(label for label in counts if label not in train)
        if split != "train" and unseen:
            warnings.append({"kind": f"only in {split}", "labels": unseen,
                             "message": f"Labels in {split} but not in train: {', '.join(unseen)} "
                                        "(the model cannot learn them)"})
    rare = {label: n for label, n in sorted(train.items()) if n < min_count}
    if rare:
        warnings.append({"kind": "rare in train", "labels": sorted(rare),
                         "message": f"Labels with fewer than {min_count} training entities: "
                                    + ", ".join(f"{label} {n}" for label, n in rare.items())})
    return warnings
