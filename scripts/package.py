"""Package a trained pipeline as an installable Python package with `spacy package`.

Reads: MODEL (a run's model-best), the run's metrics.json (test scores) and
run.json (seed, checksums, versions), and the dataset's data_report.json.
Writes: OUTPUT_DIR/<lang>_<name>-<version>/ with the package source, dist/*.tar.gz
and dist/*.whl. The package meta carries the test scores, the label scheme and
where the data came from. Built in a staging folder and moved into place whole.
"""

import os
import shutil
from pathlib import Path
from typing import Any, Dict

import srsly
import typer
from spacy.cli.package import package as spacy_package
from wasabi import msg

from .util import UserError, atomic_output, exit_on_user_error


def read_json(path: Path, step: str) -> Dict[str, Any]:
    if not path.is_file():
        raise UserError(f"not found (run the '{step}' step first)", path)
    return srsly.read_json(path)


def build_meta(model: Path, name: str, version: str, metrics: Dict[str, Any],
               run: Dict[str, Any], report: Dict[str, Any], license_: str) -> Dict[str, Any]:
    meta = read_json(model / "meta.json", "train")
    overall = metrics["overall"]
    meta.update({
        "name": name,
        "version": version,
        "description": (f"NER pipeline trained by the spaCy NER project template on "
                        f"{report['dataset_dir']}; scores are on its held-out test split."),
        "license": license_,
        "sources": [{"name": source["path"], "md5": source["md5"]} for source in report["sources"]],
        "performance": {
            "ents_p": overall["p"], "ents_r": overall["r"], "ents_f": overall["f"],
            "ents_per_type": {label: {k: v[k] for k in ("p", "r", "f")}
                              for label, v in metrics["per_label"].items()},
            "speed": metrics["speed"]["words_per_second"],
        },
        "ner_template": {
            "run": run["run"],
            "seed": run["seed"],
            "config_md5": run["config"]["md5"],
            "corpus": {split: info["md5"] for split, info in run["corpus"].items()},
            "test": metrics["test"],
            "git": run["environment"].get("git"),
        },
    })
    return meta


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline, e.g. training/<run>/model-best"),
    output_dir: Path = typer.Argument(..., help="Folder that receives the package"),
    name: str = typer.Option(..., help="Package name without the language prefix"),
    version: str = typer.Option(..., help="Package version"),
    metrics: Path = typer.Option(..., help="The run's metrics.json"),
    run_info: Path = typer.Option(..., help="The run's run.json"),
    data_report: Path = typer.Option(..., help="The dataset's data_report.json"),
    license_: str = typer.Option("", "--license", help="License of the trained pipeline"),
    # fmt: on
) -> None:
    meta = build_meta(model, name, version, read_json(metrics, "evaluate"),
                      read_json(run_info, "train"), read_json(data_report, "preprocess"), license_)
    package_name = f"{meta['lang']}_{name}-{version}"
    staging = output_dir / f".staging-{os.getpid()}"
    with atomic_output(output_dir / package_name) as tmp:
        try:
            staging.mkdir(parents=True)
            meta_path = staging / "meta.json"
            srsly.write_json(meta_path, meta)
            build_dir = staging / "build"
            build_dir.mkdir()
            spacy_package(model, build_dir, meta_path=meta_path, create_sdist=True,
                          create_wheel=True, force=True, silent=False)
            os.replace(build_dir / package_name, tmp)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    wheels = sorted((output_dir / package_name / "dist").glob("*.whl"))
    msg.good(f"Package saved to {output_dir / package_name}",
             f"Install with: pip install {wheels[0] if wheels else output_dir / package_name}")


if __name__ == "__main__":
    typer.run(main)
