"""`buying-groups api-keys ...`: create, list and revoke API keys."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from buying_groups.domain.errors import DomainError
from buying_groups_cli.output import fail, print_json, print_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(help="API keys (stored hashed; the secret is shown once).", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _sessions() -> sessionmaker[Session]:
    """The configured database's sessions (storage loads when a command runs, not at start)."""
    from buying_groups.settings import get_settings
    from buying_groups.storage.database import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().database_url))


@app.command("create")
def create(
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin.")] = "read",
    name: Annotated[str, typer.Option(help="What the key is for.")] = "api-key",
    if_none: Annotated[
        bool, typer.Option("--if-none", help="Only if no active key exists yet.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print its secret once."""
    from buying_groups.storage.api_key_repository import ApiKeyRepository
    from buying_groups.storage.database import unit_of_work

    factory = _sessions()
    try:
        with unit_of_work(factory) as session:
            repository = ApiKeyRepository(session)
            if if_none and repository.count_active():
                typer.echo("an active API key exists already; none created")
                return
            plaintext, info = repository.create(name, scopes.split(","))
    except DomainError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(asdict(info) | {"key": plaintext})
        return
    typer.echo(f"API key {info.name!r} ({', '.join(info.scopes)}), shown only now:\n{plaintext}")


@app.command("list")
def list_keys(as_json: JsonOpt = False) -> None:
    """List keys (prefix, name, scopes; never the secret)."""
    from buying_groups.storage.api_key_repository import ApiKeyRepository

    with _sessions()() as session:
        keys = ApiKeyRepository(session).list()
    if as_json:
        print_json([asdict(k) for k in keys])
        return
    rows = [(k.prefix, k.name, ",".join(k.scopes), k.created_at, k.revoked_at) for k in keys]
    print_table("API keys", ("prefix", "name", "scopes", "created", "revoked"), rows)


@app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    from buying_groups.storage.api_key_repository import ApiKeyRepository
    from buying_groups.storage.database import unit_of_work

    factory = _sessions()
    try:
        with unit_of_work(factory) as session:
            info = ApiKeyRepository(session).revoke(prefix)
    except DomainError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"revoked {info.prefix} ({info.name})")
