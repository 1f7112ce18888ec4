"""Answer stored AJO B2B action requests: decide the roles, then POST the callback.

Per request, in order:

1. *process* (state ``pending``): the roles are decided and the members changed in one
   transaction that also stores the callback body (``processed``), so the changes happen
   once per token, however often delivery is retried or the server restarts. A request that
   cannot be answered with roles (an unknown interest, no model for mode ``model``, a
   failure) stores an error callback (``activityData.success`` false, a code and a reason)
   instead: the journey always hears back. A lost write race is retried later.
2. *deliver*: POST the stored body to ``callbackUrl`` with the headers Adobe's callback
   endpoint requires, through the webhook client (the webhook target policy, checked again
   per connection). A 2xx settles it (``delivered``). Anything else is retried with
   exponential backoff and jitter until ``max_attempts`` or the request's deadline (its
   ``actionConfig.timeout``), then ``failed``. A success body Adobe refuses as invalid
   (400/422) is replaced by an error callback, which is what is retried.

A worker holds a request through a lease, so several server processes never answer one
request twice; the lease of a worker that died expires and another takes the request over.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from sqlalchemy.orm import Session, sessionmaker

from buying_groups.domain.errors import DomainError
from buying_groups.domain.webhook_targets import WebhookTargetPolicy, WebhookTargetRefusedError
from buying_groups.scores.engagement import FloatArray
from buying_groups.settings import Settings
from buying_groups.storage.ajo_action_repository import ActionState, AjoActionRepository
from buying_groups.storage.database import unit_of_work
from buying_groups.storage.generation_store import person_engagement_by_id
from buying_groups.storage.group_locks import is_write_race
from serving.ajo_b2b_messages import ExecutionRequest
from serving.ajo_identification import ActionFailedError, Engagement, error_callback, identify
from serving.models import ModelStore
from serving.webhook_transport import system_resolver, webhook_client

log = logging.getLogger(__name__)
BATCH: Final = 20
#: Answers of Adobe's endpoint that say the body is wrong (retrying it cannot help).
REFUSED_BODY: Final = (400, 422)


@dataclass(frozen=True)
class CallbackCredentials:
    """What Adobe's callback endpoint checks besides the token.

    Args:
        api_key: sent as ``X-Api-Key`` (the Adobe Developer Console project's client id).
        access_token: sent as ``Authorization: Bearer`` (an IMS server-to-server token).
        ims_org_id: ``x-gw-ims-org-id`` when the request's context names no organisation.
    """

    api_key: str = ""
    access_token: str = ""
    ims_org_id: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: half the delay fixed, half random."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 900.0
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failures."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return ceiling / 2 + self.jitter() * ceiling / 2


@dataclass(frozen=True)
class _Delivery:
    """What one attempt sends, read before the (slow) POST so no transaction waits on it."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str]
    deadline_at: datetime
    attempts: int


class CallbackWorker:
    """Processes and delivers due requests; ``run_once`` is one poll."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        models: ModelStore,
        http: httpx.Client,
        credentials: CallbackCredentials = CallbackCredentials(),
        retry: RetryPolicy = RetryPolicy(),
        lease: timedelta = timedelta(minutes=5),
        engagement_seconds: float = 60.0,
    ) -> None:
        self.factory = factory
        self.models = models
        self.http = http
        self.credentials = credentials
        self.retry = retry
        self.lease = lease
        self.engagement_seconds = engagement_seconds
        self._engagement: tuple[float, FloatArray] | None = None

    def run_once(self) -> int:
        """Handle every due request (up to a batch); returns how many were handled."""
        with unit_of_work(self.factory) as session:
            due = AjoActionRepository(session).due(datetime.now(UTC), BATCH)
        return sum(self._handle(action_id) for action_id in due)

    def _handle(self, action_id: int) -> bool:
        with unit_of_work(self.factory) as session:
            repository = AjoActionRepository(session)
            if not repository.claim(action_id, datetime.now(UTC), self.lease):
                return False  # another worker has it
            state = repository.get(action_id).state
        if state == ActionState.PENDING and not self._process(action_id):
            return True
        self._deliver(action_id)
        return True

    # ----------------------------------------------------------------------- processing

    def _process(self, action_id: int) -> bool:
        """Store the callback body (roles, or an error); False when it is to be retried."""
        with unit_of_work(self.factory) as session:
            request = ExecutionRequest.model_validate(
                AjoActionRepository(session).get(action_id).request
            )
        try:
            engagement = self._engagement_of()
            with unit_of_work(self.factory) as session:
                repository = AjoActionRepository(session)
                body = identify(session, request, self.models.current, engagement)
                repository.processed(repository.get(action_id), body)
            return True
        except Exception as exc:
            return self._processing_failed(action_id, request, exc)

    def _processing_failed(self, action_id: int, request: ExecutionRequest, exc: Exception) -> bool:
        with unit_of_work(self.factory) as session:
            repository = AjoActionRepository(session)
            row = repository.get(action_id)
            if is_write_race(exc) and row.attempts + 1 < self.retry.max_attempts:
                log.info("AJO request %s lost a write race; retrying", row.request_id)
                when = datetime.now(UTC) + timedelta(seconds=self.retry.delay(row.attempts + 1))
                repository.retry_at(row, "a concurrent change got in the way", when)
                return False
            code, reason = _failure(row.request_id, exc)
            repository.processed(row, error_callback(request, code, reason))
            return True

    def _engagement_of(self) -> Engagement:
        """Person engagement (tenant-wide, so computed once per ``engagement_seconds``)."""
        now = time.monotonic()
        if self._engagement is None or now - self._engagement[0] > self.engagement_seconds:
            with unit_of_work(self.factory) as session:
                scores = person_engagement_by_id(session.connection(), datetime.now(UTC))
            self._engagement = (now, scores)
        scores = self._engagement[1]
        return lambda person_id: float(scores[person_id]) if 0 <= person_id < len(scores) else 0.0

    # ------------------------------------------------------------------------- delivery

    def _deliver(self, action_id: int) -> None:
        delivery = self._delivery(action_id)
        now = datetime.now(UTC)
        if now > delivery.deadline_at:
            self._settle(action_id, None, "the journey's timeout passed before delivery")
            return
        error, refused = self._post(delivery)
        self._settle(action_id, error, None, refused)

    def _delivery(self, action_id: int) -> _Delivery:
        with unit_of_work(self.factory) as session:
            row = AjoActionRepository(session).get(action_id)
            request = ExecutionRequest.model_validate(row.request)
            assert row.callback is not None
            subscription = request.context.subscription if request.context else None
            organisation = (subscription.imsOrgId if subscription else None) or ""
            headers = {
                "Content-Type": "application/json",
                "X-Callback-Token": row.token,
                "X-Api-Key": self.credentials.api_key,
                "X-Request-Id": row.request_id,
                "Authorization": f"Bearer {self.credentials.access_token}".strip(),
                "x-gw-ims-org-id": organisation or self.credentials.ims_org_id,
            }
            return _Delivery(row.callback_url, row.callback, headers, row.deadline_at, row.attempts)

    def _post(self, delivery: _Delivery) -> tuple[str | None, bool]:
        """POST the body; (None, False) on a 2xx, else a category of the failure and whether
        Adobe refused the body itself. The detail goes to the log, not to the row."""
        try:
            response = self.http.post(delivery.url, json=delivery.body, headers=delivery.headers)
        except WebhookTargetRefusedError as exc:
            log.warning("AJO callback refused by the target policy: %s", exc)
            return "target refused by policy", False
        except httpx.TimeoutException as exc:
            log.info("AJO callback timed out: %r", exc)
            return "timed out", False
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            log.info("AJO callback could not connect: %r", exc)
            return "could not connect", False
        if response.is_success:
            return None, False
        return f"HTTP {response.status_code}", response.status_code in REFUSED_BODY

    def _settle(
        self, action_id: int, error: str | None, give_up: str | None, refused: bool = False
    ) -> None:
        """Record the attempt: delivered, retried later, or given up."""
        with unit_of_work(self.factory) as session:
            repository = AjoActionRepository(session)
            row = repository.get(action_id)
            now = datetime.now(UTC)
            if give_up is not None:
                log.warning("AJO request %s given up: %s", row.request_id, give_up)
                repository.failed(row, give_up)
                return
            if error is None:
                repository.delivered(row, now)
                return
            log.warning(
                "AJO callback %s failed (attempt %s): %s", row.request_id, row.attempts + 1, error
            )
            if refused and _succeeded(row.callback):
                request = ExecutionRequest.model_validate(row.request)
                reason = f"the callback endpoint refused the result ({error})"
                repository.processed(row, error_callback(request, "CALLBACK_REJECTED", reason))
            if row.attempts + 1 >= self.retry.max_attempts:
                repository.failed(row, f"{error} after {row.attempts + 1} attempts")
                return
            when = now + timedelta(seconds=self.retry.delay(row.attempts + 1))
            repository.retry_at(row, error, min(when, row.deadline_at))


def _succeeded(callback: dict[str, Any] | None) -> bool:
    entries = (callback or {}).get("objectData") or [{}]
    return bool(entries[0].get("activityData", {}).get("success"))


def _failure(request_id: str, exc: Exception) -> tuple[str, str]:
    """The error code and reason a failed request's callback carries."""
    if isinstance(exc, ActionFailedError):
        return exc.code, exc.reason
    if isinstance(exc, DomainError):
        return "INVALID_INPUT", str(exc)
    reference = uuid.uuid4().hex[:12]
    log.error("AJO request %s failed (reference %s)", request_id, reference, exc_info=exc)
    return "PROCESSING_FAILED", f"the roles could not be decided (reference {reference})"


def start_callback_worker(
    factory: sessionmaker[Session], models: ModelStore, settings: Settings
) -> asyncio.Task[None]:
    """Start the worker as the app's lifespan does (webhook polling interval and hosts)."""
    credentials = CallbackCredentials(
        settings.ajo_callback_api_key,
        settings.ajo_callback_access_token.get_secret_value(),
        settings.ajo_ims_org_id,
    )
    worker = run_callback_worker(
        factory, models, settings.webhook_poll_seconds, settings.webhook_allowed_hosts, credentials
    )
    return asyncio.create_task(worker)


async def run_callback_worker(
    factory: sessionmaker[Session],
    models: ModelStore,
    interval: float,
    allowed_hosts: Sequence[str] = (),
    credentials: CallbackCredentials = CallbackCredentials(),
) -> None:
    """Poll for due requests forever (until cancelled at shutdown)."""
    policy = WebhookTargetPolicy(allowed_hosts, system_resolver)
    with webhook_client(policy) as http:
        worker = CallbackWorker(factory, models, http, credentials)
        while True:
            try:
                await asyncio.to_thread(worker.run_once)
            except Exception:  # a broken loop must not take the API down
                log.exception("AJO B2B callback worker failed")
            await asyncio.sleep(interval)
