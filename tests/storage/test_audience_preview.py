"""Audience previews count what a job would select and show the first accounts by id."""

from __future__ import annotations

import pytest
from group_factories import add_account
from sqlalchemy import Engine

from buying_groups.domain.errors import NotFoundError
from buying_groups.domain.solution_interests import AccountAudience
from buying_groups.storage.audience_preview import preview_audience
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work


def _audience(engine: Engine, **values: object) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        add_account(session, "ACME", revenue=5e6, employees=900, products_owned=["Secure Edge"])
        add_account(session, "ACME-EU", parent="ACME", revenue=1e6, industry="Software")
        add_account(session, "ACME-DE", parent="ACME-EU", revenue=2e5)
        add_account(session, "BETA", revenue=3e6, industry="software", products_owned=["data"])
        add_account(session, "GAMMA", revenue=None, industry="Retail")
        ConfigurationRepository(session).create_audience(
            AccountAudience.model_validate({"name": "A", **values})
        )


def _preview(engine: Engine, limit: int = 10) -> tuple[int, list[str], list[str]]:
    with make_session_factory(engine)() as session:
        preview = preview_audience(session, "A", limit)
        selected = ConfigurationRepository(session).audience_accounts("A")
    return preview.total, [a.external_id for a in preview.accounts], sorted(selected)


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ({"account_external_ids": ["BETA", "NOPE", "ACME", "BETA"]}, ["ACME", "BETA"]),
        ({"kind": "filter", "filter": {"revenue_gte": 1e6}}, ["ACME", "ACME-EU", "BETA"]),
        ({"kind": "filter", "filter": {"revenue_lte": 1e6}}, ["ACME-DE", "ACME-EU"]),
        ({"kind": "filter", "filter": {"industries": ["SOFTWARE"]}}, ["ACME-EU", "BETA"]),
        ({"kind": "filter", "filter": {"products_owned_any": ["secure edge"]}}, ["ACME"]),
        (
            {"kind": "filter", "filter": {"products_owned_none": ["Data"], "revenue_gte": 1}},
            ["ACME", "ACME-DE", "ACME-EU"],
        ),
        (
            {"kind": "filter", "filter": {"employees_gte": 500, "include_children": True}},
            ["ACME", "ACME-DE", "ACME-EU"],
        ),
    ],
)
def test_preview_agrees_with_the_job_selection(
    engine: Engine, audience: dict[str, object], expected: list[str]
) -> None:
    _audience(engine, **audience)
    total, first, selected = _preview(engine)
    assert (total, first) == (len(expected), expected)
    assert selected == expected


def test_preview_shows_only_the_first_accounts(engine: Engine) -> None:
    _audience(engine, kind="filter", filter={"revenue_gte": 0})
    total, first, _ = _preview(engine, limit=2)
    assert (total, first) == (4, ["ACME", "ACME-DE"])


def test_preview_of_an_unknown_audience(engine: Engine) -> None:
    with make_session_factory(engine)() as session, pytest.raises(NotFoundError, match="'Z'"):
        preview_audience(session, "Z")
