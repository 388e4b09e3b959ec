"""The settings files under configs/: each matches what its step reads, and a
wrong one stops the step with the file and the key named."""

import importlib
from pathlib import Path

import pytest

from scripts.lib.errors import UserError
from scripts.lib.settings import read_settings

from .conftest import ROOT, run, settings_file, workflow_options

# Settings file -> the step that reads it (its module's spec of the keys).
OWNERS = {"annotate": ("scripts.annotate", "SETTINGS"), "serve": ("scripts.serve", "SETTINGS"),
          "monitor": ("scripts.monitor", "THRESHOLDS"), "tune": ("scripts.tune", "SETTINGS"),
          "vectors": ("scripts.train_vectors", "SETTINGS"), "distill": ("scripts.distill", "SETTINGS")}


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_each_shipped_settings_file_is_what_its_step_reads(name: str) -> None:
    module, spec = OWNERS[name]
    settings = read_settings(ROOT / "configs" / f"{name}.yml", getattr(importlib.import_module(module), spec))
    assert settings and all(isinstance(value, (int, float, str)) for value in settings.values())


@pytest.mark.parametrize("overrides, cause", [
    ({"workers": 0}, "workers: must be at least 1, got 0"),
    ({"max_texts": 2.5}, "max_texts: expected an integer, got 2.5"),
    ({"grace_seconds": "soon"}, "grace_seconds: expected a number, got 'soon'"),
    ({"max_textz": 3}, "unknown: max_textz"),
])
def test_a_wrong_settings_file_is_named_with_its_key(tmp_path: Path, overrides: dict, cause: str) -> None:
    from scripts.serve import SETTINGS

    path = settings_file("serve", tmp_path, **overrides)
    with pytest.raises(UserError, match=cause.replace("(", r"\(").replace(")", r"\)")) as raised:
        read_settings(path, SETTINGS)
    assert str(path) in str(raised.value)


def test_a_missing_key_and_a_bad_choice_stop_annotate_in_one_line(tmp_path: Path) -> None:
    from scripts.annotate import SETTINGS

    path = tmp_path / "annotate.yml"
    path.write_text("batch_size: 8\nn_process: 1\non_bad_input: ignore\n", encoding="utf8")
    with pytest.raises(UserError, match="missing: shard_size"):
        read_settings(path, SETTINGS)
    bad_choice = settings_file("annotate", tmp_path / "s", on_bad_input="ignore")
    result = run(["python", "-m", "scripts.annotate", "model", "in.txt", str(tmp_path / "out"),
                  *workflow_options("annotate", settings=bad_choice)], ROOT)
    assert result.returncode == 1 and "on_bad_input: expected one of skip, stop, got 'ignore'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_free_text_setting_takes_text_only(tmp_path: Path) -> None:
    from scripts.distill import SETTINGS

    assert read_settings(settings_file("distill", tmp_path, teacher="training/x-seeds"), SETTINGS)["teacher"] == \
        "training/x-seeds"
    with pytest.raises(UserError, match="teacher: expected text, got 3"):
        read_settings(settings_file("distill", tmp_path / "bad", teacher=3), SETTINGS)
