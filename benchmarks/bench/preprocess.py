"""Benchmark the preprocess step against `spacy convert` on the same CoNLL input.

Reads: SOURCE, a CoNLL file (e.g. CoNLL-2003's eng.train from the shared mirror),
repeated until each corpus size in --tokens is reached; every copy marks its
sentences' first token so that no text repeats (nothing is deduplicated away).
Writes: OUTPUT_DIR/results.json and OUTPUT_DIR/results.md: for each size, the
wall time, peak memory (the child's own, from wait4) and tokens/second of
`python -m scripts.preprocess` (read, clean, split, write train/dev/test and the
report) and of `python -m spacy convert -c ner` (read and write one DocBin), and
their ratios. Inputs and outputs go to a temporary folder.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import typer
from wasabi import msg

from scripts.lib.errors import UserError, exit_on_user_error
from scripts.lib.provenance import environment_info, utc_now
from scripts.lib.tables import markdown_table, write_json_and_markdown


def sentences(source: Path) -> List[List[str]]:
    """The source's sentences as lists of lines (document starts dropped)."""
    found: List[List[str]] = []
    current: List[str] = []
    for line in source.read_text(encoding="utf8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if current:
                found.append(current)
            current = []
        else:
            current.append(line)
    if current:
        found.append(current)
    if not found:
        raise UserError("no sentences found", source)
    return found


def repeated(corpus: List[List[str]], n_tokens: int) -> Iterator[List[str]]:
    """Sentences of `corpus` in order, copy after copy, until `n_tokens`; copy k
    suffixes each sentence's first token with `~k`, so every text is distinct."""
    produced = copy = 0
    while True:
        for sentence in corpus:
            if produced >= n_tokens:
                return
            first = sentence[0].split(" ", 1)
            marked = f"{first[0]}~{copy}" + (f" {first[1]}" if len(first) > 1 else "")
            yield [marked, *sentence[1:]] if copy else sentence
            produced += len(sentence)
        copy += 1


def write_corpus(corpus: List[List[str]], n_tokens: int, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = 0
    with path.open("w", encoding="utf8") as out:
        for sentence in repeated(corpus, n_tokens):
            out.write("\n".join(sentence) + "\n\n")
            tokens += len(sentence)
    return tokens


def measure(command: List[str], cwd: Path) -> Dict[str, float]:
    """Run a command; its wall time and its own peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode("utf8", "replace") if process.stderr else ""
    if process.returncode != 0:
        raise UserError(f"{' '.join(command)} failed ({process.returncode}): {stderr[-500:]}")
    return {"seconds": round(seconds, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1)}


def preprocess_markdown(results: Dict[str, Any]) -> str:
    header = ("tokens", "tool", "wall time (s)", "peak memory (MiB)", "tokens/s",
              "time ratio", "memory ratio")
    rows = []
    for size in results["sizes"]:
        base = size["spacy_convert"]
        for tool in ("preprocess", "spacy_convert"):
            row = size[tool]
            rows.append((f"{size['tokens']:,}", tool.replace("_", " "), f"{row['seconds']:.1f}",
                         f"{row['peak_mib']:,.0f}", f"{row['tokens_per_second']:,}",
                         f"{row['seconds'] / base['seconds']:.2f}x",
                         f"{row['peak_mib'] / base['peak_mib']:.2f}x"))
    return (f"# Preprocess vs `spacy convert`\n\nSource: `{results['source']}`, repeated to each "
            f"size. `preprocess` reads, cleans, deduplicates, splits and writes three corpora and "
            f"the data report; `spacy convert -c ner -n {results['n_sents']}` reads and writes one "
            f"DocBin. Ratios are against `spacy convert`. Machine: {results['environment']['cpu_count']} "
            f"cores, {results['created']}.\n\n" + markdown_table(header, rows))


@exit_on_user_error
def main(
    # fmt: off
    source: Path = typer.Argument(..., help="A CoNLL file to repeat, e.g. CoNLL-2003's eng.train", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(Path("benchmarks/preprocess"), help="Where to write results.json and results.md"),
    tokens: str = typer.Option("1000000,5000000", help="Comma-separated corpus sizes in tokens"),
    lang: str = typer.Option("en", help="spaCy language of both tools"),
    n_sents: int = typer.Option(10, help="Sentences per Doc, for both tools"),
    # fmt: on
) -> None:
    corpus = sentences(source)
    project_dir = Path(__file__).resolve().parent.parent
    sizes = []
    with tempfile.TemporaryDirectory(prefix="bench-preprocess-") as tmp:
        for target in (int(t) for t in tokens.split(",")):
            work = Path(tmp) / str(target)
            n = write_corpus(corpus, target, work / "data" / "train.conll")
            msg.info(f"{n:,} tokens: running preprocess")
            ours = measure([sys.executable, "-m", "scripts.preprocess", str(work / "data"),
                            str(work / "corpus"), "--lang", lang, "--n-sents", str(n_sents)],
                           project_dir)
            msg.info(f"{n:,} tokens: running spacy convert")
            (work / "convert").mkdir()
            stock = measure([sys.executable, "-m", "spacy", "convert", str(work / "data" / "train.conll"),
                             str(work / "convert"), "--converter", "ner", "--n-sents", str(n_sents),
                             "--lang", lang], project_dir)
            for row in (ours, stock):
                row["tokens_per_second"] = round(n / row["seconds"])
            sizes.append({"tokens": n, "preprocess": ours, "spacy_convert": stock})
            msg.good(f"{n:,} tokens: preprocess {ours['seconds']}s, {ours['peak_mib']} MiB; "
                     f"spacy convert {stock['seconds']}s, {stock['peak_mib']} MiB")
    results = {"created": utc_now(), "source": source.as_posix(), "n_sents": n_sents, "sizes": sizes,
               "environment": environment_info()}
    write_json_and_markdown(output_dir / "results", results, preprocess_markdown(results))
    msg.good(f"Results saved to {output_dir}/results.md")


if __name__ == "__main__":
    typer.run(main)
