"""Fetch and verify the assets of one dataset, as defined in project.yml.

Reads: the `assets` of project.yml whose `dest` lies in assets/<dataset>/, with
`${vars.assets_mirror}` set from --mirror, so the same definitions download from
the public URL, a local folder, a file:// URL or a loopback HTTP server.
Writes: each missing or changed asset (downloaded to a temporary file, checked
against its MD5, then moved into place), and MANIFEST, a JSON list of every file
in the dataset folder with its MD5 (and licence, for declared assets).
The step always runs (`no_skip`): weasel's checksum of a folder covers file
contents but not names, so this manifest is what makes an added, removed or
renamed file, or an edited shipped asset, rerun preprocess and what follows.

Unlike `weasel assets`, which warns and exits 0 on a checksum mismatch, this step
stops with exit code 1 on a mismatch, a missing asset or a failed download, and
never replaces a good file with a bad one.
"""

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from tqdm import tqdm
from wasabi import msg

from .lib.errors import UserError, check_plain_path, exit_on_user_error
from .lib.files import atomic_output, md5_file, md5_path, write_json

PROJECT_DIR = Path(".")
HTTP_TIMEOUT = 60


def load_assets(project_dir: Path, mirror: str) -> List[Dict[str, Any]]:
    """The project's asset definitions, with the mirror var substituted."""
    from weasel.util import load_project_config

    config = load_project_config(project_dir, overrides={"vars.assets_mirror": mirror})
    return list(config.get("assets", []))


def dataset_assets(assets: List[Dict[str, Any]], dataset_dir: Path) -> List[Dict[str, Any]]:
    prefix = dataset_dir.as_posix().rstrip("/") + "/"
    return [a for a in assets if Path(a["dest"]).as_posix().startswith(prefix)]


def download(url: str, dest: Path) -> None:
    """Copy `url` (http(s), file://, a local path, or any smart_open URL) to `dest`."""
    if url.startswith(("http://", "https://", "file://")):
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with dest.open("wb") as out, tqdm(total=total, unit="B", unit_scale=True,
                                                  desc=dest.name, disable=None, leave=False) as bar:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        bar.update(len(block))
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise UserError(f"download failed from {url}: {getattr(err, 'reason', err)}") from None
    elif "://" in url:
        from weasel.util import download_file

        try:
            download_file(url, dest, force=True)
        except (OSError, ValueError, ImportError) as err:  # unreachable, bad URL, backend missing
            raise UserError(f"download failed from {url}: {err}") from None
    else:
        source = Path(url)
        if not source.is_file():
            raise UserError(f"download failed: no file at {source.resolve()}")
        shutil.copyfile(source, dest)


def fetch_asset(asset: Dict[str, Any]) -> Dict[str, Any]:
    """Make sure one asset is present with its checksum; return its manifest entry."""
    dest = PROJECT_DIR / asset["dest"]
    expected: Optional[str] = asset.get("checksum")
    url: Optional[str] = asset.get("url")
    if "git" in asset:
        raise UserError("git assets are not supported by 'fetch'; use `weasel assets`", dest)
    if dest.is_file() and expected and md5_file(dest) == expected:
        msg.good(f"Verified {dest}")
        return manifest_entry(asset, expected)
    if not url:
        if not dest.is_file():
            raise UserError("missing asset; project.yml gives no URL for it, so add the "
                            "file yourself", dest)
        actual = md5_file(dest)
        if expected:
            raise UserError(f"MD5 is {actual} but project.yml expects {expected}; if you "
                            "changed the file on purpose, update its checksum in project.yml to "
                            f"\"{actual}\"", dest)
        msg.warn(f"No checksum in project.yml for {dest} (MD5 {actual})")
        return manifest_entry(asset, actual)
    with atomic_output(dest) as tmp:
        msg.info(f"Fetching {url}")
        download(url, tmp)
        actual = md5_file(tmp)
        if expected and actual != expected:
            kept = "the existing file was left unchanged" if dest.exists() else "nothing was saved"
            raise UserError(f"checksum mismatch: {url} has MD5 {actual}, project.yml expects "
                            f"{expected}; {kept}", dest)
    msg.good(f"Downloaded {dest}" + ("" if expected else f" (no checksum in project.yml; MD5 {actual})"))
    return manifest_entry(asset, actual)


def manifest_entry(asset: Dict[str, Any], md5: str) -> Dict[str, Any]:
    """A declared asset as the manifest lists it: path, MD5 and, where project.yml
    gives one, its licence (the package step takes the pipeline's licence from it)."""
    entry = {"dest": asset["dest"], "md5": md5}
    if asset.get("license"):
        entry["license"] = asset["license"]
    return entry


@exit_on_user_error
def main(
    # fmt: off
    dataset_dir: Path = typer.Argument(..., help="Dataset folder, e.g. assets/sample"),
    manifest: Path = typer.Argument(..., help="Where to write the JSON list of data files"),
    mirror: str = typer.Option(..., help="Base URL or folder that stands in for the assets' public host"),
    # fmt: on
) -> None:
    check_plain_path(dataset_dir, "dataset")
    assets = dataset_assets(load_assets(PROJECT_DIR, mirror), dataset_dir)
    entries = [fetch_asset(asset) for asset in assets]
    if not dataset_dir.is_dir():
        raise UserError("dataset folder not found and project.yml defines no assets for it "
                        "(check the 'dataset' var)", dataset_dir)
    declared = {Path(e["dest"]).as_posix() for e in entries}
    for path in sorted(p for p in dataset_dir.rglob("*") if p.is_file()):
        if path.as_posix() not in declared and not path.name.startswith("."):
            entries.append({"dest": path.as_posix(), "md5": md5_path(path), "declared": False})
    write_json(manifest, {"dataset_dir": dataset_dir.as_posix(), "files": entries})
    msg.good(f"{len(assets)} declared asset(s) verified; manifest saved to {manifest}")


if __name__ == "__main__":
    typer.run(main)
