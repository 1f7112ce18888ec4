"""AJO B2B External Actions: Adobe's examples get the statuses the spec names, callbacks
arrive once, with the required headers and bodies that validate against the spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ajo_b2b_contract import errors, postman, postman_body, postman_requests
from api_key_factory import make_key
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from webhook_receiver import LocalReceiver, local_receiver

from buying_groups.domain.conditions import parse_condition
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus
from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.domain.webhook_targets import WebhookTargetPolicy
from buying_groups.settings import Settings
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import (
    AccountRow,
    AjoActionRow,
    MemberRow,
    PersonRow,
    RoleRow,
)
from serving.ajo_callbacks import CallbackCredentials, CallbackWorker, RetryPolicy
from serving.app import create_app
from serving.models import ModelStore
from serving.webhook_transport import system_resolver, webhook_client

BASE = "/integrations/ajo-b2b"
INTEREST = "Secure Edge"
TEMPLATE = RoleTemplate(
    name="Security",
    status=TemplateStatus.LIVE,
    cards=(
        RoleCard(
            role="Decision Maker",
            weighting=100,  # type: ignore[arg-type]
            conditions=parse_condition(
                {
                    "any": [
                        {"attribute": "job_title", "operator": "contains", "value": "chief"},
                        {"attribute": "job_title", "operator": "equals", "value": "CTO"},
                    ]
                }
            ),
        ),
        RoleCard(
            role="Practitioner",
            conditions=parse_condition(
                {"attribute": "job_title", "operator": "contains", "value": "engineer"}
            ),
        ),
    ),
)
CREDENTIALS = CallbackCredentials("adobe-client-id", "ims-token", "fallback@AdobeOrg")


@pytest.fixture
def configured(engine: Engine) -> Engine:
    """The template and its interest (no CRM: journeys bring their people)."""
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        repository.create_template(TEMPLATE)
        repository.create_solution_interest(
            SolutionInterest(name=INTEREST, role_template=TEMPLATE.name)
        )
    return engine


@pytest.fixture
def receiver() -> Iterator[LocalReceiver]:
    with local_receiver() as found:
        yield found


@pytest.fixture
def client(configured: Engine) -> Iterator[TestClient]:
    """A write key; callbacks may go to 127.0.0.1 (the test's receiver)."""
    settings = Settings(
        models_enabled=False, webhooks_enabled=False, webhook_allowed_hosts=["127.0.0.1"]
    )
    app = create_app(settings, engine=configured)
    headers = {"X-API-Key": make_key(configured, ["write"])}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


def _worker(engine: Engine, **retry: Any) -> CallbackWorker:
    policy = WebhookTargetPolicy(["127.0.0.1"], system_resolver)
    store = ModelStore("sqlite:///unused.db", "title-persona")
    return CallbackWorker(
        make_session_factory(engine),
        store,
        webhook_client(policy, timeout=2.0),
        CREDENTIALS,
        RetryPolicy(jitter=lambda: 0.0, **retry),
    )


def _request(receiver: LocalReceiver, token: str = "tok-1", **flow: Any) -> dict[str, Any]:
    """A spec-conforming accountPerson request for a chief, an engineer and an intern."""
    titles = ("Chief Information Security Officer", "Senior Security Engineer", "Sales Intern")
    return {
        "token": token,
        "callbackUrl": f"http://127.0.0.1:{receiver.port}/callback",
        "context": {"subscription": {"prefix": "test", "imsOrgId": "12345@AdobeOrg"}},
        "objectData": {
            "objectType": "accountPerson",
            "objectContext": {
                "accountId": "67890",
                "accountData": {"accountName": "Test Corporation", "industry": "Technology"},
                "accountPersonRelationships": [
                    {
                        "accountPersonRelId": 110 + i,
                        "accountId": 67890,
                        "personId": 12345 + i,
                        "leadData": {"email": f"p{i}@testcorp.com", "title": title},
                    }
                    for i, title in enumerate(titles)
                ],
            },
            "flowStepContext": {"solutionInterest": INTEREST, "mode": "rules", **flow},
        },
        "actionConfig": {"timeout": 60},
        "enableSplitPaths": True,
    }


def _callbacks(receiver: LocalReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


def _rows(engine: Engine) -> list[AjoActionRow]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(AjoActionRow).order_by(AjoActionRow.id)))


