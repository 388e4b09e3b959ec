"""Package a trained pipeline as an installable Python package with `spacy package`.

Reads: MODEL (a run's model-best), the metrics.json (test scores) and run.json
(seed, checksums, versions) of the run beside it, and the dataset's data_report.json.
Writes: OUTPUT_DIR/<lang>_<name>-<version>/ with the package source, dist/*.tar.gz
and dist/*.whl. The package meta carries the test scores, the label scheme, where
the data came from and its licence (from the assets' declared licences unless
given); the package requires the spaCy version range it was trained with. Built
in a staging folder and moved into place whole; the build tools' output is shown
only when a build fails.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import srsly
import typer
from spacy.cli.package import generate_readme, package as spacy_package
from wasabi import msg

from .lib.errors import UserError, check_plain_name, exit_on_user_error
from .lib.files import atomic_output, read_step_output, staging_folder
from .lib.entities import score_prefix
from .lib.run_record import Provenance, TestScores, read_provenance, read_test_scores

UNKNOWN_LICENSE = "unknown"


def data_license(report: Dict[str, Any], manifest: Dict[str, Any]) -> str:
    """The licence of the data the model was trained on: the declared licences of
    the files it read (project.yml assets' `license`), or "unknown" with a warning
    when any of them declares none."""
    declared = {entry["dest"]: entry.get("license") for entry in manifest.get("files", [])}
    licenses: List[str] = []
    for source in report["sources"]:
        license_ = declared.get(Path(source["path"]).as_posix())
        if not license_:
            msg.warn(f"No licence declared for {source['path']}: the package says "
                     f"'{UNKNOWN_LICENSE}'. Add `license:` to its asset in project.yml, or set "
                     "the 'package_license' var.")
            return UNKNOWN_LICENSE
        if license_ not in licenses:
            licenses.append(license_)
    return " AND ".join(licenses) or UNKNOWN_LICENSE


def build_meta(model: Path, name: str, version: str, scores: TestScores, provenance: Provenance,
               report: Dict[str, Any], license_: str) -> Dict[str, Any]:
    meta = read_step_output(model / "meta.json", "train")
    overall, prefix = scores["overall"], score_prefix(meta.get("pipeline", []))
    meta.update({
        "name": name,
        "version": version,
        "description": (f"NER pipeline trained by the spaCy NER project template on "
                        f"{report['dataset_dir']}; scores are on its held-out test split."),
        "license": license_,
        "sources": [{"name": source["path"], "md5": source["md5"]} for source in report["sources"]],
        "performance": {
            **{f"{prefix}_{key}": overall[key] for key in "prf"},
            f"{prefix}_per_type": scores["per_label"],
            "speed": scores["words_per_second"],
        },
        "ner_template": {**provenance, "test_corpus_md5": scores["test_corpus_md5"]},
    })
    return meta


def build_distributions(package_dir: Path) -> None:
    """Build the sdist and wheel with the setup.py `spacy package` wrote, offline
    and quietly (setuptools' deprecation notices are not the user's business);
    leave no build/ or *.egg-info behind."""
    for command in (["sdist"], ["bdist_wheel"]):
        result = subprocess.run([sys.executable, "setup.py", "-q", *command], cwd=package_dir,
                                capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
            raise UserError(f"building the package failed: setup.py {command[0]} exited with "
                            f"{result.returncode} (its output is above)", package_dir)
    for leftover in [package_dir / "build", *package_dir.glob("*.egg-info")]:
        shutil.rmtree(leftover, ignore_errors=True)


@exit_on_user_error
def main(
    # fmt: off
    model: Path = typer.Argument(..., help="Trained pipeline, e.g. training/<run>/model-best"),
    output_dir: Path = typer.Argument(..., help="Folder that receives the package"),
    name: str = typer.Option(..., help="Package name without the language prefix"),
    version: str = typer.Option(..., help="Package version"),
    data_report: Path = typer.Option(..., help="The dataset's data_report.json"),
    manifest: Path = typer.Option(..., help="The fetch step's manifest (declared licences)"),
    license_: str = typer.Option(..., "--license", help="Licence of the pipeline; auto: the data's declared licence"),
    # fmt: on
) -> None:
    check_plain_name(name, "package_name")
    if not name.isidentifier():
        raise UserError(f"the 'package_name' var must be a Python identifier (spaCy imports the "
                        f"package by name), got {name!r}; set --vars.package_name")
    report = read_step_output(data_report, "preprocess")
    if license_ == "auto":
        license_ = data_license(report, read_step_output(manifest, "fetch"))
    run_dir = model.parent
    scores, provenance = read_test_scores(run_dir), read_provenance(run_dir)
    if scores is None or provenance is None:
        missing = "evaluate" if scores is None else "train"
        raise UserError(f"the run's records are incomplete (run the '{missing}' step first)", run_dir)
    meta = build_meta(model, name, version, scores, provenance, report, license_)
    full_name = f"{meta['lang']}_{name}"
    package_dir = f"{full_name}-{version}"
    staging = staging_folder(output_dir)
    with atomic_output(output_dir / package_dir) as tmp:
        try:
            staging.mkdir(parents=True)
            meta_path = staging / "meta.json"
            # spaCy's package command adds no language prefix to a name that starts
            # with one (dataset "nl", language nl), but the setup.py it writes always
            # does, so that build fails. Handed the full name, it adds none; the
            # build then gets the meta it installs, and the readme made from it.
            srsly.write_json(meta_path, {**meta, "name": full_name})
            build_dir = staging / "build"
            build_dir.mkdir()
            spacy_package(model, build_dir, meta_path=meta_path, create_sdist=False,
                          create_wheel=False, require_parent=True, force=True, silent=True)
            built = build_dir / package_dir
            built_meta = {**srsly.read_json(built / "meta.json"), "name": name}  # with spaCy's requirements
            srsly.write_json(built / "meta.json", built_meta)
            if not (model / "README.md").exists():  # then spaCy wrote one from the meta it was handed
                readme = generate_readme(built_meta)
                for readme_path in (built / "README.md", built / full_name / package_dir / "README.md"):
                    readme_path.write_text(readme, encoding="utf8")
            build_distributions(built)
            os.replace(built, tmp)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    wheels = sorted((output_dir / package_dir / "dist").glob("*.whl"))
    msg.good(f"Package saved to {output_dir / package_dir} (licence: {license_})",
             f"Install with: pip install {wheels[0] if wheels else output_dir / package_dir}")


if __name__ == "__main__":
    typer.run(main)
