"""The SQL unit of work and its repositories, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from job_crm import AUDIENCE, INTEREST, add_crm
from sqlalchemy import Engine, func, select

from buying_groups.domain.groups import Member, MemberSource
from buying_groups.generation.ports import BatchCounts, DuplicateJobKeyError
from buying_groups.storage.database import make_session_factory
from buying_groups.storage.tables import GenerationJobRow, MemberRow
from buying_groups.storage.unit_of_work import NoTransactionError, SqlUnitOfWork


@pytest.fixture
def crm(engine: Engine) -> Engine:
    add_crm(engine, 2)
    return engine


def _jobs(engine: Engine) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(GenerationJobRow)) or 0


def _add_job(uow: SqlUnitOfWork, key: str | None = None) -> int:
    interest = uow.configuration.interest_ref(INTEREST).id
    return uow.jobs.add(interest, uow.configuration.audience_id(AUDIENCE), "rules", key)


def test_a_block_commits_and_a_failing_one_rolls_back(crm: Engine) -> None:
    uow = SqlUnitOfWork(crm)
    with uow:
        _add_job(uow)
    with pytest.raises(RuntimeError), uow:
        _add_job(uow)
        raise RuntimeError("boom")
    assert _jobs(crm) == 1


def test_a_nested_block_joins_the_outer_transaction(crm: Engine) -> None:
    uow = SqlUnitOfWork(crm)
    with pytest.raises(RuntimeError), uow:
        with uow:
            _add_job(uow)
        assert _jobs(crm) == 0  # not committed by the inner block
        raise RuntimeError("boom")
    assert _jobs(crm) == 0


def test_a_joined_unit_of_work_leaves_the_commit_to_the_session(crm: Engine) -> None:
    with make_session_factory(crm)() as session:
        uow = SqlUnitOfWork.joining(session)
        with uow:
            _add_job(uow)
        session.rollback()
    assert _jobs(crm) == 0


def test_repositories_need_an_open_transaction(crm: Engine) -> None:
    with pytest.raises(NoTransactionError):
        SqlUnitOfWork(crm).jobs.get(1)


def test_job_rows_keep_state_cursor_and_counts(crm: Engine) -> None:
    uow = SqlUnitOfWork(crm)
    with uow:
        job_id = _add_job(uow, "k-1")
    with pytest.raises(DuplicateJobKeyError), uow:
        _add_job(uow, "k-1")
    with uow:
        started = uow.jobs.start(job_id)
        uow.jobs.advance(job_id, 7, 2, BatchCounts(groups_created=2, members_added=3))
        uow.jobs.advance(job_id, 9, 1, BatchCounts(members_added=1))
    with uow:
        record = uow.jobs.get(job_id)
        assert uow.jobs.by_key("k-1") == record
        assert uow.jobs.unfinished() == [job_id]
    assert record is not None and started.tzinfo is not None
    assert (record.state, record.cursor_account_id, record.processed_accounts) == ("running", 9, 3)
    assert (record.groups_created, record.members_added) == (2, 3 + 1)


def test_a_group_comes_back_as_the_domain_entity(crm: Engine) -> None:
    uow = SqlUnitOfWork(crm)
    with uow:
        interest = uow.configuration.interest_ref(INTEREST)
        account = uow.memberships.account_id("A000")
        group = uow.memberships.add_group(account, interest)
        person = uow.memberships.person("P000-0")
        role = uow.configuration.role("decision maker")
        assert person is not None and role is not None and role.name == "Decision Maker"
        member = Member(person_external_id="P000-0", role=role.name, source=MemberSource.JOURNEY)
        uow.memberships.save_member(group, person, role, member)
    with uow:
        found = uow.memberships.group(account, interest)
    assert found is not None and found.entity.members == (
        member.model_copy(update={"updated_at": found.entity.members[0].updated_at}),
    )
    with make_session_factory(crm)() as session:
        assert session.scalar(select(MemberRow.source)) == "journey"
