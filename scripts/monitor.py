"""Notice when new text stops looking like the text the model was tested on.

Reads: MODEL (a run's model-best), REFERENCE (the run's reference.json from the
`profile` step), INPUT (new raw text: a .txt/.jsonl file or folder, optionally
compressed, as `annotate` reads it) and, optionally, --labelled: a small annotated
sample of the new text in any format preprocess reads, scored against the
run's test F1 (metrics.json beside the model), and read as preprocess read the
training data (--data-report: its read options and labels map).
Writes into OUTPUT_DIR: monitor.json (every signal: reference and current
figures, value, threshold, p-value where there is one, crossed or not; what was
not read; examples) and monitor.html (the same for a person, with the history of
every signal against its threshold), and appends the run to history.jsonl.
Exit codes, for a scheduled job to act on: 0 no drift (or too few documents to
judge, said on the page), 1 drift, 2 the check itself failed; a failed check
removes the earlier monitor.json and monitor.html, which no longer describe the
latest text, and records the failure in the history.
"""

import html
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import spacy
import srsly
import typer
from wasabi import msg

from .lib.annotation import LEGACY_ENCODING_HELP, Skipped, document_name, input_files, read_documents
from .lib.drift import ALPHA, profile, signals
from .lib.entities import score_entities
from .lib.errors import UserError, exit_on_any_error
from .lib.files import atomic_outputs, read_step_output, remove_path, write_text
from .lib.plots import html_page, plot_png, png_img
from .lib.provenance import utc_now
from .lib.readers import ReadOptions, iter_records
from .lib.run_record import read_test_scores
from .lib.settings import Spec, read_settings

EXIT_DRIFT, EXIT_ERROR = 1, 2
MONITOR_JSON, MONITOR_HTML, HISTORY = "monitor.json", "monitor.html", "history.jsonl"
SKIPPED_SHOWN = 5
# The keys of the thresholds file, with their types and smallest values.
THRESHOLDS: Spec = {"min_docs": (int, 1), "max_label_js": (float, 0), "max_entity_rate_change": (float, 0),
                    "max_entity_length_change": (float, 0), "max_unseen_increase": (float, 0),
                    "max_text_length_change": (float, 0), "max_f1_drop": (float, 0)}


def labelled_f1(nlp: spacy.Language, path: Path, data_report: Optional[Path]) -> Dict[str, Any]:
    """Entity P/R/F1 of the model on an annotated sample of the new text, scored
    as evaluate scores the test split. The sample is read with the data report's
    read options and labels map (renamed labels under the names the model
    learnt, labels the training data dropped dropped), or the defaults."""
    from spacy.training import Example

    from .lib.cleaning import Cleaner, reading_of
    from .lib.entities import with_entity_spans

    options, labels = reading_of(read_step_output(data_report, "preprocess")) if data_report else (ReadOptions(), None)
    cleaner = Cleaner(spacy.blank(nlp.lang), labels, "drop")
    gold = [with_entity_spans(doc) for doc in (cleaner.to_doc(r) for r in iter_records(path, options)) if doc]
    if not gold:
        raise UserError("no usable annotated records in the labelled sample", path)
    scores = score_entities(nlp, [Example(nlp.make_doc(doc.text), doc) for doc in gold])
    return {"docs": len(gold), "dropped": len(cleaner.problems),
            **{key: scores["overall"][key] for key in "prf"}}


