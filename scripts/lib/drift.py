"""What a model does on a body of text, and whether new text has drifted away
from the reference (the test split): the signals the monitor step checks."""

import math
from collections import Counter
from typing import Any, Dict, Iterable, List, Set

from spacy.language import Language

from .entities import entity_spans

# Length buckets (upper bounds, in words) for the text-length distribution.
DOC_BUCKETS = (10, 20, 50, 100, 200, 500, 1000)
MAX_ENTITY_TOKENS = 6  # entity lengths above this share one bucket
EXAMPLES, EXAMPLE_CHARS, TOP_UNSEEN = 5, 400, 20
# Label drift counts only when the label counts differ significantly at this level.
ALPHA = 0.01
# Draws of the Monte Carlo test of label counts: p-values down to about 1e-4.
LABEL_TEST_DRAWS = 10_000


def example(doc: Any) -> Dict[str, Any]:
    """The start of a document and the entities in it, as the monitor page shows them."""
    text = doc.text[:EXAMPLE_CHARS]
    return {"text": text, "truncated": len(doc.text) > EXAMPLE_CHARS,
            "entities": [[span.start_char, span.end_char, span.label_] for span in entity_spans(doc)
                         if span.end_char <= len(text)]}


def vocabulary(docs: Iterable[Any]) -> Set[str]:
    """Lower-cased words of a corpus (train's, for the share of unseen words)."""
    return {token.lower_ for doc in docs for token in doc if not token.is_space}


def _bucket(n_words: int) -> str:
    return next((f"<={edge}" for edge in DOC_BUCKETS if n_words <= edge), f">{DOC_BUCKETS[-1]}")


def profile(nlp: Language, texts: Iterable[str], train_vocab: Set[str],
            batch_size: int = 256) -> Dict[str, Any]:
    """Counts of what the model predicts on `texts`, and of the texts themselves;
    the words most often unseen in train and the first few documents with their
    entities, for a person to look at."""
    labels: Counter = Counter()
    entity_lengths: Counter = Counter()
    doc_lengths: Counter = Counter()
    unseen_words: Counter = Counter()
    examples: List[Dict[str, Any]] = []
    docs = words = 0
    for doc in nlp.pipe(texts, batch_size=batch_size):
        n_words = sum(1 for token in doc if not token.is_space)
        docs += 1
        words += n_words
        unseen_words.update(token.lower_ for token in doc
                            if not token.is_space and token.lower_ not in train_vocab)
        doc_lengths[_bucket(n_words)] += 1
        for ent in entity_spans(doc):
            labels[ent.label_] += 1
            entity_lengths[str(min(len(ent), MAX_ENTITY_TOKENS))] += 1
        if len(examples) < EXAMPLES:
            examples.append(example(doc))
    entities = sum(labels.values())
    unseen = sum(unseen_words.values())
    return {
        "docs": docs, "words": words, "entities": entities,
        "examples": examples,
        "top_unseen_words": [[word, n] for word, n in unseen_words.most_common(TOP_UNSEEN)],
        "labels": dict(sorted(labels.items())),
        "entity_lengths": dict(sorted(entity_lengths.items())),
        "doc_lengths": dict(doc_lengths),
        "entities_per_1000_words": 1000 * entities / words if words else 0.0,
        "mean_entity_tokens": (sum(int(k) * n for k, n in entity_lengths.items()) / entities
                               if entities else 0.0),
        "mean_doc_words": words / docs if docs else 0.0,
        "unseen_word_share": unseen / words if words else 0.0,
    }


def js_divergence(first: Dict[str, int], second: Dict[str, int]) -> float:
    """Jensen-Shannon divergence (base 2, from 0 to 1) of two count distributions."""
    keys = sorted(set(first) | set(second))
    total_a, total_b = sum(first.values()), sum(second.values())
    if not keys or not total_a or not total_b:
        return 0.0 if total_a == total_b else 1.0
    p = [first.get(k, 0) / total_a for k in keys]
    q = [second.get(k, 0) / total_b for k in keys]
    m = [(a + b) / 2 for a, b in zip(p, q)]

    def kl(x: List[float], y: List[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, y) if a > 0)

    return (kl(p, m) + kl(q, m)) / 2


