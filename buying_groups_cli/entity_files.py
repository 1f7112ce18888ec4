"""Read configuration entities from YAML or JSON files and explain why one is invalid."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class EntityFileError(Exception):
    """A file that cannot be read or parsed (not a validation error of its content).

    The message does not repeat the path: the command prefixes it.
    """


def read_mapping(path: Path) -> dict[str, Any]:
    """The object held by a .yaml/.yml/.json file.

    Raises:
        EntityFileError: the file is missing, unparsable or not an object.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except FileNotFoundError:
        raise EntityFileError("no such file") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise EntityFileError(f"cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise EntityFileError(f"expected an object (a mapping of fields), not {data!r}")
    return data


def read_entity(path: Path, model: type[M]) -> M:
    """Validate the file's object as ``model``; a ValidationError lists every bad field."""
    return model.model_validate(read_mapping(path))


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
