"""Where a pipeline's entities are: doc.ents for the transition-based NER, or the
span group SPANS_KEY for the span categorizer (`architecture` spancat), whose
spans may overlap and carry a score each. Every step that reads predicted
entities reads them here; the corpus carries its entities in both places."""

from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy
from confection import Config
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

SPANS_KEY = "sc"


def entity_spans(doc: Doc) -> Sequence[Span]:
    """The doc's entities: its span group SPANS_KEY when it has one, else doc.ents."""
    return doc.spans[SPANS_KEY] if SPANS_KEY in doc.spans else doc.ents


def entity_records(doc: Doc) -> List[Dict[str, Any]]:
    """The doc's entities as JSON records; spans of a span categorizer add their score."""
    if SPANS_KEY in doc.spans:
        group = doc.spans[SPANS_KEY]
        if group.attrs.get("scores") is None or not len(group):
            return [_record(span) for span in sorted(group)]
        # One score per span, shaped (n,) or (n, 1) depending on the spaCy version.
        scores = numpy.asarray(group.attrs["scores"]).reshape(len(group), -1).max(axis=1)
        scored = sorted(zip(group, scores), key=lambda pair: (pair[0].start, pair[0].end))
        return [{**_record(span), "score": round(float(score), 4)} for span, score in scored]
    return [_record(ent) for ent in doc.ents]


def _record(span: Span) -> Dict[str, Any]:
    return {"start": span.start_char, "end": span.end_char, "label": span.label_, "text": span.text}


def with_entity_spans(doc: Doc) -> Doc:
    """The doc with its entities copied into SPANS_KEY, as the span categorizer
    learns and is scored from them."""
    doc.spans[SPANS_KEY] = list(doc.ents)
    return doc


def entity_labels(nlp: Language) -> List[str]:
    """The labels the pipeline's NER or span categorizer predicts."""
    for name in ("ner", "spancat"):
        if name in nlp.pipe_names:
            return sorted(nlp.get_pipe(name).labels)
    return []


def score_prefix(pipe_names: Sequence[str]) -> str:
    """The prefix of a pipeline's entity scores, in `nlp.evaluate`, in the dev
    scores of its training log and in its package meta: ents_p, ... or
    spans_sc_p, ... for a span categorizer."""
    return f"spans_{SPANS_KEY}" if "spancat" in pipe_names else "ents"


def score_entities(nlp: Language, examples: List[Example]) -> Dict[str, Any]:
    """Precision, recall and F1 of the pipeline's entities, overall and per label
    (with each label's gold support): the one scoring of evaluate and monitor."""
    scores = nlp.evaluate(examples)
    prefix = score_prefix(nlp.pipe_names)
    support = Counter(ent.label_ for eg in examples for ent in entity_spans(eg.reference))
    by_label = scores.get(f"{prefix}_per_type") or {}
    per_label = {}
    for label in sorted(set(support) | set(by_label)):
        prf = by_label.get(label, {"p": 0.0, "r": 0.0, "f": 0.0})
        per_label[label] = {"p": prf["p"], "r": prf["r"], "f": prf["f"], "support": support[label]}
    overall = {key: scores.get(f"{prefix}_{key}") or 0.0 for key in "prf"}
    return {"overall": {**overall, "support": sum(support.values())}, "per_label": per_label}


def suggester_max_size(config: Config) -> Optional[int]:
    """The longest span (in tokens) the span categorizer's n-gram suggester
    proposes; None without a span categorizer or with another suggester."""
    for component in config.get("components", {}).values():
        if component.get("factory") != "spancat":
            continue
        suggester = component.get("suggester", {})
        if suggester.get("@misc") == "spacy.ngram_range_suggester.v1":
            return int(suggester["max_size"])
        if suggester.get("@misc") == "spacy.ngram_suggester.v1":
            return max(suggester["sizes"])
    return None


def has_span_categorizer(config: Config) -> bool:
    return any(component.get("factory") == "spancat" for component in config.get("components", {}).values())


def masked_tokens(split_docs: Dict[str, Sequence[Doc]]) -> Optional[str]:
    """Where the corpus leaves tokens without annotation (preprocess's on_problem
    "mask"), e.g. "65 in train.spacy and 1 in dev.spacy"; None where it leaves
    none. spaCy's debug data counts only "-" tags as missing, so it shows 0."""
    found = {split: sum(token.ent_iob == 0 for doc in docs for token in doc) for split, docs in split_docs.items()}
    return " and ".join(f"{count:,} in {split}" for split, count in found.items() if count) or None


def too_long_for_suggester(split_docs: Dict[str, Iterable[Doc]], max_size: int) -> Optional[str]:
    """A warning when some entities are longer than the suggester's max_size: it
    never proposes them, so the span categorizer can neither learn nor predict
    them. None when every entity fits."""
    found = []
    longest = 0
    for split, docs in split_docs.items():
        lengths = Counter(len(span) for doc in docs for span in entity_spans(doc))
        over = sum(n for length, n in lengths.items() if length > max_size)
        if over:
            total = sum(lengths.values())
            found.append(f"{over:,} of {total:,} entities in {split} ({100 * over / total:.1f}%)")
            longest = max(longest, max(lengths))
    if not found:
        return None
    return (f"{' and '.join(found)} are longer than {max_size} tokens, the span categorizer's "
            f"suggester max_size (longest: {longest}): it never proposes them, so it can neither learn "
            "nor predict them. Raise max_size in [components.spancat.suggester] of "
            "configs/architecture/spancat.cfg to cover them (candidate spans, and so time, grow with it).")
