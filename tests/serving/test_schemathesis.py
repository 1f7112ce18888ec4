"""Property-based tests of every operation in our OpenAPI: no 5xx, responses match the schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from database_reset import empty_database
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.schemas import APIOperation
from sqlalchemy import Engine

from buying_groups.settings import Settings
from buying_groups.storage.api_key_repository import ApiKeyRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups_demo.seed import seed_demo
from serving.app import create_app


@pytest.fixture(scope="module")
def fuzzed_app(migrated_engine: Engine) -> Iterator[tuple[FastAPI, str]]:
    """The app on a database with the small demo CRM, and an admin key."""
    empty_database(migrated_engine)
    seed_demo(migrated_engine, "small")
    with unit_of_work(make_session_factory(migrated_engine)) as session:
        key, _ = ApiKeyRepository(session).create("schemathesis", ["admin"])
    settings = Settings(webhooks_enabled=False, models_enabled=False, rate_limit="100000/minute")
    app = create_app(settings, engine=migrated_engine)
    yield app, key
    # Jobs the fuzzer started must end before other tests empty the database.
    app.state.job_runner.shutdown(wait=True)


def _check_operation(operation: APIOperation, key: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # A schema-valid body can still name a role or template that does not exist: the
        # domain answers 422 for that, which this heuristic check would count as a failure.
        case.call_and_validate(
            headers={"X-API-Key": key}, excluded_checks=[positive_data_acceptance]
        )

    check()


def test_every_operation_conforms(fuzzed_app: tuple[FastAPI, str]) -> None:
    app, key = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        try:
            _check_operation(operation, key)
        except Exception as exc:  # collect every failing operation, not only the first
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert failures == {}