def _make_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(AjoActionRow).values(next_attempt_at=None))


# ----------------------------------------------------------------- service definitions


@pytest.mark.parametrize("path", ["/getServiceDefinition", "/account/getServiceDefinition"])
def test_service_definitions_validate_against_the_spec(client: TestClient, path: str) -> None:
    response = client.get(BASE + path)
    assert response.status_code == 200
    assert errors("ServiceDefinition", response.json()) == []


def test_the_people_definition_offers_split_paths_on_the_buying_role(client: TestClient) -> None:
    definition = client.get(f"{BASE}/getServiceDefinition").json()
    accessors = {a["accessorName"] for a in definition["invocationPayloadDef"]["accessorsMetadata"]}
    flow = {a["apiName"] for a in definition["invocationPayloadDef"]["flowAttributes"]}
    callback = {f["serviceAttribute"] for f in definition["callbackPayloadDef"]["fields"]}
    assert definition["supportedEntityType"] == "accountPerson"
    assert definition["enableSplitPaths"] is True
    assert {"buyingRole", "influenceScore", "committeeComplete", "engagementLevel"} <= accessors
    assert {"solutionInterest", "mode"} <= flow
    assert {"validatedTitle", "buyingRole", "modelConfidence"} <= callback


def test_status_check_answers_healthy(client: TestClient) -> None:
    response = client.get(f"{BASE}/status")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


# ---------------------------------------------------------------------- authentication


