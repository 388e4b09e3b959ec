"""The template's test fixtures, shared with the benchmark tests."""

from tests.conftest import corpus_and_config, project, sample_data  # noqa: F401
