"""Plots embedded in self-contained HTML pages (the run report, the monitor page)."""

import base64
import io
from typing import Any, Callable, Tuple


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
