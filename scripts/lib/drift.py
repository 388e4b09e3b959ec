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


def vocabulary(docs: Iterable[Any]) -> Set[str]:
    """Lower-cased words of a corpus (train's, for the share of unseen words)."""
    return {token.lower_ for doc in docs for token in doc if not token.is_space}


def _bucket(n_words: int) -> str:
    return next((f"<={edge}" for edge in DOC_BUCKETS if n_words <= edge), f">{DOC_BUCKETS[-1]}")


def profile(nlp: Language, texts: Iterable[str], train_vocab: Set[str],
            batch_size: int = 256) -> Dict[str, Any]:
    """Counts of what the model predicts on `texts`, and of the texts themselves."""
    labels: Counter = Counter()
    entity_lengths: Counter = Counter()
    doc_lengths: Counter = Counter()
    docs = words = unseen = 0
    for doc in nlp.pipe(texts, batch_size=batch_size):
        n_words = sum(1 for token in doc if not token.is_space)
        docs += 1
        words += n_words
        unseen += sum(1 for token in doc if not token.is_space and token.lower_ not in train_vocab)
        doc_lengths[_bucket(n_words)] += 1
        for ent in entity_spans(doc):
            labels[ent.label_] += 1
            entity_lengths[str(min(len(ent), MAX_ENTITY_TOKENS))] += 1
    entities = sum(labels.values())
    return {
        "docs": docs, "words": words, "entities": entities,
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


def chi_square_p(first: Dict[str, int], second: Dict[str, int]) -> float:
    """p-value of a chi-square test that both count distributions are the same."""
    from scipy.stats import chi2_contingency

    keys = sorted(k for k in set(first) | set(second) if first.get(k, 0) + second.get(k, 0) > 0)
    if len(keys) < 2 or not sum(first.values()) or not sum(second.values()):
        return 1.0
    table = [[first.get(k, 0) for k in keys], [second.get(k, 0) for k in keys]]
    return float(chi2_contingency(table)[1])


def _relative(reference: float, current: float) -> float:
    return abs(current - reference) / reference if reference else (0.0 if not current else math.inf)


def signals(reference: Dict[str, Any], current: Dict[str, Any],
            thresholds: Dict[str, float]) -> List[Dict[str, Any]]:
    """Each drift signal: its reference and current figures, its value, its
    threshold and whether the value crossed it. Label drift counts only when it
    is also significant (p < 0.01), so a small sample does not alarm by chance."""
    label_js = js_divergence(reference["labels"], current["labels"])
    label_p = chi_square_p(reference["labels"], current["labels"])
    rows = [
        ("label distribution (Jensen-Shannon)", "label_js", reference["labels"], current["labels"],
         label_js, label_js > thresholds["label_js"] and label_p < 0.01, {"p_value": label_p}),
        ("entities per 1,000 words (relative change)", "entity_rate",
         reference["entities_per_1000_words"], current["entities_per_1000_words"],
         _relative(reference["entities_per_1000_words"], current["entities_per_1000_words"]), None, {}),
        ("entity length in tokens (relative change)", "entity_length", reference["mean_entity_tokens"],
         current["mean_entity_tokens"],
         _relative(reference["mean_entity_tokens"], current["mean_entity_tokens"]), None, {}),
        ("share of words unseen in train (increase, points)", "unseen_words",
         reference["unseen_word_share"], current["unseen_word_share"],
         current["unseen_word_share"] - reference["unseen_word_share"], None, {}),
        ("text length in words (relative change)", "text_length", reference["mean_doc_words"],
         current["mean_doc_words"], _relative(reference["mean_doc_words"], current["mean_doc_words"]),
         None, {}),
    ]
    result = []
    for name, key, ref, cur, value, crossed, extra in rows:
        threshold = thresholds[key]
        result.append({"signal": name, "key": key, "reference": ref, "current": cur, "value": value,
                       "threshold": threshold,
                       "crossed": bool(value > threshold if crossed is None else crossed), **extra})
    return result
