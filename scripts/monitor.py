"""Notice when new text stops looking like the text the model was tested on.

Reads: MODEL (a run's model-best), REFERENCE (the run's reference.json from the
`profile` step), INPUT (new raw text: a .txt/.jsonl file or folder, optionally
.gz, as `annotate` reads it) and, optionally, --labelled: a small annotated
sample of the new text in any format preprocess reads, scored against the
run's test F1 (metrics.json beside the model).
Writes into OUTPUT_DIR: monitor.json (every signal: reference and current
figures, value, threshold, crossed or not) and monitor.html (the same with
plots). Exits 1 when any threshold is crossed, after writing both, so that a
scheduled job can alert on the exit code.
"""

import html
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import srsly
import typer
from wasabi import msg

from .lib.annotation import input_files, read_documents
from .lib.drift import profile, signals
from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_outputs
from .lib.plots import plot_png
from .lib.provenance import utc_now
from .lib.readers import ReadOptions, iter_records
from .lib.run_record import read_test_scores


def labelled_f1(nlp: spacy.Language, path: Path) -> Dict[str, Any]:
    """Entity P/R/F1 of the model on an annotated sample of the new text."""
    from spacy.training import Example

    from .lib.cleaning import Cleaner

    cleaner = Cleaner(spacy.blank(nlp.lang), None, "drop")
    gold = [doc for doc in (cleaner.to_doc(r) for r in iter_records(path, ReadOptions())) if doc]
    if not gold:
        raise UserError("no usable annotated records in the labelled sample", path)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in gold]
    scores = nlp.evaluate(examples)
    return {"docs": len(gold), "p": scores["ents_p"] or 0.0, "r": scores["ents_r"] or 0.0,
            "f": scores["ents_f"] or 0.0, "dropped": len(cleaner.problems)}


def label_plot(reference: Dict[str, int], current: Dict[str, int]) -> str:
    labels = sorted(set(reference) | set(current))
    ref_total, cur_total = sum(reference.values()) or 1, sum(current.values()) or 1

    def draw(figure: Any) -> None:
        axis = figure.add_subplot()
        positions = range(len(labels))
        axis.bar([p - 0.2 for p in positions], [reference.get(k, 0) / ref_total for k in labels],
                 width=0.4, label="test split (reference)")
        axis.bar([p + 0.2 for p in positions], [current.get(k, 0) / cur_total for k in labels],
                 width=0.4, label="new text")
        axis.set_xticks(list(positions), labels, rotation=30, ha="right")
        axis.set(ylabel="share of predicted entities", title="Predicted labels")
        axis.legend()

    return plot_png(draw)


