"""Write a run's error-analysis report: what the model gets right and wrong on test.

Reads: RUN_DIR/model-best, RUN_DIR/metrics.json, RUN_DIR/train_log.jsonl, and the
corpus's train.spacy (to tell seen from unseen entities) and test.spacy.
Writes into RUN_DIR: report.html (self-contained: scores, support, a training
curve and per-label F1 bars as embedded PNG plots, a label confusion table, the
worst test documents rendered with displaCy, gold beside predicted, and scores
for entities seen and unseen in train), report.md (the same facts without the
pictures), and errors/false_positives.jsonl, errors/false_negatives.jsonl.
"""

import html
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import spacy
import srsly
import typer
from spacy import displacy
from spacy.scorer import PRFScore
from spacy.tokens import Doc, DocBin
from wasabi import msg

from .lib.doc_source import source_line
from .lib.entities import SPANS_KEY, entity_labels, entity_spans, score_prefix
from .lib.errors import UserError, check_plain_path, exit_on_user_error
from .lib.files import atomic_outputs
from .lib.plots import html_page, plot_png, png_img
from .lib.run_record import METRICS_JSON, MODEL_BEST, TRAIN_LOG, read_log, read_metrics
from .lib.tables import PRF_HEADER, markdown_table, percent, prf_rows

Entity = Tuple[int, int, str]
NONE = "(none)"


def entities(doc: Doc) -> Set[Entity]:
    return {(ent.start_char, ent.end_char, ent.label_) for ent in entity_spans(doc)}


def prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    """Precision, recall and F1 as spaCy's scorer computes them, with the support."""
    score = PRFScore(tp=tp, fp=fp, fn=fn)
    return {"p": score.precision, "r": score.recall, "f": score.fscore, "support": tp + fn}


def confusion(gold: Set[Entity], pred: Set[Entity]) -> Counter:
    """(gold label, predicted label) counts: exact matches, overlapping spans with
    another label or other boundaries, missed gold (pred NONE), spurious (gold NONE)."""
    counts: Counter = Counter()
    for start, end, label in gold:
        overlapping = [p for p in pred if p[0] < end and start < p[1]]
        if not overlapping:
            counts[(label, NONE)] += 1
        for other in overlapping:
            counts[(label, other[2])] += 1
    for start, end, label in pred:
        if not any(g[0] < end and start < g[1] for g in gold):
            counts[(NONE, label)] += 1
    return counts


def seen_unseen(pairs: List[Tuple[Doc, Doc]], train_texts: Set[str]) -> Dict[str, Dict[str, float]]:
    """Scores for entities whose text occurs as an entity in train, and the rest."""
    counts = {"seen": Counter(), "unseen": Counter()}
    for gold, pred in pairs:
        gold_ents, pred_ents = entities(gold), entities(pred)
        for ent in gold_ents:
            group = "seen" if gold.text[ent[0]:ent[1]] in train_texts else "unseen"
            counts[group]["tp" if ent in pred_ents else "fn"] += 1
        for ent in pred_ents - gold_ents:
            counts["seen" if pred.text[ent[0]:ent[1]] in train_texts else "unseen"]["fp"] += 1
    return {group: prf(c["tp"], c["fp"], c["fn"]) for group, c in counts.items()}


def dev_f1_curve(log: List[Dict[str, Any]], pipe_names: List[str]) -> List[float]:
    """Dev entity F1 (in points) at each evaluation, under the pipeline's score keys."""
    key = f"{score_prefix(pipe_names)}_f"
    return [100 * (entry["scores"].get(key) or 0.0) for entry in log]


def training_curve(log: List[Dict[str, Any]], pipe_names: List[str]) -> str:
    def draw(figure) -> None:
        score_axis, loss_axis = figure.subplots(1, 2)
        steps = [entry["step"] for entry in log]
        score_axis.plot(steps, dev_f1_curve(log, pipe_names), marker="o")
        score_axis.set(title="Dev entity F1", xlabel="step", ylabel="F1")
        for name in sorted({name for entry in log for name in entry["losses"]}):
            loss_axis.plot(steps, [entry["losses"].get(name, 0.0) for entry in log], label=name)
        loss_axis.set(title="Training loss", xlabel="step", yscale="symlog")
        loss_axis.legend()

    return plot_png(draw)


