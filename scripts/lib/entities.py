"""Where a pipeline's entities are: doc.ents for the transition-based NER, or the
span group SPANS_KEY for the span categorizer (`architecture` spancat), whose
spans may overlap and carry a score each. Every step that reads predicted
entities reads them here; the corpus carries its entities in both places."""

from typing import Any, Dict, List, Sequence

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span

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


def score_prefix(nlp: Language) -> str:
    """The prefix of the pipeline's entity scores in `nlp.evaluate`: ents_p, ... or
    spans_sc_p, ... for a span categorizer."""
    return f"spans_{SPANS_KEY}" if "spancat" in nlp.pipe_names else "ents"
