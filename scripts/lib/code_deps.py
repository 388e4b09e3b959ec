"""The code deps of a weasel project's commands, computed from imports, and
written into its project.yml by the document step.

A command that runs `python -m scripts.train` (or `bench.configs` in the
benchmark project) depends on that module, every module it imports from this
package, and every step it starts through `runs.step_command("name", ...)`,
transitively. A package's `__init__.py` runs before its modules: it is a dep
where it holds code, not only a docstring. The data deps of each command stay as
they are written; the code deps after them are regenerated, so splitting a
module is one command.
"""

import ast
import os
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import srsly

from .errors import UserError

# Packages whose modules are code deps, and the folder each lives in
# (relative to the folder holding this package).
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
PACKAGES = {"scripts": PACKAGE_PARENT, "bench": PACKAGE_PARENT / "benchmarks"}
LINE_WIDTH = 120
DEPS_INDENT = "    "


def module_path(dotted: str) -> Optional[Path]:
    root = PACKAGES.get(dotted.split(".", 1)[0])
    return root / (dotted.replace(".", "/") + ".py") if root else None


def local_imports(path: Path, seen: Optional[Set[Path]] = None) -> Set[Path]:
    """The module and every module of PACKAGES it imports or starts, transitively."""
    seen = set() if seen is None else seen
    if path in seen or not path.is_file():
        return seen
    seen.add(path)
    for module in (*direct_imports(path, path.stat().st_mtime_ns), *package_inits(path)):
        local_imports(module, seen)
    return seen


def package_inits(path: Path) -> Tuple[Path, ...]:
    """The `__init__.py` files Python runs before the module at `path`: those of
    its package and every package above it within PACKAGES."""
    inits: List[Path] = []
    folder = path.parent
    while any(root in folder.parents for root in PACKAGES.values()) and (folder / "__init__.py").is_file():
        inits.append(folder / "__init__.py")
        folder = folder.parent
    return tuple(inits)


def runs_code(path: Path) -> bool:
    """Whether a module holds statements other than its docstring."""
    body = ast.parse(path.read_text(encoding="utf8")).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


@lru_cache(maxsize=None)
def direct_imports(path: Path, mtime_ns: int) -> Tuple[Path, ...]:
    """The modules of PACKAGES that `path` imports or starts itself: each file is
    parsed once per version (`mtime_ns`), however many commands reach it."""
    tree = ast.parse(path.read_text(encoding="utf8"))
    # Imports only for type checkers do not run, so they are no dependency.
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                 for n in ast.walk(block)}
    found: List[Path] = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
                target: Optional[Path] = base / (node.module or "").replace(".", "/")
            else:
                target = module_path(node.module or "")
                target = target.with_suffix("") if target else None
            if target is not None:
                # `from .lib.x import name` names a module; `from .lib import x`, a module in a package.
                found += [target.with_suffix(".py"), *(target / f"{alias.name}.py" for alias in node.names)]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) \
                == "step_command" and node.args and isinstance(node.args[0], ast.Constant):
            found.append(PACKAGE_PARENT / "scripts" / f"{node.args[0].value}.py")
    return tuple(found)


def command_modules(command: Dict, project_dir: Path) -> List[str]:
    """The code deps of a command, as paths relative to its project."""
    used: Set[Path] = set()
    for line in command.get("script", []):
        tokens = shlex.split(line)
        for i, token in enumerate(tokens[:-1]):
            path = module_path(tokens[i + 1]) if token == "-m" else None
            if path is not None:
                used |= local_imports(path)
    files = {Path(os.path.relpath(p, project_dir)).as_posix() for p in used
             if p.name != "__init__.py" or runs_code(p)}
    return sorted(files, key=lambda name: (name.count("/"), name))


def is_code(dep: str) -> bool:
    return bool(re.match(r"(\.\./)*(scripts|bench)/.*\.py$", dep))


def flow_lines(items: Iterable[str], first_prefix: str, indent: str) -> List[str]:
    """Quoted items wrapped at LINE_WIDTH, the first line after `first_prefix`."""
    lines, current = [], first_prefix
    for item in items:
        quoted = f'"{item}", '
        if len(current) + len(quoted) > LINE_WIDTH and current.strip() not in ("", first_prefix.strip()):
            lines.append(current.rstrip())
            current = indent
        current += quoted
    lines.append(current.rstrip())
    return lines


def deps_block(data: List[str], code: List[str]) -> List[str]:
    """`deps:` as a flow sequence: the data deps, then (from a new line) the code."""
    indent = DEPS_INDENT + "  "
    lines = flow_lines(data, DEPS_INDENT + "deps: [", indent) if data else [DEPS_INDENT + "deps: ["]
    if code:
        more = flow_lines(code, indent if data else lines.pop(), indent)
        lines.extend(more)
    lines[-1] = lines[-1].rstrip(", ") + "]"
    return lines


def with_generated_deps(project_yml: Path) -> str:
    """project.yml's text with each command's deps block rewritten: its data deps
    as written, then its code deps as its imports say."""
    project_dir = project_yml.parent
    commands = {c["name"]: c for c in srsly.read_yaml(project_yml).get("commands", [])}
    lines = project_yml.read_text(encoding="utf8").splitlines()
    out: List[str] = []
    name: Optional[str] = None
    i = 0
    while i < len(lines):
        line = lines[i]
        found = re.match(r'  - name: "?([\w-]+)"?', line)
        if found:
            name = found.group(1)
        if name and line.startswith(DEPS_INDENT + "deps:"):
            end = i + 1
            while end < len(lines) and (lines[end].startswith(DEPS_INDENT + "  ")
                                        or lines[end].startswith(DEPS_INDENT + "- ")):
                end += 1
            command = commands[name]
            data = [dep for dep in command.get("deps", []) if not is_code(dep)]
            out.extend(deps_block(data, command_modules(command, project_dir)))
            i = end
            continue
        out.append(line)
        i += 1
    missing = [c for c, command in commands.items()
               if command_modules(command, project_dir) and "deps" not in command]
    if missing:
        raise UserError(f"commands without a deps key: {', '.join(missing)} (add `deps: []`)", project_yml)
    return "\n".join(out) + "\n"