def label_bars(per_label: Dict[str, Dict[str, float]]) -> str:
    def draw(figure) -> None:
        axis = figure.subplots()
        labels = list(per_label)
        axis.barh(labels, [100 * per_label[label]["f"] for label in labels], color="#4c72b0")
        for index, label in enumerate(labels):
            axis.text(100 * per_label[label]["f"] + 1, index, f"{100 * per_label[label]['f']:.1f}",
                      va="center")
        axis.set(title="Test F1 per label", xlim=(0, 110), xlabel="F1")
        axis.invert_yaxis()

    return plot_png(draw)


def render_ents(doc: Doc, colors: Dict[str, str], as_spans: bool) -> str:
    """displaCy's entity style, or its span style for a span categorizer, whose
    spans may overlap."""
    if as_spans:
        return displacy.render(doc, style="span", page=False, jupyter=False,
                               options={"colors": colors, "spans_key": SPANS_KEY})
    return displacy.render(doc, style="ent", page=False, jupyter=False, options={"colors": colors})


def palette(labels: List[str]) -> Dict[str, str]:
    colors = ["#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#aa9cfc", "#c887fb", "#9cc9cc",
              "#ffeb80", "#ff8197", "#f0d0ff", "#bfe1d9", "#e4e7d2"]
    return {label: colors[i % len(colors)] for i, label in enumerate(labels)}


def build(run_dir: Path, train_path: Path, test_path: Path, n_worst: int) -> Dict[str, Any]:
    for path in (run_dir / MODEL_BEST, run_dir / METRICS_JSON, train_path, test_path):
        if not path.exists():
            raise UserError("not found (run the earlier steps first)", path)
    log_path = run_dir / TRAIN_LOG
    nlp = spacy.load(run_dir / MODEL_BEST)
    gold_docs = list(DocBin().from_disk(test_path).get_docs(nlp.vocab))
    pred_docs = list(nlp.pipe(doc.text for doc in gold_docs))
    train_texts = {ent.text for doc in DocBin().from_disk(train_path).get_docs(nlp.vocab) for ent in entity_spans(doc)}
    pairs = list(zip(gold_docs, pred_docs))
    false_positives, false_negatives, worst = [], [], []
    for index, (gold, pred) in enumerate(pairs):
        gold_ents, pred_ents = entities(gold), entities(pred)
        where = {"doc": index, "id": gold.user_data.get("id"), "source": gold.user_data.get("source")}
        for start, end, label in sorted(pred_ents - gold_ents):
            false_positives.append({**where, "line": source_line(gold, start), "start": start,
                                    "end": end, "label": label, "text": gold.text[start:end]})
        for start, end, label in sorted(gold_ents - pred_ents):
            false_negatives.append({**where, "line": source_line(gold, start), "start": start,
                                    "end": end, "label": label, "text": gold.text[start:end]})
        errors = len(pred_ents ^ gold_ents)
        if errors:
            worst.append((errors, index))
    worst.sort(key=lambda item: (-item[0], item[1]))
    counts: Counter = Counter()
    for gold, pred in pairs:
        counts.update(confusion(entities(gold), entities(pred)))
    return {
        "metrics": read_metrics(run_dir),
        "log": read_log(log_path),
        "confusion": counts,
        "seen_unseen": seen_unseen(pairs, train_texts),
        "worst": [(errors, pairs[index]) for errors, index in worst[:n_worst]],
        "false_positives": false_positives,
        "false_negatives": false_negatives,
        "labels": entity_labels(nlp),
        "pipe_names": nlp.pipe_names,
    }


def confusion_rows(data: Dict[str, Any]) -> Tuple[Tuple[str, ...], List[Tuple[Any, ...]]]:
    labels = data["labels"]
    header = ("gold \\ predicted", *labels, "missed")
    rows = [(gold, *(data["confusion"][(gold, pred)] for pred in labels), data["confusion"][(gold, NONE)])
            for gold in labels]
    rows.append(("spurious", *(data["confusion"][(NONE, pred)] for pred in labels), ""))
    return header, rows


def score_rows(metrics: Dict[str, Any]) -> List[Tuple[Any, ...]]:
    return prf_rows([("overall", metrics["overall"]), *metrics["per_label"].items()])


def report_markdown(data: Dict[str, Any], run_name: str) -> str:
    metrics = data["metrics"]
    header, rows = confusion_rows(data)
    seen = prf_rows(data["seen_unseen"].items())
    return (
        f"# Error report: {run_name}\n\n## Test scores\n\n"
        + markdown_table(PRF_HEADER, score_rows(metrics))
        + "\n## Label confusion (overlapping spans)\n\n" + markdown_table(header, rows)
        + dev_curve_markdown(data)
        + "\n## Entities seen and unseen in train\n\n"
        + markdown_table(("entities", "P", "R", "F1", "support"), seen)
        + f"\n{len(data['false_positives'])} false positives and {len(data['false_negatives'])} false "
        "negatives are listed in `errors/`.\n"
    )


