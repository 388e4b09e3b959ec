"""Self-contained HTML pages (the run report, the monitor page): one page
skeleton and stylesheet, and plots embedded as PNG."""

import base64
import html
import io
from typing import Any, Callable, Tuple

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; border-top: 1px solid #ddd; padding: 0.5rem 0; }
.pair h4 { margin: 0.2rem 0; color: #666; font-weight: normal; }
.crossed td { background: #fdd; }
mark { background: #ffe58f; }
sub { font-size: 0.6em; }
img { max-width: 100%; }
"""


def html_page(title: str, body: str) -> str:
    """A whole page: `title` (plain text) in its head, `body` (HTML) as it is."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def png_img(alt: str, png_base64: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png_base64}">'


def plot_png(draw: Callable[[Any], None], size: Tuple[float, float] = (8, 3.6)) -> str:
    """Run `draw(figure)` on a new matplotlib figure of `size` inches; return it
    as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=size, dpi=100)
    draw(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
