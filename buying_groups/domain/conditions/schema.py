"""The condition schema: pydantic models, value checks, parsing, serialisation and limits."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from buying_groups.domain.conditions.regex_guard import regex_problem
from buying_groups.domain.conditions.text_folding import _NO_WORDS, word_text
from buying_groups.domain.errors import InvariantError

TextAttribute = Literal[
    "job_title", "department", "country", "email_domain", "function", "seniority", "persona"
]
NumericAttribute = Literal["engagement_score", "role_probability"]
Attribute = Literal[TextAttribute, NumericAttribute]
TextOperator = Literal[
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "equals",
    "not_equals",
    "in_list",
    "matches",
]
NumericOperator = Literal["eq", "ne", "lt", "lte", "gt", "gte", "between"]
PresenceOperator = Literal["is_empty", "is_not_empty"]
Operator = Literal[TextOperator, NumericOperator, PresenceOperator]
LeafValue = str | int | float | list[str] | list[int | float] | None

TEXT_ATTRIBUTES: Final = frozenset(get_args(TextAttribute))
NUMERIC_ATTRIBUTES: Final = frozenset(get_args(NumericAttribute))
TEXT_OPERATORS: Final = frozenset(get_args(TextOperator))
NUMERIC_OPERATORS: Final = frozenset(get_args(NumericOperator))
PRESENCE_OPERATORS: Final = frozenset(get_args(PresenceOperator))
# Valid numeric ranges: scores are 0-100, model probabilities 0-1.
NUMERIC_RANGES: Final = MappingProxyType(
    {"engagement_score": (0.0, 100.0), "role_probability": (0.0, 1.0)}
)

MAX_DEPTH: Final = 8
MAX_CHILDREN: Final = 100
MAX_LIST_ITEMS: Final = 1000
MAX_TEXT_LENGTH: Final = 200
ROOT_PATH_LABEL: Final = "(root)"


# --------------------------------------------------------------------------- errors


class ConditionError(InvariantError):
    """A condition is not valid; ``errors`` lists (JSON path, reason) pairs, root path ""."""

    title = "Invalid condition"

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        self.errors: list[tuple[str, str]] = list(errors) or [("", "invalid condition")]
        message = "; ".join(f"{path or ROOT_PATH_LABEL}: {why}" for path, why in self.errors)
        super().__init__(message, field=self.errors[0][0] or None)

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> ConditionError:
        """Translate pydantic's errors into JSON paths like ``all[1].any[0].value``."""
        return cls([(format_path(err["loc"]), _reason(err)) for err in exc.errors()])


_NODE_TAGS: Final = frozenset({"<all>", "<any>", "<not>", "<leaf>"})
_PYDANTIC_REASONS: Final = MappingProxyType(
    {"missing": "required", "extra_forbidden": "unknown key"}
)


def format_path(loc: Sequence[str | int]) -> str:
    """Render a pydantic location as a JSON path, dropping the union's node tags."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _NODE_TAGS:
            path += f".{part}" if path else part
    return path


def _reason(err: Mapping[str, Any]) -> str:
    """A short reason for one pydantic error."""
    return str(_PYDANTIC_REASONS.get(err["type"], err["msg"]))


def _invalid(message: str) -> PydanticCustomError:
    """An error that pydantic reports at the field being validated."""
    # Passed as context, not as the template: a message may quote braces from user input.
    return PydanticCustomError("condition_invalid", "{reason}", {"reason": message})


# --------------------------------------------------------------------------- value checks


def _check_text(value: Any) -> str:
    """A text operand: a non-empty string with at least one letter or digit."""
    if not isinstance(value, str):
        raise _invalid("must be a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise _invalid(f"text too long ({len(value)} > {MAX_TEXT_LENGTH})")
    if word_text(value) == _NO_WORDS:
        raise _invalid("must contain at least one letter or digit")
    return value


def _check_list(value: Any) -> list[str]:
    """An ``in_list`` operand: a non-empty list of text operands."""
    if not isinstance(value, list):
        raise _invalid("must be a list of strings")
    if not value:
        raise _invalid("list must not be empty")
    if len(value) > MAX_LIST_ITEMS:
        raise _invalid(f"list too long ({len(value)} > {MAX_LIST_ITEMS})")
    for index, item in enumerate(value):
        try:
            _check_text(item)
        except PydanticCustomError as exc:
            raise _invalid(f"item {index}: {exc.message()}") from None
    return value


def _check_regex(value: Any) -> str:
    """A ``matches`` operand: a short regex without constructs that can backtrack forever."""
    if not isinstance(value, str) or not value:
        raise _invalid("must be a non-empty regex string")
    problem = regex_problem(value)
    if problem:
        raise _invalid(problem)
    return value


def _check_number(value: Any, attribute: str) -> int | float:
    """A numeric operand: a finite number inside the attribute's range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("must be a number")
    low, high = NUMERIC_RANGES[attribute]
    if not math.isfinite(value) or not low <= value <= high:
        raise _invalid(f"must be between {low:g} and {high:g}")
    return value