def dev_curve_markdown(data: Dict[str, Any]) -> str:
    curve = dev_f1_curve(data["log"], data["pipe_names"])
    if not curve:
        return "\nNo training log: no dev curve.\n"
    best = max(range(len(curve)), key=lambda i: (curve[i], i))
    return (f"\nDev F1 over {len(curve)} evaluations: first {curve[0]:.2f}, best {curve[best]:.2f} "
            f"(step {data['log'][best]['step']}), last {curve[-1]:.2f}.\n")


def html_table(header: Tuple[str, ...], rows: List[Tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(data: Dict[str, Any], run_name: str) -> str:
    metrics = data["metrics"]
    colors = palette(data["labels"])
    header, rows = confusion_rows(data)
    seen = prf_rows(data["seen_unseen"].items())
    curve = (png_img("training curve", training_curve(data["log"], data["pipe_names"]))
             if data["log"] else "<p>No training log.</p>")
    bars = png_img("F1 per label", label_bars(metrics["per_label"]))
    worst = "".join(
        f'<div class="pair"><div><h4>doc {html.escape(str(gold.user_data.get("id", "")))} · gold'
        f" ({errors} errors)</h4>{render_ents(gold, colors, SPANS_KEY in pred.spans)}</div>"
        f"<div><h4>predicted</h4>{render_ents(pred, colors, SPANS_KEY in pred.spans)}</div></div>"
        for errors, (gold, pred) in data["worst"])
    overall = metrics["overall"]
    return html_page(f"NER report: {run_name}", f"""<h1>NER report: {html.escape(run_name)}</h1>
<p>Model <code>{html.escape(metrics["model"])}</code> on <code>{html.escape(metrics["test"]["path"])}</code>
({metrics["test"]["docs"]} docs, {metrics["test"]["words"]} words).
Test F1 <strong id="test-f1">{percent(overall["f"])}</strong>, precision {percent(overall["p"])},
recall {percent(overall["r"])}; {metrics["speed"]["words_per_second"]:,} words/second.</p>
<h2>Scores on the test split</h2>{html_table(PRF_HEADER, score_rows(metrics))}
<h2>Training</h2>{curve}
<h2>F1 per label</h2>{bars}
<h2>Label confusion</h2>
<p>Gold entities against the predictions that overlap them; "missed" gold entities overlap no
prediction, "spurious" predictions overlap no gold entity.</p>{html_table(header, rows)}
<h2>Entities seen and unseen in train</h2>{html_table(("entities", "P", "R", "F1", "support"), seen)}
<h2>{_worst_title(len(data["worst"]))}</h2>{worst or "<p>No errors.</p>"}""")


def _worst_title(count: int) -> str:
    return f"The {count} test document{'' if count == 1 else 's'} with the most errors"


@exit_on_user_error
def main(
    # fmt: off
    run_dir: Path = typer.Argument(..., help="Run folder, e.g. training/sample-cnn-efficiency-s0"),
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy and test.spacy"),
    n_worst: int = typer.Option(50, help="How many of the worst test documents to show"),
    # fmt: on
) -> None:
    check_plain_path(run_dir, "run")
    data = build(run_dir, corpus_dir / "train.spacy", corpus_dir / "test.spacy", n_worst)
    run_name = run_dir.name
    outputs = (run_dir / "report.html", run_dir / "report.md", run_dir / "errors")
    with atomic_outputs(*outputs) as (html_tmp, md_tmp, errors_tmp):
        html_tmp.write_text(to_html(data, run_name), encoding="utf8")
        md_tmp.write_text(report_markdown(data, run_name), encoding="utf8")
        errors_tmp.mkdir()
        srsly.write_jsonl(errors_tmp / "false_positives.jsonl", data["false_positives"])
        srsly.write_jsonl(errors_tmp / "false_negatives.jsonl", data["false_negatives"])
    msg.good(f"Report saved to {run_dir}/report.html and report.md "
             f"({len(data['false_positives'])} false positives, {len(data['false_negatives'])} "
             "false negatives in errors/)")


if __name__ == "__main__":
    typer.run(main)
