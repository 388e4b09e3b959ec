"""Static checks of project.yml, the scripts package and the README."""

import ast
import importlib
import inspect
import re
import shlex
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import srsly
import typer
from weasel.util import substitute_project_variables

from scripts.document import VARS_END, VARS_START, WEASEL_END, WEASEL_START
from scripts.lib.files import md5_file

from .conftest import ROOT, copy_project, run

PROJECT = srsly.read_yaml(ROOT / "project.yml")
# Commands as weasel runs them: vars substituted with their defaults.
COMMANDS: Dict[str, dict] = {c["name"]: c for c in substitute_project_variables(dict(PROJECT))["commands"]}
COMMANDS_RAW: Dict[str, dict] = {c["name"]: c for c in PROJECT["commands"]}


def script_tokens(command: dict) -> List[List[str]]:
    return [shlex.split(line) for line in command.get("script", [])]


def missing_configs(command: dict) -> List[str]:
    """Configs a command names in its script but does not declare as deps."""
    known = set(command.get("deps", [])) | set(command.get("outputs", []))
    missing = []
    for tokens in script_tokens(command):
        for token in tokens:
            path = token.partition("=")[2] or token  # `--extra NAME=PATH` names a config too
            if re.search(r"\.(cfg|yml)$", path) and not path.startswith("training/") and path not in known:
                missing.append(path)
    return missing


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_config_a_command_names_is_in_its_deps(name: str) -> None:
    assert missing_configs(COMMANDS[name]) == []


def test_the_config_check_fails_when_a_config_is_missing() -> None:
    monitor = dict(COMMANDS["monitor"], deps=[d for d in COMMANDS["monitor"]["deps"] if d != "configs/monitor.yml"])
    assert missing_configs(monitor) == ["configs/monitor.yml"]
    config = dict(COMMANDS["create-config"], deps=[])
    assert missing_configs(config) == ["configs/base.cfg", "configs/architecture/cnn.cfg",
                                       "configs/optimize/efficiency.cfg"]


def test_code_deps_follow_the_imports(tmp_path: Path) -> None:
    """The document step regenerates every command's code deps: a module a step
    starts to import joins its deps, one it stops importing leaves, data deps stay."""
    project = copy_project(tmp_path / "project")
    train = project / "scripts" / "train.py"
    train.write_text(train.read_text(encoding="utf8").replace(
        "from .lib.train_logger import", "from .lib import drift  # noqa: F401\nfrom .lib.train_logger import"),
        encoding="utf8")
    text = (project / "project.yml").read_text(encoding="utf8")
    (project / "project.yml").write_text(text.replace('"scripts/lib/settings.py"', '"scripts/lib/timing.py"'),
                                         encoding="utf8")
    stale = run(["python", "-m", "scripts.document", "README.md", "--check"], project)
    assert stale.returncode == 1 and "code deps are out of date" in stale.stdout + stale.stderr
    # A package's __init__.py runs before its modules: a dep once it holds code.
    assert "scripts/__init__.py" in COMMANDS_RAW["train"]["deps"]
    assert "scripts/lib/__init__.py" not in COMMANDS_RAW["train"]["deps"]  # a docstring only
    with (project / "scripts" / "lib" / "__init__.py").open("a", encoding="utf8") as init:
        init.write("\nimport os  # noqa: F401\n")
    run(["python", "-m", "scripts.document", "README.md"], project, check=True)
    commands = {c["name"]: c for c in srsly.read_yaml(project / "project.yml")["commands"]}
    assert "scripts/lib/__init__.py" in commands["evaluate"]["deps"]
    assert "scripts/lib/drift.py" in commands["train"]["deps"]
    assert "scripts/lib/drift.py" not in commands["evaluate"]["deps"]
    assert all("scripts/lib/timing.py" not in commands[name]["deps"] for name in ("serve", "monitor"))
    assert all("scripts/lib/settings.py" in commands[name]["deps"] for name in ("serve", "monitor"))
    assert commands["train"]["deps"][:2] == COMMANDS_RAW["train"]["deps"][:2]
    assert (project / "project.yml").read_text(encoding="utf8").count("\n") > 100
    run(["python", "-m", "scripts.document", "README.md", "--check"], project, check=True)


