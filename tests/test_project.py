"""Static checks of project.yml, the scripts package and the README."""

import ast
import re
import shlex
from pathlib import Path
from typing import Dict, List, Set

import pytest
import srsly
from weasel.util import substitute_project_variables

from scripts.document import VARS_END, VARS_START, WEASEL_END, WEASEL_START
from scripts.lib.files import md5_file

from .conftest import ROOT, run

PROJECT = srsly.read_yaml(ROOT / "project.yml")
# Commands as weasel runs them: vars substituted with their defaults.
COMMANDS: Dict[str, dict] = {c["name"]: c for c in substitute_project_variables(dict(PROJECT))["commands"]}


def local_imports(module_path: Path, seen: Set[Path] = None) -> Set[Path]:
    """The module and every scripts/ module it imports or runs (a "scripts.x" string
    passed to `python -m`), transitively."""
    seen = set() if seen is None else seen
    if module_path in seen:
        return seen
    seen.add(module_path)
    tree = ast.parse(module_path.read_text(encoding="utf8"))
    # Imports only for type checkers do not run, so they are no dependency.
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                 for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            local_imports(module_path.parent / f"{node.module.replace('.', '/')}.py", seen)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scripts."):
            local_imports(ROOT / f"{node.module.replace('.', '/')}.py", seen)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and re.fullmatch(r"scripts\.\w+", node.value):
            local_imports(ROOT / f"{node.value.replace('.', '/')}.py", seen)
    return seen


def script_tokens(command: dict) -> List[List[str]]:
    return [shlex.split(line) for line in command.get("script", [])]


def missing_deps(command: dict) -> List[str]:
    """Modules (with their scripts/ imports) and configs a command uses but does not declare."""
    deps = set(command.get("deps", []))
    outputs = set(command.get("outputs", []))
    missing = []
    for tokens in script_tokens(command):
        for i, token in enumerate(tokens):
            if token == "-m" and tokens[i + 1].startswith("scripts."):
                module = ROOT / (tokens[i + 1].replace(".", "/") + ".py")
                used = {p.relative_to(ROOT).as_posix() for p in local_imports(module)}
                missing += sorted(used - deps - {"scripts/__init__.py"})
            elif token.endswith(".cfg") and not token.startswith("training/"):
                path = token.partition("=")[2] or token  # `--extra NAME=PATH` names a config too
                if path not in deps | outputs:
                    missing.append(path)
    return missing


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_module_and_config_a_command_uses_is_in_its_deps(name: str) -> None:
    assert missing_deps(COMMANDS[name]) == []


def test_deps_check_fails_when_a_dep_is_missing() -> None:
    train = dict(COMMANDS["train"], deps=[d for d in COMMANDS["train"]["deps"]
                                          if d != "scripts/lib/train_logger.py"])
    assert missing_deps(train) == ["scripts/lib/train_logger.py"]
    tuned = dict(COMMANDS["benchmark-tuned"], deps=[d for d in COMMANDS["benchmark-tuned"]["deps"]
                                                    if d != "configs/optimize/tuned.cfg"])
    assert missing_deps(tuned) == ["configs/optimize/tuned.cfg"]
    bench = dict(COMMANDS["benchmark-configs"], deps=[d for d in COMMANDS["benchmark-configs"]["deps"]
                                              if d != "scripts/evaluate.py"])
    assert missing_deps(bench) == ["scripts/evaluate.py"]  # run as a subprocess, still a dep
    config = dict(COMMANDS["create-config"], deps=["scripts/create_config.py", "scripts/lib/configs.py",
                                                   "scripts/lib/errors.py", "scripts/lib/files.py",
                                                   "scripts/lib/pretrained.py"])
    assert missing_deps(config) == ["configs/base.cfg", "configs/architecture/cnn.cfg",
                                    "configs/optimize/efficiency.cfg"]


def used_modules(command: dict) -> Set[str]:
    used: Set[Path] = set()
    for tokens in script_tokens(command):
        for i, token in enumerate(tokens):
            if token == "-m" and tokens[i + 1].startswith("scripts."):
                used |= local_imports(ROOT / (tokens[i + 1].replace(".", "/") + ".py"))
    return {p.relative_to(ROOT).as_posix() for p in used}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_deps_list_no_module_the_command_does_not_use(name: str) -> None:
    """A module in deps that the command never imports would rerun it for nothing
    (a table format change must not retrain the model)."""
    declared = {d for d in COMMANDS[name].get("deps", []) if d.startswith("scripts/")}
    assert declared - used_modules(COMMANDS[name]) == set()


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
    for var in ("max_epochs", "max_steps", "eval_frequency", "patience"):
        users = [c["name"] for c in PROJECT["commands"]
                 if any(f"${{vars.{var}}}" in line for line in c.get("script", []))]
        assert users == ["create-config"], (var, users)
    for step in ("train", "train_seeds", "benchmark"):
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
    pytest_runs = [line for line in (ROOT / ".ci/run").read_text().splitlines()
                   if line.startswith("python -m pytest")]
    # The README's command, then the transformer tests once their requirements are in.
    assert pytest_runs == [commands[1], f"{commands[1]} -m transformer"]


def test_readme_headline_quotes_the_committed_default_budget_tables() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    # Any line wrapping: the words, not the spaces between them, are the headline.
    headline = re.search(r"`cnn`\s+(\S+)\s+on\s+LeNER-Br\s+\(stock\s+spaCy\s+(\S+)\),\s+(\S+)\s+on\s+"
                         r"CoNLL-2003\s+\((\S+)\);\s+`spancat`\s+(\S+)\s+on\s+CoNLL-2003,\s+"
                         r"`cnn_large`\s+(\S+)\s+on\s+LeNER-Br", readme)
    assert headline, "the README's test-F1 headline moved or changed its wording"
    quoted = [float(figure) for figure in headline.groups()]
    tables = [srsly.read_json(ROOT / "benchmarks" / name / "results.json") for name in ("lener_br", "conll2003")]
    measured = [round(100 * table["summary"][system]["f"]["mean"], 2)
                for table in tables for system in ("template", "stock-efficiency")]
    architectures = [tables[1]["summary"]["spancat"], tables[0]["summary"]["cnn_large"]]
    assert quoted == [*measured, *(round(100 * values["f"]["mean"], 2) for values in architectures)]
    assert all(len(values["seeds"]) == 3 for values in architectures)
    assert all(table["budget"]["max_steps"] == PROJECT["vars"]["max_steps"] and
               table["budget"]["patience"] == PROJECT["vars"]["patience"] and
               len(table["summary"]["template"]["seeds"]) == 3 for table in tables)


@pytest.mark.parametrize("path", sorted((ROOT / "scripts").rglob("*.py")), ids=lambda p: p.name)
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


def test_make_sample_rebuilds_the_shipped_sample_byte_for_byte(tmp_path: Path) -> None:
    asset = next(a for a in PROJECT["assets"] if a["dest"] == "assets/sample/ner_pt.jsonl")
    out = tmp_path / "ner_pt.jsonl"
    run(["python", "assets/make_sample.py", str(out)], ROOT, check=True)
    assert md5_file(out) == asset["checksum"]
