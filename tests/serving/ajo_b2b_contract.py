"""Adobe's External Actions contract (a copy in ajo_b2b_reference/): its files, and
validators of its schemas, so tests check our answers against Adobe's words, not ours."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, FormatChecker

#: A copy of Adobe's files (Apache-2.0, see LICENSE and COPYRIGHT there).
REFERENCE = Path(__file__).parent / "ajo_b2b_reference"
SPEC_PATH = REFERENCE / "ajo-b2b-external-actions.yaml"


@cache
def spec() -> dict[str, Any]:
    """The OpenAPI document."""
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def errors(schema_name: str, instance: Any) -> list[str]:
    """Why ``instance`` does not validate against the spec's schema (empty: it does)."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec()["components"]}
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def postman() -> dict[str, Any]:
    """Adobe's Postman collection."""
    loaded: dict[str, Any] = json.loads(
        (REFERENCE / "external-actions-postman.json").read_text(encoding="utf-8")
    )
    return loaded


def postman_requests(folder: str) -> list[dict[str, Any]]:
    """The requests of one folder of the collection ("Execution Requests", ...)."""
    found = next(item for item in postman()["item"] if item["name"] == folder)
    return [item["request"] for item in found["item"]]


def postman_body(request: dict[str, Any], variables: dict[str, str]) -> Any:
    """A request's body with the collection's {{variables}} replaced."""
    raw: str = request["body"]["raw"]
    for name, value in variables.items():
        raw = raw.replace("{{" + name + "}}", value)
    return json.loads(raw)