def test_without_a_key_the_answer_is_the_specs_401(client: TestClient) -> None:
    response = client.get(f"{BASE}/getServiceDefinition", headers={"X-API-Key": ""})
    assert response.status_code == 401
    assert errors("Error", response.json()) == []
    assert response.json()["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("scheme", ["header", "bearer", "basic"])
def test_each_authentication_option_of_the_spec_carries_our_key(
    configured: Engine, client: TestClient, scheme: str
) -> None:
    key = make_key(configured, ["write"])
    headers = {
        "header": {"X-API-Key": key},
        "bearer": {"X-API-Key": "", "Authorization": f"Bearer {key}"},
        "basic": {"X-API-Key": ""},
    }[scheme]
    auth = ("adobe", key) if scheme == "basic" else None
    response = client.get(f"{BASE}/getServiceDefinition", headers=headers, auth=auth)
    assert response.status_code == 200


def test_a_read_key_may_read_the_definition_but_not_submit(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    headers = {"X-API-Key": make_key(configured, ["read"])}
    assert client.get(f"{BASE}/getServiceDefinition", headers=headers).status_code == 200
    response = client.post(f"{BASE}/submitAsyncAction", json=_request(receiver), headers=headers)
    assert response.status_code == 403
    assert errors("Error", response.json()) == []
    assert _rows(configured) == []


# -------------------------------------------------------------------- Adobe's examples


def test_postman_service_definition_request_gets_200(client: TestClient) -> None:
    (request,) = postman_requests("Service Definition")
    headers = {h["key"]: h["value"] for h in request["header"]}
    response = client.get(f"{BASE}/getServiceDefinition", headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Submit Lead Entity", 422),
        ("Submit Account Entity", 201),
        ("Submit AccountPerson Entity", 201),
    ],
)
def test_postman_execution_requests_get_the_status_the_spec_names(
    configured: Engine, client: TestClient, receiver: LocalReceiver, name: str, expected: int
) -> None:
    """Adobe's bodies omit actionConfig and name no solution interest: accepted (the only
    interest is used); a lead is refused with the spec's 422, since this service places
    the people of accounts."""
    request = _postman_request("Execution Requests", name)
    assert request["url"]["path"] == ["submitAsyncAction"]
    variables = {
        "callbackToken": f"token-{name}",
        "adobeCallbackUrl": f"http://127.0.0.1:{receiver.port}/callback",
    }
    headers = {
        h["key"]: h["value"].replace("{{apiKey}}", make_key(configured, ["write"]))
        for h in request["header"]
    }
    response = client.post(
        f"{BASE}/submitAsyncAction", json=postman_body(request, variables), headers=headers
    )
    assert response.status_code == expected, response.text
    schema = "ExecutionResponse" if expected == 201 else "Error"
    assert errors(schema, response.json()) == []


def _postman_request(folder: str, name: str) -> dict[str, Any]:
    items = next(i for i in postman()["item"] if i["name"] == folder)["item"]
    request: dict[str, Any] = next(i for i in items if i["name"] == name)["request"]
    return request


def test_a_spec_conforming_request_is_accepted(client: TestClient, receiver: LocalReceiver) -> None:
    """Conforming but for the spec's own flaw: every accountPerson objectContext is also an
    AccountObjectData, so its oneOf matches twice (the reference README names it)."""
    body = _request(receiver)
    (ambiguous,) = errors("ExecutionRequest", body)
    assert "is valid under each of" in ambiguous
    response = client.post(f"{BASE}/submitAsyncAction", json=body)
    assert response.status_code == 201
    assert errors("ExecutionResponse", response.json()) == []


# ------------------------------------------------------------------------ bad requests


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def _relationship_person_id(body: dict[str, Any], value: Any) -> dict[str, Any]:
    body["objectData"]["objectContext"]["accountPersonRelationships"][0]["personId"] = value
    return body


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (lambda b: _without(b, "token"), 400, "token"),
        (lambda b: _without(b, "callbackUrl"), 400, "callbackUrl"),
        (lambda b: _without(b, "objectData"), 400, "objectData"),
        (
            lambda b: {**b, "objectData": {**b["objectData"], "objectType": "contact"}},
            422,
            "objectData.objectType",
        ),
        (lambda b: {**b, "token": 42}, 422, "token"),
        (
            lambda b: _relationship_person_id(b, "12345"),
            422,
            "objectData.objectContext.accountPersonRelationships.0.personId",
        ),
        (lambda b: {**b, "callbackUrl": "http://169.254.169.254/latest"}, 422, "callbackUrl"),
        (lambda b: {**b, "callbackUrl": "file:///etc/passwd"}, 422, "callbackUrl"),
        (
            lambda b: {
                **b,
                "objectData": {**b["objectData"], "flowStepContext": {"solutionInterest": "Nope"}},
            },
            422,
            "objectData.flowStepContext.solutionInterest",
        ),
        (
            lambda b: {
                **b,
                "objectData": {
                    **b["objectData"],
                    "flowStepContext": {"solutionInterest": INTEREST, "mode": "magic"},
                },
            },
            422,
            "objectData.flowStepContext.mode",
        ),
    ],
)
def test_bad_requests_get_the_specs_answer_naming_the_field_and_store_nothing(
    configured: Engine,
    client: TestClient,
    receiver: LocalReceiver,
    change: Any,
    status: int,
    field: str,
) -> None:
    response = client.post(f"{BASE}/submitAsyncAction", json=change(_request(receiver)))
    assert response.status_code == status, response.text
    body = response.json()
    assert errors("Error", body) == []
    assert body["code"] in ("INVALID_REQUEST", "VALIDATION_ERROR", "RESOURCE_NOT_FOUND")
    assert field in [d["field"] for d in body["details"]], body
    assert _rows(configured) == []


