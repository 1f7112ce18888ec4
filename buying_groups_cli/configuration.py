"""Configuration commands: apply a document; create, list and show templates, interests,
audiences and stage models (each FILE holds one entity as YAML or JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from buying_groups.domain.errors import DomainError
from buying_groups_cli.entity_files import (
    EncodingOpt,
    describe_validation_error,
    read_entity,
    read_mapping,
)
from buying_groups_cli.output import print_json, print_table
from buying_groups_cli.sessions import (
    describe,
    fail_plainly,
    reading,
    reported_errors,
    writing,
)

if TYPE_CHECKING:  # the domain models and storage load when a command runs, not at start
    from pydantic import BaseModel
    from sqlalchemy.orm import Session

    from buying_groups.domain.solution_interests import AccountAudience
    from buying_groups.storage.configuration_document import ConfigurationDocument
    from buying_groups.storage.configuration_repository import ConfigurationRepository

M = TypeVar("M", bound="BaseModel")

config_app = typer.Typer(help="The whole configuration at once.", no_args_is_help=True)
templates_app = typer.Typer(help="Role templates (draft -> live).", no_args_is_help=True)
interests_app = typer.Typer(help="Solution interests (what is sold).", no_args_is_help=True)
audiences_app = typer.Typer(help="Account audiences (static or filter).", no_args_is_help=True)
stage_models_app = typer.Typer(help="Stage models of buying groups.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
EntityFile = Annotated[Path, typer.Argument(help="One entity as .yaml/.yml/.json.", dir_okay=False)]
NameArg = Annotated[str, typer.Argument(help="The entity's name.")]


def _create(
    file: Path,
    model: type[M],
    store: Callable[[ConfigurationRepository, M], M],
    kind: str,
    encoding: str | None,
) -> M:
    """Validate the file as ``model`` and store it in one transaction."""
    with reported_errors(str(file)):
        entity = read_entity(file, model, encoding)
    with writing(f"{kind} {getattr(entity, 'name', '')!r}") as session:
        return store(_configuration(session), entity)


def _configuration(session: Session) -> ConfigurationRepository:
    from buying_groups.storage.configuration_repository import ConfigurationRepository

    return ConfigurationRepository(session)


def _print_entity(entity: BaseModel, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(entity.model_dump(mode="json"))
    else:
        typer.echo(f"{verb} {getattr(entity, 'name', '')!r}")


def _print_fields(title: str, entity: BaseModel, skip: Sequence[str] = ()) -> None:
    data = entity.model_dump(mode="json", exclude=set(skip))
    rows = [(key, _compact(value)) for key, value in data.items()]
    print_table(title, ("field", "value"), rows)


def _compact(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


# --- config apply --------------------------------------------------------------------------


@config_app.command("apply")
def config_apply(
    file: Annotated[Path, typer.Argument(help="A configuration document (.yaml or .json).")],
    as_json: JsonOpt = False,
    encoding: EncodingOpt = None,
) -> None:
    """Create every entity of a document (roles, stage models, templates, interests,
    audiences) in ONE transaction: if one entity is refused, nothing is stored."""
    from pydantic import ValidationError

    from buying_groups.storage.configuration_document import ConfigurationDocument

    with reported_errors(str(file)):
        data = read_mapping(file, encoding)
    try:
        document = ConfigurationDocument.model_validate(data)
    except ValidationError as exc:
        raise fail_plainly(f"{file}: {describe_validation_error(exc, data)}") from exc
    with writing() as session:
        counts = _apply_each(session, document)
    if as_json:
        print_json(counts)
        return
    typer.echo(
        "applied: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
    )


def _apply_each(session: Session, document: ConfigurationDocument) -> dict[str, int]:
    """Apply entity by entity (same order as ``apply_document``) so that an error names one."""
    from buying_groups.storage.configuration_document import (
        ConfigurationDocument,
        apply_document,
    )

    counts: dict[str, int] = {}
    for section in ConfigurationDocument.model_fields:
        entities = getattr(document, section)
        for index, entity in enumerate(entities):
            try:
                apply_document(session, ConfigurationDocument.model_validate({section: [entity]}))
            except DomainError as exc:
                where = f"{section}[{index}] ({entity.name!r})"
                raise fail_plainly(f"{where}: {describe(exc)}") from exc
        counts[section] = len(entities)
    return counts


# --- role templates ------------------------------------------------------------------------


@templates_app.command("create")
def templates_create(
    file: EntityFile, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Create a role template (draft unless the file says status: live)."""
    from buying_groups.domain.role_templates import RoleTemplate

    created = _create(
        file, RoleTemplate, lambda repo, e: repo.create_template(e), "role template", encoding
    )
    _print_entity(created, as_json, f"created {created.status.value} role template")