def _check_range(value: Any, attribute: str) -> list[int | float]:
    """A ``between`` operand: ``[low, high]`` with low <= high."""
    if not isinstance(value, list) or len(value) != 2:
        raise _invalid("must be a list [low, high]")
    low, high = (_check_number(v, attribute) for v in value)
    if low > high:
        raise _invalid(f"low {low} is greater than high {high}")
    return [low, high]


def _check_value(value: Any, attribute: str, operator: str) -> LeafValue:
    """Check ``value`` against what ``operator`` expects."""
    if operator in PRESENCE_OPERATORS:
        if value is not None:
            raise _invalid(f"{operator} takes no value")
        return None
    if value is None:
        raise _invalid(f"required for {operator}")
    if operator == "in_list":
        return _check_list(value)
    if operator == "matches":
        return _check_regex(value)
    if operator == "between":
        return _check_range(value, attribute)
    if operator in NUMERIC_OPERATORS:
        return _check_number(value, attribute)
    return _check_text(value)


# --------------------------------------------------------------------------- models


class AttributeCondition(BaseModel):
    """A leaf: one operator applied to one person attribute (``role`` for role_probability)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribute: Attribute
    operator: Operator
    role: str | None = Field(default=None, validate_default=True)
    value: LeafValue = Field(default=None, validate_default=True)

    @field_validator("operator")
    @classmethod
    def _operator_fits_attribute(cls, operator: str, info: ValidationInfo) -> str:
        """Text operators need a text attribute, numeric operators a numeric one."""
        attribute = info.data.get("attribute")
        if attribute in TEXT_ATTRIBUTES and operator in NUMERIC_OPERATORS:
            raise _invalid(f"{operator} needs a numeric attribute, {attribute} is text")
        if attribute in NUMERIC_ATTRIBUTES and operator in TEXT_OPERATORS:
            raise _invalid(f"{operator} needs a text attribute, {attribute} is numeric")
        return operator

    @field_validator("role")
    @classmethod
    def _role_only_for_probability(cls, role: str | None, info: ValidationInfo) -> str | None:
        """``role`` names the model label of role_probability and nothing else."""
        attribute = info.data.get("attribute")
        if attribute == "role_probability" and not (role and role.strip()):
            raise _invalid("required for role_probability")
        if attribute is not None and attribute != "role_probability" and role is not None:
            raise _invalid("only allowed with attribute role_probability")
        if role is not None and len(role) > MAX_TEXT_LENGTH:
            raise _invalid(f"text too long ({len(role)} > {MAX_TEXT_LENGTH})")
        return role

    @field_validator("value", mode="plain", json_schema_input_type=LeafValue)
    @classmethod
    def _value_fits_operator(cls, value: Any, info: ValidationInfo) -> LeafValue:
        """The operand's type depends on the operator."""
        attribute, operator = info.data.get("attribute"), info.data.get("operator")
        if attribute is None or operator is None:
            # The attribute or operator is already reported; the value cannot be judged.
            return None
        return _check_value(value, attribute, operator)

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Omit ``role`` and ``value`` when absent, so a dump equals the JSON it came from."""
        return {key: val for key, val in handler(self).items() if val is not None}


class _Composite(BaseModel):
    """Shared configuration of all/any/not: JSON keys are aliases of Python-friendly names."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, serialize_by_alias=True
    )

    def children(self) -> tuple[Condition, ...]:
        """The nested conditions."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _not_too_deep(self) -> _Composite:
        """Bound nesting so conditions stay readable and evaluation stays cheap."""
        if condition_depth(self) > MAX_DEPTH:
            raise _invalid(f"nesting deeper than {MAX_DEPTH} levels")
        return self


def _check_children(children: list[Condition]) -> list[Condition]:
    """An all/any needs between 1 and MAX_CHILDREN conditions."""
    if not children:
        raise _invalid("must contain at least one condition")
    if len(children) > MAX_CHILDREN:
        raise _invalid(f"too many conditions ({len(children)} > {MAX_CHILDREN})")
    return children


class AllCondition(_Composite):
    """Matches when every nested condition matches."""

    conditions: list[Condition] = Field(alias="all")

    @field_validator("conditions")
    @classmethod
    def _not_empty_nor_huge(cls, conditions: list[Condition]) -> list[Condition]:
        """Between 1 and MAX_CHILDREN conditions."""
        return _check_children(conditions)

    def children(self) -> tuple[Condition, ...]:
        """The nested conditions."""
        return tuple(self.conditions)


class AnyCondition(_Composite):
    """Matches when at least one nested condition matches."""

    conditions: list[Condition] = Field(alias="any")

    @field_validator("conditions")
    @classmethod
    def _not_empty_nor_huge(cls, conditions: list[Condition]) -> list[Condition]:
        """Between 1 and MAX_CHILDREN conditions."""
        return _check_children(conditions)

    def children(self) -> tuple[Condition, ...]:
        """The nested conditions."""
        return tuple(self.conditions)


class NotCondition(_Composite):
    """Matches when the nested condition does not."""

    condition: Condition = Field(alias="not")

    def children(self) -> tuple[Condition, ...]:
        """The nested condition."""
        return (self.condition,)


_MODEL_TAGS: Final[Mapping[type, str]] = MappingProxyType(
    {
        AllCondition: "<all>",
        AnyCondition: "<any>",
        NotCondition: "<not>",
        AttributeCondition: "<leaf>",
    }
)
_KEY_TAGS: Final = (("all", "<all>"), ("any", "<any>"), ("not", "<not>"), ("attribute", "<leaf>"))


def _node_tag(data: Any) -> str | None:
    """Which kind of node ``data`` is: by its key in JSON, by its class once parsed."""
    if isinstance(data, dict):
        return next((tag for key, tag in _KEY_TAGS if key in data), None)
    return _MODEL_TAGS.get(type(data))


Condition = Annotated[
    Annotated[AllCondition, Tag("<all>")]
    | Annotated[AnyCondition, Tag("<any>")]
    | Annotated[NotCondition, Tag("<not>")]
    | Annotated[AttributeCondition, Tag("<leaf>")],
    Discriminator(
        _node_tag,
        custom_error_type="condition_kind",
        custom_error_message="expected an object with one of the keys all, any, not, attribute",
    ),
]

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()

_CONDITION_ADAPTER: Final[TypeAdapter[Condition]] = TypeAdapter(Condition)


def condition_depth(condition: Condition | _Composite) -> int:
    """Levels of nodes in ``condition``: a lone leaf is 1, ``{"not": leaf}`` is 2."""
    if isinstance(condition, AttributeCondition):
        return 1
    return 1 + max(condition_depth(child) for child in condition.children())


def uses_patterns(condition: Condition | _Composite) -> bool:
    """Whether ``condition`` has a ``matches`` leaf (a user regex) anywhere."""
    if isinstance(condition, AttributeCondition):
        return condition.operator == "matches"
    return any(uses_patterns(child) for child in condition.children())


def _too_deep_path(data: Any) -> str | None:
    """Path of the first node nested deeper than MAX_DEPTH in raw JSON, if any.

    Checked before pydantic so that absurdly deep input fails fast with a readable path.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        if depth > MAX_DEPTH:
            return path
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                prefix = f"{path}.{key}" if path else key
                stack.extend((c, f"{prefix}[{i}]", depth + 1) for i, c in enumerate(node[key]))
        if "not" in node:
            stack.append((node["not"], f"{path}.not" if path else "not", depth + 1))
    return None


def parse_condition(data: object) -> Condition:
    """Validate JSON-like ``data`` into a condition; raise ConditionError naming bad paths."""
    too_deep = _too_deep_path(data)
    if too_deep is not None:
        raise ConditionError([(too_deep, f"nesting deeper than {MAX_DEPTH} levels")])
    try:
        return _CONDITION_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ConditionError.from_validation_error(exc) from None


def parse_condition_json(text: str | bytes) -> Condition:
    """Parse a condition from JSON text; invalid JSON is a ConditionError at the root."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConditionError([("", f"invalid JSON ({exc})")]) from None
    return parse_condition(data)


def condition_to_json(condition: Condition) -> str:
    """Serialise ``condition`` to compact JSON that parse_condition_json reads back."""
    return _CONDITION_ADAPTER.dump_json(condition).decode()
