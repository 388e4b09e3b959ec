"""How results are shown: percentages, P/R/F1 rows, Markdown tables, and a JSON result
written with its Markdown twin."""

from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple

import srsly
from wasabi import MarkdownRenderer

from .files import atomic_outputs


def percent(value: float) -> str:
    """A 0-1 score as percentage points with two decimals, as the tables show them."""
    return f"{100 * value:.2f}"


PRF_HEADER = ("label", "P", "R", "F1", "support")


def prf_rows(named_scores: Iterable[Tuple[str, Dict[str, Any]]]) -> List[Tuple[Any, ...]]:
    """Table rows (name, P, R, F1, support) for scores like {"p", "r", "f", "support"}."""
    return [(name, percent(v["p"]), percent(v["r"]), percent(v["f"]), v["support"])
            for name, v in named_scores]


def markdown_table(header: Tuple[str, ...], rows: Any) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    aligns = tuple("r" if rows and all(_is_number(r[i]) for r in rows) else "l"
                   for i in range(len(header)))
    return MarkdownRenderer().table(rows, header, aligns=aligns) + "\n"


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def write_json_and_markdown(stem: Path, data: Any, markdown: str) -> None:
    """Write STEM.json and STEM.md together: both are replaced, or neither."""
    with atomic_outputs(stem.with_suffix(".json"), stem.with_suffix(".md")) as (json_tmp, md_tmp):
        srsly.write_json(json_tmp, data)
        md_tmp.write_text(markdown, encoding="utf8")
