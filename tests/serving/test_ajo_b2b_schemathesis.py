"""Schemathesis with Adobe's External Actions spec (not ours) against our two endpoints."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import schemathesis
from ajo_b2b_contract import spec
from database_reset import empty_database
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.schemas import APIOperation
from sqlalchemy import Engine
from test_ajo_b2b import TEMPLATE

from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.settings import Settings
from buying_groups.storage.api_key_repository import ApiKeyRepository
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from serving.app import create_app
from serving.routers.ajo_b2b import PREFIX

OPERATIONS = ("getServiceDefinition", "executeAction")


@pytest.fixture(scope="module")
def fuzzed_app(migrated_engine: Engine) -> Iterator[tuple[FastAPI, str]]:
    """The app with one solution interest (so bodies naming none are accepted) and a key."""
    empty_database(migrated_engine)
    with unit_of_work(make_session_factory(migrated_engine)) as session:
        configuration = ConfigurationRepository(session)
        configuration.create_template(TEMPLATE)
        configuration.create_solution_interest(
            SolutionInterest(name="Secure Edge", role_template=TEMPLATE.name)
        )
        key, _ = ApiKeyRepository(session).create("schemathesis", ["write"])
    app_settings = Settings(
        webhooks_enabled=False, models_enabled=False, rate_limit="100000/minute"
    )
    yield create_app(app_settings, engine=migrated_engine), key
    empty_database(migrated_engine)


def _adobe_schema(app: FastAPI) -> schemathesis.schemas.BaseSchema:
    """Adobe's document as it is, but served where we mount it (its servers are examples)."""
    document = copy.deepcopy(spec())
    document["servers"] = [{"url": PREFIX}]
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    return schema


def _check(operation: APIOperation, key: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # A schema-valid body may still be refused on purpose (422): objectType lead (this
        # service places the people of accounts), a callbackUrl the webhook target policy
        # refuses (every generated host), an unknown solution interest.
        case.call_and_validate(
            headers={"X-API-Key": key}, excluded_checks=[positive_data_acceptance]
        )

    check()


def test_adobes_spec_finds_no_failure_in_our_endpoints(fuzzed_app: tuple[FastAPI, str]) -> None:
    app, key = fuzzed_app
    schema = _adobe_schema(app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().definition.raw.get("operationId") in OPERATIONS
    ]
    assert len(operations) == 2
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            _check(operation, key)
        except Exception as exc:
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:3000]}"
    assert failures == {}
