"""The fetch step against a local mirror folder and a loopback HTTP server."""

import hashlib
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import ROOT, run, serve_folder, workflow_options

CONTENT = "Ana B-PER\nchegou O\n"


def make_project(tmp_path: Path, checksum: str) -> Path:
    project = tmp_path / "project"
    (project / "assets" / "toy").mkdir(parents=True)
    (project / "project.yml").write_text(f"""
vars:
  assets_mirror: "https://example.invalid"
assets:
  - dest: "assets/toy/train.conll"
    url: "${{vars.assets_mirror}}/owner/repo/abc/train.conll"
    checksum: "{checksum}"
  - dest: "assets/other/ignored.conll"
    url: "${{vars.assets_mirror}}/missing"
""")
    link_scripts(project)
    return project


def make_mirror(tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    (mirror / "owner" / "repo" / "abc").mkdir(parents=True)
    (mirror / "owner" / "repo" / "abc" / "train.conll").write_text(CONTENT)
    return mirror


def fetch(project: Path, mirror: str):
    return run(["python", "-m", "scripts.fetch", "assets/toy", "corpus/toy/assets.json",
                "--mirror", mirror], project, timeout=120)


def link_scripts(project: Path) -> None:
    """The step runs inside the toy project, as weasel runs it, with this project's code."""
    (project / "scripts").symlink_to(ROOT / "scripts")


GOOD_MD5 = hashlib.md5(CONTENT.encode()).hexdigest()


@pytest.fixture
def http_mirror(tmp_path: Path) -> Iterator[str]:
    with serve_folder(make_mirror(tmp_path)) as url:
        yield url


def test_fetch_from_local_folder_checks_md5_and_writes_manifest(tmp_path: Path) -> None:
    project = make_project(tmp_path, GOOD_MD5)
    result = fetch(project, str(make_mirror(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "assets/toy/train.conll").read_text() == CONTENT
    assert GOOD_MD5 in (project / "corpus/toy/assets.json").read_text()
    assert not (project / "assets/other").exists()  # other datasets' assets are not fetched
    again = fetch(project, "/nonexistent")  # verified file: nothing to download
    assert again.returncode == 0 and "Verified assets/toy/train.conll" in again.stdout


def test_fetch_over_loopback_http(tmp_path: Path, http_mirror: str) -> None:
    project = make_project(tmp_path, GOOD_MD5)
    result = fetch(project, http_mirror)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "assets/toy/train.conll").read_text() == CONTENT


def test_checksum_mismatch_stops_and_keeps_the_existing_file(tmp_path: Path, http_mirror: str) -> None:
    project = make_project(tmp_path, "0" * 32)
    existing = project / "assets/toy/train.conll"
    existing.write_text("a file the user already had\n")
    result = fetch(project, http_mirror)
    assert result.returncode == 1
    assert "assets/toy/train.conll: checksum mismatch" in result.stderr
    assert f"has MD5 {GOOD_MD5}, project.yml expects {'0' * 32}" in result.stderr
    assert existing.read_text() == "a file the user already had\n"
    assert not (project / "corpus/toy/assets.json").exists()
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_failed_download_is_a_clear_error(tmp_path: Path, http_mirror: str) -> None:
    project = make_project(tmp_path, GOOD_MD5)
    result = fetch(project, http_mirror + "/no-such-folder")
    assert result.returncode == 1 and "download failed from http://127.0.0.1" in result.stderr
    assert not (project / "assets/toy/train.conll").exists()


def test_local_asset_with_wrong_checksum_is_reported(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "assets" / "mine").mkdir(parents=True)
    (project / "assets/mine/data.jsonl").write_text('{"text": "x"}\n')
    (project / "project.yml").write_text(
        'assets:\n  - dest: "assets/mine/data.jsonl"\n    checksum: "' + "1" * 32 + '"\n')
    link_scripts(project)
    result = run(["python", "-m", "scripts.fetch", "assets/mine", "out.json", *workflow_options("fetch")], project)
    assert result.returncode == 1
    assert "assets/mine/data.jsonl: MD5 is" in result.stderr and "update its checksum" in result.stderr