def label_counts_p(reference: Dict[str, int], current: Dict[str, int],
                   draws: int = LABEL_TEST_DRAWS, seed: int = 0) -> float:
    """p-value that both label counts come from one distribution: a Monte Carlo
    exact test (the chi-square statistic of the observed table against tables
    drawn with the same margins), valid for small counts where the chi-square
    approximation is not. Seeded: the same counts give the same p-value."""
    import numpy

    keys = sorted(k for k in set(reference) | set(current) if reference.get(k, 0) + current.get(k, 0))
    ref = numpy.array([reference.get(k, 0) for k in keys], dtype=float)
    cur = numpy.array([current.get(k, 0) for k in keys], dtype=float)
    if len(keys) < 2 or not ref.sum() or not cur.sum():
        return 1.0
    totals = ref + cur
    share = cur.sum() / totals.sum()

    def statistic(current_rows: "numpy.ndarray") -> "numpy.ndarray":
        expected_cur, expected_ref = totals * share, totals * (1 - share)
        reference_rows = totals - current_rows
        return (((current_rows - expected_cur) ** 2 / expected_cur).sum(axis=-1)
                + ((reference_rows - expected_ref) ** 2 / expected_ref).sum(axis=-1))

    drawn = numpy.random.default_rng(seed).multivariate_hypergeometric(
        totals.astype(numpy.int64), int(cur.sum()), size=draws)
    observed = statistic(cur)
    return float((1 + (statistic(drawn) >= observed - 1e-9).sum()) / (draws + 1))


def fold_change(reference: float, current: float) -> float:
    """How far `current` is from `reference`, the same either way: the larger of
    their two ratios, minus 1 (a doubling and a halving are both 1.0)."""
    if not reference or not current:
        return 0.0 if reference == current else math.inf
    return max(current / reference, reference / current) - 1


def signals(reference: Dict[str, Any], current: Dict[str, Any],
            thresholds: Dict[str, float]) -> List[Dict[str, Any]]:
    """Each drift signal: its reference and current figures, its value, its
    threshold and whether the value crossed it. Label drift counts only when it
    is also significant (p < ALPHA), so a small sample does not alarm by chance.
    Changes of rates and lengths are fold changes: fewer counts like more."""
    label_js = js_divergence(reference["labels"], current["labels"])
    label_p = label_counts_p(reference["labels"], current["labels"])
    rows = [
        ("label distribution (Jensen-Shannon)", "label_js", reference["labels"], current["labels"],
         label_js, label_js > thresholds["label_js"] and label_p < ALPHA, {"p_value": label_p}),
        ("entities per 1,000 words (fold change)", "entity_rate",
         reference["entities_per_1000_words"], current["entities_per_1000_words"],
         fold_change(reference["entities_per_1000_words"], current["entities_per_1000_words"]), None, {}),
        ("entity length in tokens (fold change)", "entity_length", reference["mean_entity_tokens"],
         current["mean_entity_tokens"],
         fold_change(reference["mean_entity_tokens"], current["mean_entity_tokens"]), None, {}),
        ("share of words unseen in train (increase, points)", "unseen_words",
         reference["unseen_word_share"], current["unseen_word_share"],
         current["unseen_word_share"] - reference["unseen_word_share"], None, {}),
        ("text length in words (fold change)", "text_length", reference["mean_doc_words"],
         current["mean_doc_words"], fold_change(reference["mean_doc_words"], current["mean_doc_words"]),
         None, {}),
    ]
    result = []
    for name, key, ref, cur, value, crossed, extra in rows:
        threshold = thresholds[key]
        result.append({"signal": name, "key": key, "reference": ref, "current": cur, "value": value,
                       "threshold": threshold,
                       "crossed": bool(value > threshold if crossed is None else crossed), **extra})
    return result
