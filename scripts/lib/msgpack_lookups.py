"""srsly's msgpack encoders and decoders, looked up once instead of on every call.

srsly asks catalogue for its msgpack encoders on every `msgpack_dumps` and for
its decoders on every `msgpack_loads`, and catalogue answers by scanning every
installed package's entry points and copying its registry: about a millisecond
with this project's requirements installed, paid several times for every
DocBin document read or written. Measured: on the sample (766 short records)
`train` at the workflow test's budget took 12.2 CPU-s before and 7.3 after,
scores identical; reading CoNLL-2003's training split as 12,691 one-sentence
documents, 6.1 s before and 0.5 s after (as 1,680 articles: 3.1 and 0.2), once
an epoch. Each answer is cached until catalogue's registry grows (a coder
registered later under a new name is still found); installed entry points do
not change while a process runs.
"""

from typing import Any, Callable, Dict, Optional, Tuple

import catalogue
import srsly.msgpack


def cache_msgpack_lookups() -> None:
    """Cache srsly's encoder and decoder lookups in this process (idempotent)."""
    for registry in (srsly.msgpack.msgpack_encoders, srsly.msgpack.msgpack_decoders):
        if not getattr(registry.get_all, "cached_lookup", False):
            registry.get_all = cached_lookup(registry.get_all)  # type: ignore[method-assign]


def cached_lookup(lookup: Callable[[], Dict[str, Any]]) -> Callable[[], Dict[str, Any]]:
    cached: Dict[str, Optional[Tuple[int, Dict[str, Any]]]] = {"entry": None}

    def get_all() -> Dict[str, Any]:
        size = len(catalogue.REGISTRY)
        entry = cached["entry"]
        if entry is None or entry[0] != size:
            entry = cached["entry"] = (size, lookup())
        return dict(entry[1])

    get_all.cached_lookup = True  # type: ignore[attr-defined]
    return get_all