def test_a_body_that_is_not_json_gets_400(configured: Engine, client: TestClient) -> None:
    response = client.post(
        f"{BASE}/submitAsyncAction",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert errors("Error", response.json()) == []


def test_an_oversized_body_gets_the_specs_400(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    body = _request(receiver)
    body["objectData"]["objectContext"]["accountData"]["notes"] = "x" * (3 * 1024 * 1024)
    response = client.post(f"{BASE}/submitAsyncAction", json=body)
    assert response.status_code == 400
    assert errors("Error", response.json()) == []
    assert "larger than" in response.json()["message"]
    assert _rows(configured) == []


def test_a_body_past_the_servers_limit_gets_400_not_413(
    configured: Engine, receiver: LocalReceiver
) -> None:
    settings = Settings(models_enabled=False, webhooks_enabled=False, max_request_bytes=10_000)
    app = create_app(settings, engine=configured)
    with TestClient(app, headers={"X-API-Key": make_key(configured, ["write"])}) as small:
        body = _request(receiver)
        body["objectData"]["objectContext"]["accountData"]["notes"] = "x" * 20_000
        response = small.post(f"{BASE}/submitAsyncAction", json=body)
    assert response.status_code == 400
    assert errors("Error", response.json()) == []


def test_too_many_people_get_422(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    body = _request(receiver)
    context = body["objectData"]["objectContext"]
    context["accountPersonRelationships"] = context["accountPersonRelationships"][:1] * 1001
    response = client.post(f"{BASE}/submitAsyncAction", json=body)
    assert response.status_code == 422
    assert _rows(configured) == []


# ------------------------------------------------------------------ idempotency per token


def test_the_same_token_answers_the_same_request_and_stores_it_once(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    first = client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    again = client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    assert first.status_code == again.status_code == 201
    assert first.json()["requestId"] == again.json()["requestId"]
    assert len(_rows(configured)) == 1


def test_a_token_reused_for_another_request_is_refused(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    other = _request(receiver)
    other["objectData"]["objectContext"]["accountId"] = "99999"
    response = client.post(f"{BASE}/submitAsyncAction", json=other)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["token"]
    assert len(_rows(configured)) == 1


# --------------------------------------------------------------------------- callbacks


def test_submit_stores_the_request_and_answers_before_any_work(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    response = client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    assert response.status_code == 201
    (row,) = _rows(configured)
    assert (row.state, row.request_id) == ("pending", response.json()["requestId"])
    assert receiver.requests == []
    with make_session_factory(configured)() as session:
        assert session.scalars(select(MemberRow)).all() == []


def test_the_callback_carries_the_required_headers_and_a_valid_body_with_roles(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    request_id = client.post(f"{BASE}/submitAsyncAction", json=_request(receiver)).json()[
        "requestId"
    ]
    assert _worker(configured).run_once() == 1
    (received,) = receiver.requests
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["x-callback-token"] == "tok-1"
    assert headers["x-api-key"] == "adobe-client-id"
    assert headers["x-request-id"] == request_id
    assert headers["authorization"] == "Bearer ims-token"
    assert headers["x-gw-ims-org-id"] == "12345@AdobeOrg"
    assert headers["content-type"] == "application/json"
    body = json.loads(received.body)
    assert errors("CallbackRequest", body) == []
    (entry,) = body["objectData"]
    assert entry["activityData"]["success"] is True
    roles = {p["personId"]: p["accessorValues"]["buyingRole"] for p in entry["accountPersonData"]}
    assert roles == {12345: "Decision Maker", 12346: "Practitioner", 12347: "No role"}
    chief = entry["accountPersonData"][0]
    assert chief["accessorValues"]["influenceScore"] == 100
    assert chief["accessorValues"]["engagementLevel"] == "low"
    assert chief["accessorValues"]["committeeComplete"] is True
    assert chief["leadData"]["validatedTitle"] == "chief information security officer"
    assert entry["accountData"] == {
        "id": 67890,
        "buyingGroupSize": 2,
        "committeeCompleteness": 100.0,
        "missingRoles": "",
    }


def test_people_join_the_group_as_journey_members_through_the_rules(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    _worker(configured).run_once()
    with make_session_factory(configured)() as session:
        members = session.execute(
            select(PersonRow.external_id, RoleRow.name, MemberRow.source)
            .join(MemberRow, MemberRow.person_id == PersonRow.id)
            .join(RoleRow, RoleRow.id == MemberRow.role_id)
            .order_by(PersonRow.external_id)
        ).all()
        account = session.scalars(select(AccountRow)).one()
    assert [tuple(m) for m in members] == [
        ("12345", "Decision Maker", "journey"),
        ("12346", "Practitioner", "journey"),
    ]
    assert (account.external_id, account.name) == ("67890", "Test Corporation")


def test_a_callback_is_delivered_once_per_token(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    worker = _worker(configured)
    worker.run_once()
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))  # Adobe retries
    _make_due(configured)
    assert worker.run_once() == 0
    assert len(receiver.requests) == 1
    assert _rows(configured)[0].state == "delivered"


def test_a_manual_member_keeps_the_role_a_person_chose(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver, token="first"))
    _worker(configured).run_once()
    response = client.put(
        "/v1/buying-groups/Secure Edge/67890/members/12345",
        json={"role": "Influencer", "source": "manual"},
    )
    assert response.status_code in (200, 201), response.text
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver, token="second"))
    _worker(configured).run_once()
    last = _callbacks(receiver)[-1]["objectData"][0]["accountPersonData"][0]
    assert last["accessorValues"]["buyingRole"] == "Influencer"
    assert last["leadData"]["roleSource"] == "manual"


def test_failed_deliveries_are_retried_with_backoff_until_one_arrives(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    receiver.status = 503
    worker = _worker(configured, base_seconds=10.0)
    worker.run_once()
    (row,) = _rows(configured)
    assert (row.state, row.attempts, row.last_error) == ("processed", 1, "HTTP 503")
    assert row.next_attempt_at is not None
    wait = (row.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 3 < wait <= 5  # half of 10 s: no jitter in the test
    assert worker.run_once() == 0  # not due yet
    receiver.status = 200
    _make_due(configured)
    worker.run_once()
    assert _rows(configured)[0].state == "delivered"
    first, second = _callbacks(receiver)
    assert first == second  # the same body: the roles were decided once


def test_delivery_gives_up_after_the_last_attempt(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    receiver.status = 500
    worker = _worker(configured, max_attempts=3)
    for _ in range(4):
        worker.run_once()
        _make_due(configured)
    (row,) = _rows(configured)
    assert row.state == "failed"
    assert len(receiver.requests) == 3


def test_a_result_the_callback_endpoint_refuses_becomes_an_error_callback(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    receiver.status = 400
    worker = _worker(configured)
    worker.run_once()
    receiver.status = 200
    _make_due(configured)
    worker.run_once()
    refused, error = _callbacks(receiver)
    assert refused["objectData"][0]["activityData"]["success"] is True
    activity = error["objectData"][0]["activityData"]
    assert (activity["success"], activity["errorCode"]) == (False, "CALLBACK_REJECTED")
    assert errors("CallbackRequest", error) == []


def test_a_request_that_cannot_be_answered_ends_as_an_error_callback(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver, mode="model"))
    _worker(configured).run_once()
    (body,) = _callbacks(receiver)
    assert errors("CallbackRequest", body) == []
    entry = body["objectData"][0]
    assert entry["activityData"]["success"] is False
    assert entry["activityData"]["errorCode"] == "ROLE_MODEL_MISSING"
    assert "role model" in entry["activityData"]["reason"]
    assert [p["personId"] for p in entry["accountPersonData"]] == [12345, 12346, 12347]
    with make_session_factory(configured)() as session:
        assert session.scalars(select(MemberRow)).all() == []


def test_requests_survive_a_restart_and_a_dead_workers_lease_expires(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver))
    # A worker took the request and died before answering: its lease is in the past.
    with configured.begin() as conn:
        conn.execute(
            update(AjoActionRow).values(locked_until=datetime.now(UTC) + timedelta(minutes=1))
        )
    assert _worker(configured).run_once() == 0  # held by the other worker
    with configured.begin() as conn:
        conn.execute(
            update(AjoActionRow).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert _worker(configured).run_once() == 1  # a new process
    assert _rows(configured)[0].state == "delivered"


def test_an_account_request_answers_the_groups_state(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    body = _request(receiver)
    client.post(f"{BASE}/submitAsyncAction", json=body)
    _worker(configured).run_once()
    account_request = {
        **body,
        "token": "account-token",
        "objectData": {
            "objectType": "account",
            "objectContext": {"accountId": "67890", "accountData": {}},
            "flowStepContext": {"solutionInterest": INTEREST, "mode": "rules"},
        },
    }
    response = client.post(f"{BASE}/account/submitAsyncAction", json=account_request)
    assert response.status_code == 201, response.text
    _worker(configured).run_once()
    last = _callbacks(receiver)[-1]
    assert errors("CallbackRequest", last) == []
    account = last["objectData"][0]["accountData"]
    assert account["id"] == 67890
    assert account["accessorValues"]["committeeComplete"] is True
    assert account["buyingGroupSize"] == 2


def test_the_servers_own_worker_delivers_callbacks(
    configured: Engine, receiver: LocalReceiver
) -> None:
    """Registered in the app's lifespan: no test code runs the worker here."""
    settings = Settings(
        models_enabled=False,
        webhooks_enabled=True,
        webhook_poll_seconds=0.05,
        webhook_allowed_hosts=["127.0.0.1"],
    )
    app = create_app(settings, engine=configured)
    with TestClient(app, headers={"X-API-Key": make_key(configured, ["write"])}) as server:
        assert server.post(f"{BASE}/submitAsyncAction", json=_request(receiver)).status_code == 201
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not receiver.requests and datetime.now(UTC) < deadline:
            server.get("/health")
    assert len(receiver.requests) == 1
    assert errors("CallbackRequest", json.loads(receiver.requests[0].body)) == []


def test_hybrid_mode_lets_the_rule_win_and_the_model_fill_in(
    configured: Engine, client: TestClient, receiver: LocalReceiver
) -> None:
    from role_model_factory import role_model

    from serving.models import LoadedModel, ModelSet

    model = role_model(
        {
            "Sales Intern": "Practitioner",  # no card fires: the model fills in
            "Chief Information Security Officer": "Practitioner",  # the chief card wins
            "Senior Security Engineer": "Practitioner",
            "Receptionist": "No role",
            "Office Manager": "No role",
        }
    )
    worker = _worker(configured)
    loaded = LoadedModel("role-secure-edge", "2", "models:/role-secure-edge@champion", model)
    worker.models.current = ModelSet(roles={INTEREST: loaded})
    client.post(f"{BASE}/submitAsyncAction", json=_request(receiver, mode="hybrid"))
    assert worker.run_once() == 1
    (body,) = _callbacks(receiver)
    assert errors("CallbackRequest", body) == []
    (entry,) = body["objectData"]
    assert entry["activityData"]["success"] is True
    people = {p["personId"]: p for p in entry["accountPersonData"]}
    roles = {pid: p["accessorValues"]["buyingRole"] for pid, p in people.items()}
    assert roles == {12345: "Decision Maker", 12346: "Practitioner", 12347: "Practitioner"}
    # Both were placed by the journey step (the member's source); the model's answer shows.
    assert {p["leadData"]["roleSource"] for p in people.values()} == {"journey"}
    assert people[12347]["leadData"]["modelConfidence"] >= 0.6
