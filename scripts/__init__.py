"""Workflow steps of the NER project template, run as `python -m scripts.<step>`."""

from .lib.msgpack_lookups import cache_msgpack_lookups

# Before any step reads or writes a corpus: DocBins load and save faster (see the module).
cache_msgpack_lookups()
