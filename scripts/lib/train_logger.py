"""A training logger that keeps spaCy's console table and also writes JSONL.

Each evaluation step becomes one line of the run's train_log.jsonl: epoch, step,
losses, dev scores (overall and per label), words seen and elapsed seconds, which
is what run.json's training speed and later reports are computed from. (spaCy's
own `output_file` of ConsoleLogger.v3 keeps only the score columns: no per-label
scores, words or time.)
"""

import time
from typing import IO, Any, Callable, Dict, Optional, Tuple, Union

import srsly
from spacy import registry
from spacy.language import Language

LOGGER_NAME = "ner_template.TrainLogger.v1"


@registry.loggers(LOGGER_NAME)
def train_logger(
    log_path: str,
    progress_path: Optional[str] = None,
    progress_bar: Union[bool, str, None] = None,
    console_output: bool = True,
    output_file: Optional[str] = None,
) -> Callable[[Language, IO, IO], Tuple[Callable[[Optional[Dict[str, Any]]], None], Callable[[], None]]]:
    if isinstance(progress_bar, bool):  # ConsoleLogger.v1/v2 took a bool, v3 takes a name
        progress_bar = "eval" if progress_bar else None
    make_console = registry.loggers.get("spacy.ConsoleLogger.v3")(
        progress_bar=progress_bar, console_output=console_output, output_file=output_file
    )

    def setup(nlp: Language, stdout: IO, stderr: IO):
        console_step, console_finalize = make_console(nlp, stdout, stderr)
        log_files = [open(path, "w", encoding="utf8") for path in (log_path, progress_path) if path]
        start = time.perf_counter()

        def log_step(info: Optional[Dict[str, Any]]) -> None:
            console_step(info)
            if info is None:
                return
            record = {
                "epoch": info["epoch"],
                "step": info["step"],
                "score": float(info["score"]),
                "losses": {name: float(value) for name, value in info["losses"].items()},
                "scores": info["other_scores"],
                "words": info["words"],
                "seconds": round(time.perf_counter() - start, 3),
            }
            for log_file in log_files:
                log_file.write(srsly.json_dumps(record) + "\n")
                log_file.flush()  # a parent step may follow the progress file as it grows (lib.runs)

        def finalize() -> None:
            console_finalize()
            for log_file in log_files:
                log_file.close()

        return log_step, finalize

    return setup