def json_safe(value: Any) -> Any:
    """`value` with infinite figures (a change from zero) written as "inf": JSON
    has no infinity."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


def read_history(path: Path) -> List[Dict[str, Any]]:
    return list(srsly.read_jsonl(path)) if path.is_file() else []


def append_history(path: Path, entry: Dict[str, Any]) -> None:
    lines = path.read_text(encoding="utf8") if path.is_file() else ""
    write_text(path, lines + srsly.json_dumps(entry) + "\n")


def history_entry(result: Dict[str, Any]) -> Dict[str, Any]:
    return json_safe({"created": result["created"], "status": result["status"], "input": result["input"],
            "docs": result["current"]["docs"],
            "signals": {row["key"]: row["value"] for row in result["signals"]},
            "thresholds": {row["key"]: row["threshold"] for row in result["signals"]}})


@contextmanager
def report_or_remove(output_dir: Path, input_path: Path) -> Iterator[None]:
    """On failure, the earlier reports describe older text than this run was
    given: remove them (the history keeps them) and record the failure."""
    try:
        yield
    except Exception as err:
        for name in (MONITOR_JSON, MONITOR_HTML):
            remove_path(output_dir / name)
        append_history(output_dir / HISTORY, {"created": utc_now(), "status": "error",
                                              "input": str(input_path), "error": str(err)})
        msg.warn(f"The earlier report in {output_dir} was removed: it does not describe {input_path}")
        raise


def history_plot(history: List[Dict[str, Any]]) -> str:
    """Every signal over the runs (errors left out), against its threshold."""
    runs = [entry for entry in history if entry["status"] != "error"]
    keys = list(runs[-1]["signals"])

    def draw(figure: Any) -> None:
        for number, key in enumerate(keys, start=1):
            axis = figure.add_subplot(len(keys), 1, number)
            values = [entry["signals"].get(key) for entry in runs]
            axis.plot(range(1, len(runs) + 1), [v if isinstance(v, (int, float)) else None
                                                 for v in values], marker="o")
            axis.plot(range(1, len(runs) + 1), [entry["thresholds"].get(key) for entry in runs],
                      linestyle="--", color="red", label="threshold")
            axis.set_ylabel(key, rotation=0, ha="right")
            axis.set_xticks(range(1, len(runs) + 1))
        figure.axes[0].legend(loc="upper left")
        figure.axes[-1].set_xlabel(f"run, oldest first (dates in {HISTORY})")

    return plot_png(draw, size=(8, 1.4 * len(keys) + 0.6))


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


def marked(example: Dict[str, Any]) -> str:
    """An example document with its entities marked."""
    text, parts, at = example["text"], [], 0
    for start, end, label in example["entities"]:
        if start < at:
            continue
        parts += [html.escape(text[at:start]),
                  f'<mark title="{html.escape(label)}">{html.escape(text[start:end])}'
                  f"<sub>{html.escape(label)}</sub></mark>"]
        at = end
    parts.append(html.escape(text[at:]) + ("…" if example["truncated"] else ""))
    return "".join(parts)


VERDICTS = {"drift": "Drift: thresholds crossed", "no_drift": "No drift",
            "too_few": "Too few documents to judge"}


def to_html(result: Dict[str, Any], history: List[Dict[str, Any]]) -> str:
    current, skipped = result["current"], result["skipped"]
    rows = "".join(
        f'<tr class="{"crossed" if s["crossed"] else "ok"}"><td>{html.escape(s["signal"])}</td>'
        f"<td>{_fmt(s['reference'])}</td><td>{_fmt(s['current'])}</td><td>{_fmt(s['value'])}</td>"
        f"<td>{_fmt(s['threshold'])}</td><td>{_fmt(s.get('p_value', ''))}</td>"
        f"<td>{'crossed' if s['crossed'] else 'ok'}</td></tr>" for s in result["signals"])
    verdict = VERDICTS[result["status"]]
    notes = ""
    if result["status"] == "too_few":
        notes = (f'<p id="too-few">Only {current["docs"]:,} documents: at least {result["min_docs"]:,} '
                 "are needed to judge drift; no alarm is raised.</p>")
    not_read = "".join(f"<li>{html.escape(s['file'])}:{s['line']}: {html.escape(s['cause'])}</li>"
                       for s in skipped[:SKIPPED_SHOWN])
    unseen = ", ".join(f"{html.escape(word)} ({n:,})" for word, n in current["top_unseen_words"])
    examples = "".join(f"<li>{marked(example)}</li>" for example in current["examples"])
    runs = [entry for entry in history if entry["status"] != "error"]
    failures = len(history) - len(runs)
    history_html = (f'<h2>History</h2><p>{len(runs)} run(s), {failures} failed, oldest first.</p>'
                    + png_img("signals over time", history_plot(history)) if runs else "")
    return html_page(verdict, (
        f'<h1 id="verdict">{verdict}</h1>{notes}'
        f"<p>Model <code>{html.escape(result['model'])}</code>; input "
        f"<code>{html.escape(result['input'])}</code>: {current['docs']:,} documents, "
        f"{current['words']:,} words, against {result['reference']['docs']:,} test documents; "
        f"{html.escape(result['created'])}. Label drift counts when p &lt; {ALPHA}.</p>"
        "<table><tr><th>signal</th><th>reference</th><th>current</th><th>value</th>"
        f"<th>threshold</th><th>p-value</th><th></th></tr>{rows}</table>{history_html}"
        f'<h2>Not read</h2><p id="not-read">{len(skipped):,} record(s) not read'
        f"{' (first ' + str(SKIPPED_SHOWN) + ')' if len(skipped) > SKIPPED_SHOWN else ''}"
        f"{':' if skipped else '.'}</p><ul>{not_read}</ul>"
        f"<h2>Words most often unseen in train</h2><p id=\"unseen\">{unseen or 'none'}</p>"
        f"<h2>Example documents</h2><ol>{examples}</ol>"
        + png_img("predicted labels", label_plot(result["reference"]["labels"], current["labels"]))))


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return html.escape(", ".join(f"{k} {v}" for k, v in value.items()))
    return f"{value:.3g}" if isinstance(value, float) else html.escape(str(value))


@exit_on_any_error(EXIT_ERROR)
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline, e.g. training/<run>/model-best"),
    reference_path: Path = typer.Argument(..., help="The run's reference.json (profile step)"),
    input_path: Path = typer.Argument(..., help="New text: a .txt/.jsonl file or folder (optionally .gz, .bz2 or .xz)"),
    output_dir: Path = typer.Argument(..., help="Folder for monitor.json, monitor.html and history.jsonl"),
    txt_documents: str = typer.Option(..., help=".txt files: one document per 'file' or per 'line'"),
    labelled: str = typer.Option(..., help="An annotated sample of the new text, scored against the test F1 (empty: none)"),
    data_report: str = typer.Option(..., help="The dataset's data_report.json: the labelled sample is read as its data was (empty: defaults)"),
    thresholds_path: Path = typer.Option(..., "--thresholds", help="Thresholds, e.g. configs/monitor.yml"),
    legacy_encoding: str = typer.Option(..., help=LEGACY_ENCODING_HELP),
    # fmt: on
) -> None:
    with report_or_remove(output_dir, input_path):
        if not reference_path.is_file():
            raise UserError("reference profile not found (run the 'profile' step first)", reference_path)
        settings = read_settings(thresholds_path, THRESHOLDS)
        min_docs = int(settings["min_docs"])
        reference = srsly.read_json(reference_path)
        nlp = spacy.load(model)
        skipped: List[Skipped] = []
        texts = (doc.text for path in input_files(input_path)
                 for doc in read_documents(path, txt_documents == "line", nlp.max_length, skipped, "skip",
                                           document_name(path, input_path), legacy_encoding))
        current = profile(nlp, texts, set(reference["train_vocabulary"]))
        if not current["docs"]:
            raise UserError(f"no documents to monitor ({len(skipped)} record(s) not readable)", input_path)
        thresholds = {"label_js": settings["max_label_js"], "entity_rate": settings["max_entity_rate_change"],
                      "entity_length": settings["max_entity_length_change"],
                      "unseen_words": settings["max_unseen_increase"],
                      "text_length": settings["max_text_length_change"]}
        rows = signals(reference["profile"], current, thresholds)
        sample: Optional[Dict[str, Any]] = None
        if labelled:
            test_scores = read_test_scores(model.parent)
            sample = labelled_f1(nlp, Path(labelled), Path(data_report) if data_report else None)
            if test_scores is not None:
                test_f1, drop = test_scores["overall"]["f"], test_scores["overall"]["f"] - sample["f"]
                rows.append({"signal": "F1 on the labelled sample (drop from test)", "key": "f1_drop",
                             "reference": test_f1, "current": sample["f"], "value": drop,
                             "threshold": settings["max_f1_drop"], "crossed": drop > settings["max_f1_drop"]})
        too_few = current["docs"] < min_docs
        if too_few:
            for row in rows:
                row["crossed"] = False
        status = "too_few" if too_few else ("drift" if any(r["crossed"] for r in rows) else "no_drift")
        result = {"created": utc_now(), "model": str(model), "input": str(input_path), "status": status,
                  "drift": status == "drift", "min_docs": min_docs,
                  "reference": reference["profile"], "current": current, "signals": rows,
                  "labelled_sample": sample, "skipped": [vars(s) for s in skipped],
                  # The transition-based NER gives no score per entity to compare.
                  "not_measured": ["entity score distribution (the pipeline's NER gives no scores)"]}
        history = read_history(output_dir / HISTORY) + [history_entry(result)]
        page = to_html(result, history)
        with atomic_outputs(output_dir / MONITOR_JSON, output_dir / MONITOR_HTML) as (json_tmp, html_tmp):
            srsly.write_json(json_tmp, json_safe(result))
            html_tmp.write_text(page, encoding="utf8")
        append_history(output_dir / HISTORY, history[-1])
    for row in rows:
        line = f"{row['signal']}: {_fmt(row['value'])} (threshold {_fmt(row['threshold'])})"
        msg.warn(line) if row["crossed"] else msg.good(line)
    if skipped:
        msg.warn(f"{len(skipped):,} record(s) not read, listed in {output_dir / MONITOR_JSON}")
    report = output_dir / MONITOR_HTML
    if status == "too_few":
        msg.warn(f"Too few documents to judge drift ({current['docs']:,} < {min_docs:,}); report in {report}")
    elif status == "drift":
        msg.fail(f"Drift: {sum(r['crossed'] for r in rows)} signal(s) crossed their threshold; see {report}")
        sys.exit(EXIT_DRIFT)
    else:
        msg.good(f"No drift; report in {report}")


if __name__ == "__main__":
    typer.run(main)
