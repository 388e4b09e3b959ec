"""The steps of the benchmark project (benchmarks/project.yml). They reuse the
template's `scripts` package, imported from the template's folder, this folder's
parent: the benchmarks can be deleted without touching the template."""

import sys
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[2]
if str(TEMPLATE_DIR) not in sys.path:
    sys.path.insert(0, str(TEMPLATE_DIR))
