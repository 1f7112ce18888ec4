"""Two app instances (two engines, as two server processes) writing the same groups at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_key_factory import make_key
from fastapi.testclient import TestClient
from job_crm import INTEREST, account_id, add_crm, members, person_id, second_engine, set_title
from psycopg.errors import DeadlockDetected
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from buying_groups.generation.membership import MembershipService
from buying_groups.settings import Settings
from buying_groups.storage import generation_store as store_module
from serving.app import create_app

JOB = {"solution_interest": INTEREST, "audience": "Targets", "mode": "rules"}
ACCOUNTS = 6


@pytest.fixture
def first(engine: Engine) -> Iterator[TestClient]:
    """App instance one, on the test engine."""
    add_crm(engine, ACCOUNTS)
    yield from _client(engine)


@pytest.fixture
def second(first: TestClient, engine: Engine) -> Iterator[TestClient]:
    """App instance two, with its own engine on the same database."""
    other = second_engine(engine)
    yield from _client(other)
    other.dispose()


def _client(engine: Engine) -> Iterator[TestClient]:
    settings = Settings(max_request_bytes=200_000, models_enabled=False, webhooks_enabled=False)
    headers = {"X-API-Key": make_key(engine, ["write"])}
    app = create_app(settings, engine=engine)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


def _job(client: TestClient, timeout: float = 60) -> dict[str, Any]:
    """Start a job and wait for its end."""
    created = client.post("/v1/generation-jobs", json=JOB)
    assert created.status_code == 202, created.json()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/generation-jobs/{created.json()['job_id']}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job did not finish: {job}")


def _pause_before(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[threading.Event, threading.Event]:
    """Make a job stop for up to 3 s just before ``store.<name>`` writes rows.

    Returns (the job is there, the other caller is done): the job has read the group and
    written part of its batch, the other change lands in between, as it can between two
    processes. A change that waits for the job's batch lets the job go on after 3 s.
    """
    original = getattr(store_module, name)
    arrived, done = threading.Event(), threading.Event()

    def pause_then_write(conn: Any, rows: Any) -> Any:
        rows = list(rows)
        if rows and not arrived.is_set():
            arrived.set()
            done.wait(timeout=3)
        return original(conn, rows)

    monkeypatch.setattr(store_module, name, pause_then_write)
    return arrived, done


def _during_job(client: TestClient, arrived: threading.Event, change: Callable[[], Any]) -> Any:
    """Run a job on ``client``; once it pauses in its batch, make ``change`` (another app)."""
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(job=_job(client)))
    runner.start()
    assert arrived.wait(timeout=60), "the job never reached its write"
    answer = change()
    runner.join(timeout=90)
    return result["job"], answer


MEMBER = f"/v1/buying-groups/{INTEREST}/{account_id(0)}/members/{person_id(0, 2)}"


def test_member_put_while_a_job_adds_the_same_person(
    first: TestClient, second: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _job(first)["state"] == "succeeded"
    # The intern becomes an engineer: the next job adds them as a Practitioner...
    set_title(engine, person_id(0, 2), "Security Engineer")
    arrived, done = _pause_before(monkeypatch, "insert_members")

    def put() -> Any:
        # ...while someone makes them the Champion through the other instance.
        answer = second.put(MEMBER, json={"role": "Champion"})
        done.set()
        return answer

    job, answer = _during_job(first, arrived, put)

    assert answer.status_code == 200, answer.json()
    assert (job["state"], job["error"]) == ("succeeded", None)
    assert members(engine)[person_id(0, 2)] == ("Champion", "manual", False)


def test_member_delete_while_a_job_removes_the_same_person(
    first: TestClient, second: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _job(first)["state"] == "succeeded"
    engineer = person_id(0, 1)
    # The engineer moves to sales: the next job removes them...
    set_title(engine, engineer, "Sales Manager")
    arrived, done = _pause_before(monkeypatch, "remove_members")

    def delete() -> Any:
        # ...while someone removes them by hand through the other instance.
        url = f"/v1/buying-groups/{INTEREST}/{account_id(0)}/members/{engineer}"
        answer = second.delete(url)
        done.set()
        return answer

    job, answer = _during_job(first, arrived, delete)

    assert answer.status_code in (200, 409), answer.json()
    assert (job["state"], job["error"]) == ("succeeded", None)
    assert members(engine)[engineer][2] is True


def test_a_member_put_that_loses_a_race_answers_409_not_500(
    first: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deadlocked(*args: Any) -> None:
        raise OperationalError("UPDATE buying_groups ...", {}, DeadlockDetected("deadlock"))

    monkeypatch.setattr(MembershipService, "assign", deadlocked)
    answer = first.put(MEMBER, json={"role": "Champion"})

    assert answer.status_code == 409
    assert "retry" in answer.json()["detail"] and "UPDATE" not in answer.text