def script_main_options(module: str) -> Dict[str, Any]:
    """A script's typer options: {"--name": default} (Ellipsis when required)."""
    main = importlib.import_module(module).main
    options = {}
    for name, parameter in inspect.signature(main).parameters.items():
        info = parameter.default
        if isinstance(info, typer.models.OptionInfo):
            declared = [d for d in (info.param_decls or ()) if d.startswith("--")]
            for flag in declared or [f"--{name.replace('_', '-')}"]:
                options[flag] = info.default
    return options


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_script_default_shadows_what_the_workflow_passes(name: str) -> None:
    """project.yml's vars are the only defaults of the workflow: an option a command
    passes is required in its script (or absent by default, None), so a direct
    call, a test or a second caller cannot silently use another value."""
    for tokens in script_tokens(COMMANDS_RAW[name]):
        if tokens[:2] != ["python", "-m"] or not tokens[2].startswith("scripts."):
            continue
        options = script_main_options(tokens[2])
        for token in tokens[3:]:
            if token.startswith("--"):
                assert token in options, f"{tokens[2]} has no option {token}"
                assert options[token] is Ellipsis or options[token] is None, \
                    f"{tokens[2]} {token} defaults to {options[token]!r}; project.yml sets it"


def test_the_shadow_check_sees_a_default() -> None:
    assert script_main_options("scripts.report")["--n-worst"] == 50
    assert script_main_options("scripts.train")["--seed"] is Ellipsis


def test_no_step_imports_another_step() -> None:
    for path in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert (node.module or "").startswith("lib"), f"{path.name} imports .{node.module}"
    for path in sorted((ROOT / "scripts" / "lib").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level != 2, f"lib/{path.name} imports a step (..{node.module})"


def test_every_tok2vec_value_of_the_base_config_reaches_the_generated_config(tmp_path: Path) -> None:
    """No overlay of the default run may pin a value the README says to edit in base.cfg."""
    from confection import Config

    from scripts.lib.configs import build_config

    overlay = ROOT / "configs" / "optimize" / f"{PROJECT['vars']['optimize']}.cfg"
    base = Config().from_disk(ROOT / "configs" / "base.cfg", interpolate=False)
    edits = 0
    sections = {"components.tok2vec.model.embed": base["components"]["tok2vec"]["model"]["embed"],
                "components.tok2vec.model.encode": base["components"]["tok2vec"]["model"]["encode"]}
    for section, values in sections.items():
        for key, value in values.items():
            if key.startswith("@") or isinstance(value, str) and value.startswith("${"):
                continue
            changed = not value if isinstance(value, bool) else (
                [v * 2 for v in value] if isinstance(value, list) and isinstance(value[0], int)
                else value[:-1] if isinstance(value, list) else value + 1)
            edited = tmp_path / f"{section}.{key}.cfg"
            edited.write_text((ROOT / "configs" / "base.cfg").read_text(encoding="utf8"), encoding="utf8")
            config = Config().from_disk(edited, interpolate=False)
            node = config
            for part in section.split("."):
                node = node[part]
            node[key] = changed
            config.to_disk(edited, interpolate=False)
            merged = build_config(edited, [overlay], "pt")
            node = merged
            for part in section.split("."):
                node = node[part]
            assert node[key] == changed, f"editing {section}.{key} in base.cfg changes nothing"
            edits += 1
    assert edits >= 6


def test_the_training_budget_is_set_in_one_place() -> None:
    """The budget vars reach the run's config through create-config only; every
    step that trains reads it from a config."""
    for var in ("max_steps", "eval_frequency", "patience"):
        users = [c["name"] for c in PROJECT["commands"]
                 if any(f"${{vars.{var}}}" in line for line in c.get("script", []))]
        assert users == ["create-config"], (var, users)
    for step in ("train", "train_seeds", "tune"):
        source = (ROOT / "scripts" / f"{step}.py").read_text(encoding="utf8")
        assert "--max-steps" not in source and "max_steps: int" not in source, step


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_commands_are_documented_and_shell_free(name: str) -> None:
    command = COMMANDS[name]
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), "command names are kebab-case"
    assert command.get("help") and "\n" not in command["help"]
    for line in command.get("script", []):
        assert not re.search(r"&&|\|\||[|;<>`]|\$\(", line), \
            f"{name}: shell syntax in {line!r} (weasel runs commands without a shell)"


def test_every_workflow_step_writes_tracked_outputs() -> None:
    for step in PROJECT["workflows"]["all"]:
        assert COMMANDS[step].get("outputs"), f"{step} has no outputs, so weasel never skips it"


