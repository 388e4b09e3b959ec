"""Settings files under configs/ (annotate.yml, serve.yml, monitor.yml,
tune.yml, vectors.yml, distill.yml): a YAML mapping whose keys are exactly the ones a step expects, each
a number at least its minimum or one of its choices.
The file is the only owner of those values: the step that reads it has no
defaults of its own, and a missing, unknown or wrong key stops it, named."""

from pathlib import Path
from typing import Any, Dict, Tuple, Type, Union

import srsly

from .errors import UserError

Value = Union[int, float, str]
# key -> (int or float, smallest allowed value), (str, allowed values) or (str, None): any text
Spec = Dict[str, Tuple[Type, Any]]


def read_settings(path: Path, spec: Spec) -> Dict[str, Any]:
    if not path.is_file():
        raise UserError("settings file not found", path)
    try:
        data = srsly.read_yaml(path)
    except Exception as err:  # ruamel's errors carry the line
        raise UserError(f"not valid YAML: {err}", path) from None
    if not isinstance(data, dict):
        raise UserError(f"expected a mapping of {', '.join(spec)}", path)
    missing, unknown = sorted(set(spec) - set(data)), sorted(set(data) - set(spec))
    if missing or unknown:
        raise UserError("; ".join(filter(None, [missing and f"missing: {', '.join(missing)}",
                                                unknown and f"unknown: {', '.join(unknown)}"])), path)
    settings: Dict[str, Value] = {}
    for key, (kind, minimum) in spec.items():
        value = data[key]
        if kind is str and minimum is None:  # any text, e.g. a path
            if not isinstance(value, str):
                raise UserError(f"{key}: expected text, got {value!r}", path)
            settings[key] = value
            continue
        if kind is str:
            if value not in minimum:
                raise UserError(f"{key}: expected one of {', '.join(minimum)}, got {value!r}", path)
            settings[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or (kind is int and not float(value).is_integer()):
            raise UserError(f"{key}: expected {'an integer' if kind is int else 'a number'}, got {value!r}", path)
        if value < minimum:
            raise UserError(f"{key}: must be at least {minimum}, got {value}", path)
        settings[key] = kind(value)
    return settings