@templates_app.command("publish")
def templates_publish(name: NameArg, as_json: JsonOpt = False) -> None:
    """Make a draft live; a live template is frozen (copy it to edit)."""
    with writing() as session:
        live = _configuration(session).publish_template(name)
    _print_entity(live, as_json, "published role template")


@templates_app.command("copy")
def templates_copy(
    name: NameArg,
    new_name: Annotated[str, typer.Argument(help="Name of the draft copy.")],
    as_json: JsonOpt = False,
) -> None:
    """Copy a template into a new, editable draft."""
    with writing() as session:
        copy = _configuration(session).copy_template(name, new_name)
    _print_entity(copy, as_json, f"copied {name!r} into draft")


@templates_app.command("list")
def templates_list(as_json: JsonOpt = False) -> None:
    """List role templates by name."""
    with reading() as session:
        templates = _configuration(session).list_templates()
    if as_json:
        print_json([t.model_dump(mode="json") for t in templates])
        return
    rows = [
        (t.name, t.status.value, ", ".join(c.role for c in t.cards), t.description)
        for t in templates
    ]
    print_table("role templates", ("name", "status", "roles (priority order)", "description"), rows)


@templates_app.command("show")
def templates_show(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show a template and its role cards in priority order."""
    with reading() as session:
        template = _configuration(session).get_template(name)
    if as_json:
        print_json(template.model_dump(mode="json"))
        return
    typer.echo(f"{template.name} ({template.status.value}) {template.description}".rstrip())
    rows = [
        (
            position + 1,
            card.role,
            f"{card.weighting.name.title()} ({int(card.weighting)})",
            card.members_required,
            "yes" if card.required_for_completeness else "no",
            _compact(card.model_dump(mode="json")["conditions"]),
        )
        for position, card in enumerate(template.cards)
    ]
    columns = ("#", "role", "weighting", "members", "for completeness", "conditions")
    print_table("role cards", columns, rows)


@templates_app.command("delete")
def templates_delete(name: NameArg, as_json: JsonOpt = False) -> None:
    """Delete a draft template (live templates cannot be deleted)."""
    with writing() as session:
        _configuration(session).delete_template(name)
    _print_deleted("role template", name, as_json)


def _print_deleted(kind: str, name: str, as_json: bool) -> None:
    if as_json:
        print_json({"deleted": name})
    else:
        typer.echo(f"deleted {kind} {name!r}")


# --- solution interests --------------------------------------------------------------------


@interests_app.command("create")
def interests_create(
    file: EntityFile, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Create a solution interest (its role template must be live)."""
    from buying_groups.domain.solution_interests import SolutionInterest

    created = _create(
        file,
        SolutionInterest,
        lambda repo, e: repo.create_solution_interest(e),
        "solution interest",
        encoding,
    )
    _print_entity(created, as_json, "created solution interest")


@interests_app.command("list")
def interests_list(as_json: JsonOpt = False) -> None:
    """List solution interests by name."""
    with reading() as session:
        interests = _configuration(session).list_solution_interests()
    if as_json:
        print_json([i.model_dump(mode="json") for i in interests])
        return
    rows = [
        (i.name, i.role_template, i.stage_model, ", ".join(i.products), i.keep_up_to_date)
        for i in interests
    ]
    columns = ("name", "role template", "stage model", "products", "kept up to date")
    print_table("solution interests", columns, rows)


@interests_app.command("show")
def interests_show(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show one solution interest."""
    with reading() as session:
        interest = _configuration(session).get_solution_interest(name)
    if as_json:
        print_json(interest.model_dump(mode="json"))
    else:
        _print_fields(f"solution interest {interest.name}", interest)


@interests_app.command("delete")
def interests_delete(name: NameArg, as_json: JsonOpt = False) -> None:
    """Delete a solution interest that has no buying groups."""
    with writing() as session:
        _configuration(session).delete_solution_interest(name)
    _print_deleted("solution interest", name, as_json)


# --- account audiences ---------------------------------------------------------------------


@audiences_app.command("create")
def audiences_create(
    file: EntityFile, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Create an audience: kind static with account_external_ids, or kind filter with filter."""
    from buying_groups.domain.solution_interests import AccountAudience

    created = _create(
        file, AccountAudience, lambda repo, e: repo.create_audience(e), "account audience", encoding
    )
    _print_entity(created, as_json, f"created {created.kind.value} audience")


@audiences_app.command("list")
def audiences_list(as_json: JsonOpt = False) -> None:
    """List account audiences by name."""
    with reading() as session:
        audiences = _configuration(session).list_audiences()
    if as_json:
        print_json([a.model_dump(mode="json") for a in audiences])
        return
    rows = [(a.name, a.kind.value, _audience_content(a), a.description) for a in audiences]
    print_table("account audiences", ("name", "kind", "accounts or filter", "description"), rows)


def _audience_content(audience: AccountAudience) -> str:
    if audience.filter is not None:
        return _compact(audience.filter.model_dump(mode="json", exclude_defaults=True))
    return f"{len(audience.account_external_ids)} listed"


@audiences_app.command("show")
def audiences_show(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show one audience."""
    with reading() as session:
        audience = _configuration(session).get_audience(name)
    if as_json:
        print_json(audience.model_dump(mode="json"))
    else:
        _print_fields(f"account audience {audience.name}", audience)


@audiences_app.command("preview")
def audiences_preview(
    name: NameArg,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Show this many accounts.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate an audience now: how many accounts it selects and the first ones by id."""
    from buying_groups.storage.audience_preview import preview_audience

    with reading() as session:
        preview = preview_audience(session, name, limit)
    if as_json:
        accounts = [a.model_dump(mode="json") for a in preview.accounts]
        print_json({"name": preview.name, "total": preview.total, "accounts": accounts})
        return
    rows = [
        (a.external_id, a.name, a.industry, a.country, a.employees, a.revenue, a.parent_external_id)
        for a in preview.accounts
    ]
    columns = ("id", "name", "industry", "country", "employees", "revenue", "parent")
    print_table(f"{preview.name}: {preview.total} accounts (first {len(rows)})", columns, rows)


# --- stage models --------------------------------------------------------------------------


@stage_models_app.command("create")
def stage_models_create(
    file: EntityFile, as_json: JsonOpt = False, encoding: EncodingOpt = None
) -> None:
    """Create a stage model (entry stages, one success stage, allowed moves)."""
    from buying_groups.domain.stage_models import StageModel

    created = _create(
        file, StageModel, lambda repo, e: repo.create_stage_model(e), "stage model", encoding
    )
    _print_entity(created, as_json, "created stage model")


@stage_models_app.command("list")
def stage_models_list(as_json: JsonOpt = False) -> None:
    """List stage models by name."""
    with reading() as session:
        models = _configuration(session).list_stage_models()
    if as_json:
        print_json([m.model_dump(mode="json") for m in models])
        return
    rows = [(m.name, " / ".join(s.name for s in m.stages), m.description) for m in models]
    print_table("stage models", ("name", "stages", "description"), rows)


@stage_models_app.command("show")
def stage_models_show(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show a stage model's stages and the moves each allows."""
    with reading() as session:
        model = _configuration(session).get_stage_model(name)
    if as_json:
        print_json(model.model_dump(mode="json"))
        return
    rows = [(s.name, s.kind.value, ", ".join(s.next), s.description) for s in model.stages]
    print_table(f"stage model {model.name}", ("stage", "kind", "may move to", "description"), rows)
