"""Profile what the trained model does on the test split: the reference that
`monitor` compares new text against.

Reads: MODEL (a run's model-best), TRAIN and TEST (the corpus's train.spacy and
test.spacy: train only for its vocabulary, test for its texts).
Writes: REFERENCE (training/<run>/reference.json): predicted labels, entities per
1,000 words, entity lengths, text lengths and the share of words unseen in
train, on the test texts; and the train vocabulary (lower-cased), so the
monitor can measure unseen words in new text the same way.
"""

from pathlib import Path

import spacy
import typer
from spacy.tokens import DocBin
from wasabi import msg

from .lib.drift import profile, vocabulary
from .lib.errors import UserError, exit_on_user_error
from .lib.files import md5_file, write_json
from .lib.provenance import utc_now


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline, e.g. training/<run>/model-best"),
    train_path: Path = typer.Argument(..., help="Train corpus (.spacy), for its vocabulary"),
    test_path: Path = typer.Argument(..., help="Test corpus (.spacy), whose texts are profiled"),
    reference: Path = typer.Argument(..., help="Where to write the reference profile (JSON)"),
    # fmt: on
) -> None:
    for path in (model, train_path, test_path):
        if not path.exists():
            raise UserError("not found (run the earlier steps first)", path)
    nlp = spacy.load(model)
    train_vocab = vocabulary(DocBin().from_disk(train_path).get_docs(nlp.vocab))
    texts = [doc.text for doc in DocBin().from_disk(test_path).get_docs(nlp.vocab)]
    write_json(reference, {
        "created": utc_now(),
        "model": str(model),
        "test": {"path": str(test_path), "md5": md5_file(test_path)},
        "profile": profile(nlp, texts, train_vocab),
        "train_vocabulary": sorted(train_vocab),
    })
    msg.good(f"Reference profile of {len(texts):,} test texts saved to {reference}")


if __name__ == "__main__":
    typer.run(main)
