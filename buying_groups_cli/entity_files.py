"""Read the files commands are given: configuration entities from YAML or JSON (and why
one is invalid), and the ``--encoding`` option of every command that reads a file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from buying_groups.input_files import InputFileError, open_text, shorten

if TYPE_CHECKING:  # imported by every command: pydantic and yaml only where used
    from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")

EncodingOpt = Annotated[
    str | None,
    typer.Option(
        help="The file's encoding, e.g. cp1252 [default: UTF-8, or its byte-order mark's]."
    ),
]


class EntityFileError(Exception):
    """A file that cannot be read or parsed (not a validation error of its content).

    The message does not repeat the path: the command prefixes it.
    """


def read_mapping(path: Path, encoding: str | None = None) -> dict[str, Any]:
    """The object held by a .yaml/.yml/.json file.

    Raises:
        InputFileError: the file is missing, undecodable (see ``open_text``) or unparsable.
        EntityFileError: it holds something other than an object.
    """
    with open_text(path, encoding) as handle:
        text = handle.read()
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, f"not valid JSON: {exc.msg}", exc.lineno) from None
    else:
        data = _load_yaml(path, text)
    if not isinstance(data, dict):
        shown = shorten(repr(data))
        raise EntityFileError(f"expected an object (a mapping of fields), not {shown}")
    return data


def _load_yaml(path: Path, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        line = mark.line + 1 if mark is not None else None
        raise InputFileError(path, f"not valid YAML: {problem}", line) from None


def read_entity(path: Path, model: type[M], encoding: str | None = None) -> M:
    """Validate the file's object as ``model``; a ValidationError lists every bad field."""
    return model.model_validate(read_mapping(path, encoding))


def describe_validation_error(error: ValidationError, data: Any = None) -> str:
    """One line per problem: the field path (naming the entity when known) and the reason."""
    lines = [f"{error.title} is invalid:"]
    for problem in error.errors():
        location = field_path(problem["loc"], data)
        reason = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {location or '(document)'}: {reason}")
    return "\n".join(lines)


def field_path(location: Sequence[int | str], data: Any = None) -> str:
    """``("cards", 0, "role")`` -> ``cards[0].role``; list items are named when they have one."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
            name = _item_name(data, part)
            path += f" ({name!r})" if name else ""
        else:
            path += f".{part}" if path else str(part)
        data = _child(data, part)
    return path


def _child(data: Any, part: int | str) -> Any:
    if isinstance(data, Mapping):
        return data.get(part)
    if isinstance(data, list) and isinstance(part, int) and part < len(data):
        return data[part]
    return None


def _item_name(data: Any, index: int) -> str | None:
    item = _child(data, index)
    name = item.get("name") if isinstance(item, Mapping) else None
    return name if isinstance(name, str) else None