def to_html(result: Dict[str, Any]) -> str:
    rows = "".join(
        f'<tr class="{"crossed" if s["crossed"] else "ok"}"><td>{html.escape(s["signal"])}</td>'
        f"<td>{_fmt(s['reference'])}</td><td>{_fmt(s['current'])}</td><td>{_fmt(s['value'])}</td>"
        f"<td>{_fmt(s['threshold'])}</td><td>{'crossed' if s['crossed'] else 'ok'}</td></tr>"
        for s in result["signals"])
    verdict = "Drift: thresholds crossed" if result["drift"] else "No drift"
    plot = label_plot(result["reference"]["labels"], result["current"]["labels"])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{verdict}</title>'
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
            "td,th{border:1px solid #ccc;padding:.3rem .6rem}table{border-collapse:collapse}"
            ".crossed td{background:#fdd}</style></head><body>"
            f'<h1 id="verdict">{verdict}</h1><p>{result["current"]["docs"]:,} new documents, '
            f'{result["current"]["words"]:,} words, against {result["reference"]["docs"]:,} test '
            f"documents; {html.escape(result['created'])}</p>"
            "<table><tr><th>signal</th><th>reference</th><th>current</th><th>value</th>"
            f"<th>threshold</th><th></th></tr>{rows}</table>"
            f'<img alt="predicted labels" src="data:image/png;base64,{plot}"></body></html>')


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return html.escape(", ".join(f"{k} {v}" for k, v in value.items()))
    return f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline, e.g. training/<run>/model-best"),
    reference_path: Path = typer.Argument(..., help="The run's reference.json (profile step)"),
    input_path: Path = typer.Argument(..., help="New text: a .txt/.jsonl file or folder (optionally .gz)"),
    output_dir: Path = typer.Argument(..., help="Folder for monitor.json and monitor.html"),
    txt_documents: str = typer.Option("file", help=".txt files: one document per 'file' or per 'line'"),
    labelled: str = typer.Option("", help="An annotated sample of the new text, scored against the test F1"),
    max_label_js: float = typer.Option(0.1, help="Threshold: Jensen-Shannon divergence of predicted labels"),
    max_entity_rate_change: float = typer.Option(0.5, help="Threshold: relative change of entities per 1,000 words"),
    max_entity_length_change: float = typer.Option(0.5, help="Threshold: relative change of mean entity length"),
    max_unseen_increase: float = typer.Option(0.15, help="Threshold: increase of the share of words unseen in train"),
    max_text_length_change: float = typer.Option(1.0, help="Threshold: relative change of mean text length"),
    max_f1_drop: float = typer.Option(0.1, help="Threshold: F1 drop on the labelled sample against test"),
    # fmt: on
) -> None:
    if not reference_path.is_file():
        raise UserError("reference profile not found (run the 'profile' step first)", reference_path)
    reference = srsly.read_json(reference_path)
    nlp = spacy.load(model)
    skipped: List[Any] = []
    texts = (doc.text for path in input_files(input_path)
             for doc in read_documents(path, txt_documents == "line", nlp.max_length, skipped, "skip"))
    current = profile(nlp, texts, set(reference["train_vocabulary"]))
    if not current["docs"]:
        raise UserError("no documents to monitor", input_path)
    thresholds = {"label_js": max_label_js, "entity_rate": max_entity_rate_change,
                  "entity_length": max_entity_length_change, "unseen_words": max_unseen_increase,
                  "text_length": max_text_length_change}
    rows = signals(reference["profile"], current, thresholds)
    sample: Optional[Dict[str, Any]] = None
    if labelled:
        test_scores = read_test_scores(model.parent)
        test_f1 = test_scores["overall"]["f"] if test_scores else None
        sample = labelled_f1(nlp, Path(labelled))
        if test_f1 is not None:
            drop = test_f1 - sample["f"]
            rows.append({"signal": "F1 on the labelled sample (drop from test)", "key": "f1_drop",
                         "reference": test_f1, "current": sample["f"], "value": drop,
                         "threshold": max_f1_drop, "crossed": drop > max_f1_drop})
    result = {"created": utc_now(), "model": str(model), "input": str(input_path),
              "reference": reference["profile"], "current": current, "signals": rows,
              "labelled_sample": sample, "skipped": [vars(s) for s in skipped],
              # The transition-based NER gives no score per entity to compare.
              "not_measured": ["entity score distribution (the pipeline's NER gives no scores)"],
              "drift": any(row["crossed"] for row in rows)}
    with atomic_outputs(output_dir / "monitor.json", output_dir / "monitor.html") as (json_tmp, html_tmp):
        srsly.write_json(json_tmp, result)
        html_tmp.write_text(to_html(result), encoding="utf8")
    for row in rows:
        line = f"{row['signal']}: {_fmt(row['value'])} (threshold {_fmt(row['threshold'])})"
        msg.warn(line) if row["crossed"] else msg.good(line)
    if result["drift"]:
        msg.fail(f"Drift: {sum(r['crossed'] for r in rows)} signal(s) crossed their threshold; "
                 f"see {output_dir / 'monitor.html'}")
        sys.exit(1)
    msg.good(f"No drift; report in {output_dir / 'monitor.html'}")


if __name__ == "__main__":
    typer.run(main)
