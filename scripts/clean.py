"""Remove generated outputs so the next `weasel run all` starts from scratch.

Reads: nothing. Writes: deletes each PATH given (by default corpus/, training/,
packages/ and project.lock). Downloaded and shipped assets are never touched.
"""

import shutil
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from .lib.errors import UserError, exit_on_user_error

PROTECTED = {"assets", "configs", "scripts", "tests", ".git", "project.yml", "README.md"}


@exit_on_user_error
def main(paths: List[Path] = typer.Argument(..., help="Generated files or folders to delete")) -> None:
    root = Path.cwd().resolve()
    for path in paths:
        resolved = path.resolve()
        inside = resolved != root and root in resolved.parents
        if not inside or resolved.relative_to(root).parts[0] in PROTECTED:
            raise UserError("refusing to delete: not a generated output inside the project", path)
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
            msg.good(f"Removed {path}/")
        elif path.exists():
            path.unlink()
            msg.good(f"Removed {path}")
        else:
            msg.info(f"Nothing to remove at {path}")


if __name__ == "__main__":
    typer.run(main)