def test_vars_are_snake_case() -> None:
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in PROJECT["vars"])


def test_every_asset_has_a_checksum_and_shipped_ones_match() -> None:
    for asset in PROJECT["assets"]:
        assert re.fullmatch(r"[0-9a-f]{32}", asset.get("checksum", "")), asset["dest"]
        path = ROOT / asset["dest"]
        if "url" not in asset:
            assert md5_file(path) == asset["checksum"], f"{asset['dest']} changed; update its checksum"
        else:
            assert asset.get("extra") is True, "URL assets are only fetched when selected"


def test_readme_generated_sections_are_current() -> None:
    result = run(["python", "-m", "scripts.document", "README.md", "--check"], ROOT)
    assert result.returncode == 0, result.stderr


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick_start, flags=re.S)
    assert commands == ["python -m pip install -r requirements.txt && weasel run all",
                        "python -m pytest"]
    pytest_runs = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
                   if "python -m pytest" in line and not line.lstrip().startswith("#")]
    # The README's command, then the transformer tests once their requirements are in,
    # then Label Studio's, with the command of its own virtual environment.
    assert pytest_runs == [commands[1], f"{commands[1]} -m transformer",
                           f'LABEL_STUDIO="$ls_venv/bin/label-studio" {commands[1]} -m label_studio']


@pytest.mark.parametrize("path", sorted([*(ROOT / "scripts").rglob("*.py"), *(ROOT / "benchmarks").glob("bench/*.py")]),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_script_has_a_module_docstring(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf8"))), path.name


def test_readme_stays_short() -> None:
    """Quick start, everyday use, new task, deployment and layout; the rest lives
    beside what it describes (assets/, configs/, benchmarks/ READMEs). The tables
    generated from project.yml grow with it and are not counted."""
    text = (ROOT / "README.md").read_text(encoding="utf8")
    for start, end in ((VARS_START, VARS_END), (WEASEL_START, WEASEL_END)):
        text = text[:text.index(start)] + text[text.index(end) + len(end):]
    assert len(text.splitlines()) < 125


def test_make_sample_rebuilds_the_shipped_sample_byte_for_byte(sample_data: Path) -> None:
    """The tests read the sample as make_sample.py writes it (conftest: sample_data):
    it must be the sample that ships, while the project ships one."""
    asset = next((a for a in PROJECT["assets"] if a["dest"] == "assets/sample/ner_pt.jsonl"), None)
    if asset is None:
        pytest.skip("this project no longer ships the sample")
    assert md5_file(sample_data / "ner_pt.jsonl") == asset["checksum"]


def test_make_sample_rebuilds_the_shipped_new_text_as_its_docstring_says(tmp_path: Path) -> None:
    asset = next((a for a in PROJECT["assets"] if a["dest"] == "assets/new_text/ner_pt_new.jsonl"), None)
    if asset is None:
        pytest.skip("this project no longer ships the new text")
    docstring = (ROOT / "assets" / "make_sample.py").read_text(encoding="utf8")
    command = re.search(r"`(python assets/make_sample\.py assets/new_text/\S+ [^`]*)`", docstring).group(1)
    words = shlex.split(command)
    copy = tmp_path / "new.jsonl"
    run([sys.executable, words[1], str(copy), *words[3:]], ROOT, check=True)
    assert md5_file(copy) == asset["checksum"]


def committed_markdown() -> List[Path]:
    """The project's Markdown files under version control (a user's venv or runs hold others)."""
    listed = run(["git", "ls-files", "*.md"], cwd=ROOT, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.stdout.split() if (ROOT / name).is_file()]


def test_every_relative_link_in_the_documentation_resolves() -> None:
    """Tables and READMEs move (a default table superseded, a folder renamed): a link left behind fails here.
    A project cloned for a new task may delete benchmarks/ (benchmarks/README.md): links into it are then its own."""
    deleted = [] if (ROOT / "benchmarks").is_dir() else [ROOT / "benchmarks"]
    broken = [f"{path.relative_to(ROOT)}: {target}" for path in committed_markdown()
              for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)", path.read_text(encoding="utf8"))
              if "://" not in target and not target.startswith("mailto:") and not (path.parent / target).exists()
              and not any((path.parent / target).resolve().is_relative_to(folder) for folder in deleted)]
    assert not broken
