"""A small CRM for generation-job tests: accounts, persons, a rule template and an audience."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import AccountAudience, SolutionInterest
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_engine, make_session_factory, unit_of_work
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    RoleRow,
)

INTEREST = "Secure Edge"
AUDIENCE = "Targets"
#: Per account: a chief (Decision Maker), an engineer (Practitioner), an intern (nobody).
TITLES = ("Chief Security Officer", "Security Engineer", "Sales Intern")
TEMPLATE = RoleTemplate(
    name="Security",
    status=TemplateStatus.LIVE,
    cards=(
        RoleCard(
            role="Decision Maker",
            conditions=parse_condition(
                {"attribute": "job_title", "operator": "contains", "value": "chief"}
            ),
        ),
        RoleCard(
            role="Practitioner",
            members_required=2,
            conditions=parse_condition(
                {"attribute": "job_title", "operator": "contains", "value": "engineer"}
            ),
        ),
        RoleCard(role="Champion", required_for_completeness=False),
    ),
)


def account_id(index: int) -> str:
    """External id of the ``index``-th account."""
    return f"A{index:03d}"


def person_id(account: int, index: int) -> str:
    """External id of the ``index``-th person (see TITLES) of the ``account``-th account."""
    return f"P{account:03d}-{index}"


def add_crm(engine: Engine, accounts: int = 10) -> None:
    """``accounts`` accounts of three persons each, the template, the interest, the audience."""
    with unit_of_work(make_session_factory(engine)) as session:
        for a in range(accounts):
            row = AccountRow(external_id=account_id(a), name=f"Account {a}")
            session.add(row)
            session.flush()
            session.add_all(
                PersonRow(external_id=person_id(a, i), account_id=row.id, job_title=title)
                for i, title in enumerate(TITLES)
            )
        repository = ConfigurationRepository(session)
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=INTEREST, role_template=TEMPLATE.name)
        )
        external_ids = tuple(account_id(a) for a in range(accounts))
        repository.create_audience(
            AccountAudience(name=AUDIENCE, account_external_ids=external_ids)
        )


def set_title(engine: Engine, person: str, title: str) -> None:
    """Change a person's job title (as a CRM sync would)."""
    with engine.begin() as conn:
        conn.execute(
            update(PersonRow).where(PersonRow.external_id == person).values(job_title=title)
        )


def members(engine: Engine) -> dict[str, tuple[str, str, bool]]:
    """person -> (role, source, is_removed) over all groups."""
    query = (
        select(PersonRow.external_id, RoleRow.name, MemberRow.source, MemberRow.is_removed)
        .join(PersonRow, PersonRow.id == MemberRow.person_id)
        .join(RoleRow, RoleRow.id == MemberRow.role_id)
    )
    with engine.connect() as conn:
        return {p: (r, s, bool(x)) for p, r, s, x in conn.execute(query).tuples()}


def group_accounts(engine: Engine) -> list[str]:
    """The account of every group, with repeats if an account had two."""
    query = select(AccountRow.external_id).join(
        BuyingGroupRow, BuyingGroupRow.account_id == AccountRow.id
    )
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def second_engine(engine: Engine) -> Engine:
    """Another engine (another pool, as another server process has) on the same database."""
    return make_engine(engine.url.render_as_string(hide_password=False))
