"""Generation jobs over HTTP: queued, run in the background, idempotent, resumed at start-up."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from buying_groups.generation.jobs import create_job
from buying_groups.storage import generation_store as store_module
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.seed import seed_demo

BODY = {"solution_interest": "Secure Edge", "audience": "DACH enterprise", "mode": "rules"}


def _wait(client: TestClient, job_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/generation-jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_job_runs_in_the_background_and_builds_groups(client: TestClient, engine: Engine) -> None:
    seed_demo(engine, "small", generate=False)
    created = client.post("/v1/generation-jobs", json=BODY | {"idempotency_key": "k1"})
    assert created.status_code == 202
    assert created.headers["location"] == f"/v1/generation-jobs/{created.json()['job_id']}"
    job = _wait(client, created.json()["job_id"])
    assert job["state"] == "succeeded", job
    assert job["groups_created"] == job["total_accounts"] > 0
    assert job["members_added"] > 0
    again = client.post("/v1/generation-jobs", json=BODY | {"idempotency_key": "k1"})
    assert again.status_code == 200 and again.json()["job_id"] == job["job_id"]


def test_unknown_audience_and_mode_are_refused(client: TestClient, engine: Engine) -> None:
    seed_demo(engine, "small", generate=False)
    missing = client.post("/v1/generation-jobs", json=BODY | {"audience": "Nope"})
    assert missing.status_code == 404 and "Nope" in missing.json()["detail"]
    bad_mode = client.post("/v1/generation-jobs", json=BODY | {"mode": "magic"})
    assert bad_mode.status_code == 422


def test_queued_job_is_resumed_when_the_service_starts(client_factory: Any, engine: Engine) -> None:
    seed_demo(engine, "small", generate=False)
    job_id = create_job(
        SqlUnitOfWork(engine), solution_interest="Secure Edge", audience="DACH enterprise"
    )
    client = client_factory(["read"])  # entering the client runs the lifespan
    assert _wait(client, job_id)["state"] == "succeeded"


def test_failed_job_answers_plain_words_and_a_reference_not_sql(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_demo(engine, "small", generate=False)

    def broken_insert(conn: Any, rows: Any) -> None:
        conn.execute(text("SELECT no_such_column FROM members"))

    monkeypatch.setattr(store_module, "insert_members", broken_insert)
    created = client.post("/v1/generation-jobs", json=BODY)
    job = _wait(client, created.json()["job_id"])

    assert job["state"] == "failed"
    assert re.fullmatch(
        r"the job failed while writing groups \(reference [0-9a-f]{8}\); see the server log",
        job["error"],
    ), job["error"]
