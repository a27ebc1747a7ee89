"""A bot described in a file: `tweetbots train --config bot.yaml` (or `bot.toml`).

The file holds a `BotSpec`'s fields (name, sources, base_model, tokenize, train, evaluate,
publish), checked by the same pydantic model as the UI's form. Values given on the command
line override the file's, field by field. Paths in it (`archive:PATH`, `file://DIR`) are
read like the command line's: relative to the working directory.

    name: maya_bakes
    sources: ["archive:exports/maya.zip"]
    train: {epochs: 2, batch_size: 8}
    publish: {target: "file:///srv/bots"}
"""

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tweetbots.config import BotSpec

_FORMATS = {".yaml": "YAML", ".yml": "YAML", ".toml": "TOML"}


class BotFileError(ValueError):
    """A bot file that cannot be used: one line naming the file, the field and the fix."""


def read_bot_file(
    path: Path,
    overrides: dict[str, Any] | None = None,
    default_name: Callable[[list[str]], str] | None = None,
    override_names: dict[str, str] | None = None,
) -> BotSpec:
    """The bot a file describes, `overrides` (nested like the file) taking precedence.

    Without a name in either, `default_name(sources)` names it (the CLI: the handles).
    `override_names` says how the caller calls an overriding field (`publish.target`:
    `--target`), for the error when its value is bad.
    """
    overrides = overrides or {}
    fields = _merged(load_bot_file(path), overrides)
    if "name" not in fields and default_name and isinstance(fields.get("sources"), list):
        fields["name"] = default_name(fields["sources"])
    try:
        return BotSpec.model_validate(fields)
    except ValidationError as error:
        problem = _first_problem(error, path, overrides, override_names or {})
        raise BotFileError(problem) from None


def load_bot_file(path: Path) -> dict[str, Any]:
    """A bot file's fields as written, not yet validated; one line for what cannot be read."""
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BotFileError(f"bot file {path}: use a .yaml, .yml or .toml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise BotFileError(f"bot file {path} cannot be read ({reason}): check the path") from None
    fields = _parsed(text, kind, path)
    if fields is None:  # YAML's empty document
        raise BotFileError(f"bot file {path} is empty: write the bot's fields (name, sources, ...)")
    if not isinstance(fields, dict):
        raise BotFileError(
            f"bot file {path} holds a {type(fields).__name__}, not the fields of a bot "
            "(name, sources, base_model, train, ...): write them as a mapping"
        )
    return fields


def _parsed(text: str, kind: str, path: Path) -> Any:
    try:
        return yaml.safe_load(text) if kind == "YAML" else tomllib.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BotFileError(
            f"bot file {path} is not valid {kind} ({' '.join(problem.split())}{where}): "
            "fix its syntax"
        ) from None


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` on top: nested mappings merged, anything else replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _first_problem(
    error: ValidationError, path: Path, overrides: dict[str, Any], names: dict[str, str]
) -> str:
    """The first invalid field, named as written, and where its value came from."""
    problem = error.errors()[0]
    location = [str(part) for part in problem["loc"]]
    field = ".".join(location) or "the bot"
    message = " ".join(problem["msg"].removeprefix("Value error, ").split())
    if _given_in(overrides, location):
        return f"{_caller_name(location, names) or field} (over {path}): {message}"
    if problem["type"] == "missing":
        return f"bot file {path}: {field} is missing; add it to the file"
    return f"bot file {path}: {field}: {message}; fix {field} in the file"


def _caller_name(location: list[str], names: dict[str, str]) -> str | None:
    """The caller's name of the field at `location` or of the nearest one holding it
    (`sources.1` is `--source`)."""
    for end in range(len(location), 0, -1):
        name = names.get(".".join(location[:end]))
        if name:
            return name
    return None


def _given_in(overrides: dict[str, Any], location: list[str]) -> bool:
    """Whether the value at `location` came from `overrides` (a list replaces a whole list)."""
    node: Any = overrides
    for part in location:
        if not isinstance(node, dict):
            return True
        if part not in node:
            return False
        node = node[part]
    return bool(location)
