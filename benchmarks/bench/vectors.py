"""Train the static vectors a lever reads, with the template's own train-vectors
code, into this project's folder: the template's training/vectors/<dataset>
stays what the template's config reads, so one table holds both.

Reads and writes what scripts/train_vectors.py does (TRAIN, the prepared
unlabelled text, a floret settings file); OUTPUT here is vectors/<dataset>.
"""

import typer

from scripts import train_vectors

if __name__ == "__main__":
    typer.run(train_vectors.main)
