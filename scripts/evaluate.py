"""Score a trained pipeline on the held-out test split.

Reads: MODEL (a run's model-best) and TEST (corpus/<dataset>/test.spacy). Dev is
for model selection during training; only this step sees test.
Writes into OUTPUT_DIR: metrics.json (precision, recall and F1 overall and per
label, support per label, inference words/second, test checksum) and metrics.md
(the same as Markdown tables).
"""

from pathlib import Path
from typing import Any, Dict, List

import spacy
import typer
from spacy.tokens import DocBin
from spacy.training import Example
from wasabi import msg

from .lib.entities import score_entities, with_entity_spans
from .lib.errors import UserError, check_plain_path, exit_on_user_error
from .lib.files import md5_file
from .lib.provenance import environment_info, utc_now
from .lib.tables import PRF_HEADER, markdown_table, prf_rows, write_json_and_markdown
from .lib.timing import words_per_second


def pipe_speed(nlp: spacy.Language, texts: List[str], min_seconds: float, batch_size: int = 256) -> Dict[str, Any]:
    """Words/second of `nlp.pipe` on the texts, repeated for at least `min_seconds`."""
    list(nlp.pipe(texts[:32]))  # warm-up
    speed, n_words, passes = words_per_second(
        lambda: sum(len(doc) for doc in nlp.pipe(texts, batch_size=batch_size)), min_seconds)
    return {"words_per_second": speed, "words": n_words, "passes": passes, "batch_size": batch_size,
            "min_seconds": min_seconds}


def metrics_markdown(metrics: Dict[str, Any]) -> str:
    rows = prf_rows([("**overall**", metrics["overall"]), *metrics["per_label"].items()])
    speed = metrics["speed"]
    return (
        f"# Test scores: {metrics['run']}\n\n"
        f"Model `{metrics['model']}` on `{metrics['test']['path']}` "
        f"({metrics['test']['docs']} docs, {metrics['test']['words']} words; "
        f"MD5 {metrics['test']['md5']}).\n\n"
        + markdown_table(PRF_HEADER, rows)
        + f"\nInference: {speed['words_per_second']:,} words/second "
        f"(`nlp.pipe`, batch size {speed['batch_size']}, {metrics['environment']['cpu_count']} CPUs).\n"
    )


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline, e.g. training/<run>/model-best"),
    test_path: Path = typer.Argument(..., help="Test corpus (.spacy)"),
    output_dir: Path = typer.Argument(..., help="Folder for metrics.json and metrics.md"),
    gpu_id: int = typer.Option(..., help="GPU id, or -1 for CPU"),
    speed_seconds: float = typer.Option(..., min=0, help="Minimum seconds of the words/second measurement (the test split's texts, repeated); 0: one pass"),
    # fmt: on
) -> None:
    check_plain_path(output_dir, "run")
    if not model.is_dir():
        raise UserError("trained pipeline not found (run the 'train' step first)", model)
    if not test_path.is_file():
        raise UserError("test corpus not found (run the 'preprocess' step first)", test_path)
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(test_path).get_docs(nlp.vocab))
    if not gold:
        raise UserError("the test corpus holds no documents", test_path)
    # A corpus written before entities were also kept as spans gets them here.
    examples = [Example(nlp.make_doc(doc.text), with_entity_spans(doc)) for doc in gold]
    metrics: Dict[str, Any] = {
        "run": output_dir.name,
        "model": model.as_posix(),
        "test": {"path": test_path.as_posix(), "md5": md5_file(test_path), "docs": len(gold),
                 "words": sum(len(doc) for doc in gold)},
        **score_entities(nlp, examples),
        "speed": pipe_speed(nlp, [doc.text for doc in gold], speed_seconds),
        "evaluated": utc_now(),
        "gpu_id": gpu_id,
        "environment": environment_info(),
    }
    write_json_and_markdown(output_dir / "metrics", metrics, metrics_markdown(metrics))
    overall = metrics["overall"]
    msg.table(prf_rows([("overall", overall), *metrics["per_label"].items()]), header=PRF_HEADER,
              divider=True)
    msg.good(f"Test F1 {100 * overall['f']:.2f}; {metrics['speed']['words_per_second']:,} words/s; "
             f"saved to {output_dir}/metrics.json and metrics.md")


if __name__ == "__main__":
    typer.run(main)
