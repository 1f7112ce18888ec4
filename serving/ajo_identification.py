"""Decide the roles an AJO B2B journey step asks for, put the people into the buying group and
build the callback body.

Every role comes from the assignment core (``RuleMatcher``, ``TitleInsights``, ``decide``);
members change through ``MembershipService`` with source ``journey``, so a manual decision
stands and a job never undoes the journey's. Persons and accounts the CRM lacks are created
from what the journey sent; those it has are read, never changed. The title, department,
country and e-mail the journey sent win over the stored ones for the decision: they are what
the journey knows now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from sqlalchemy.orm import Session

from buying_groups.assignment import (
    NO_ROLE,
    CardMatch,
    Mode,
    ModelAnswer,
    Outcome,
    PersonRecord,
    RuleMatcher,
    Thresholds,
    TitleInsights,
    decide,
)
from buying_groups.domain.errors import InvariantError, MemberPrecedenceError, NotFoundError
from buying_groups.domain.group_views import GroupDetail
from buying_groups.domain.groups import MemberSource
from buying_groups.domain.role_templates import RoleCard
from buying_groups.domain.solution_interests import SolutionInterest
from buying_groups.generation.membership import MembershipService
from buying_groups.ml.title_normaliser import clean_title
from buying_groups.storage.ajo_action_repository import JourneyCrm, JourneyPerson
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.group_repository import GroupRepository
from buying_groups.storage.tables import AccountRow, PersonRow
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.ajo_b2b_messages import INT64, AccountPersonContext, ExecutionRequest, Relationship
from serving.ajo_service_definitions import MODE, SOLUTION_INTEREST
from serving.models import ModelSet

#: The persons of an account an ``account`` request places at most (oldest first).
MAX_ACCOUNT_PERSONS: Final = 500
#: Engagement scores (0-100) from which a person counts as highly / moderately engaged.
HIGH_ENGAGEMENT: Final = 60.0
MEDIUM_ENGAGEMENT: Final = 30.0
#: Person id -> engagement score (0-100); 0 for persons it does not know.
Engagement = Callable[[int], float]


class ActionFailedError(Exception):
    """The request cannot be answered with roles: the callback says so (success false)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class Placement:
    """What one person got: the decision, and the facts it was made on."""

    person: PersonRow
    relationship: Relationship | None
    title: str | None
    outcome: Outcome
    answer: ModelAnswer | None
    persona: str | None
    skipped: str | None = None


@dataclass(frozen=True)
class Decider:
    """The assignment core, set up for one solution interest and the models loaded now."""

    mode: Mode
    interest: SolutionInterest
    cards: Sequence[RoleCard]
    insights: TitleInsights
    matcher: RuleMatcher

    @property
    def thresholds(self) -> Thresholds:
        """The interest's accept and review thresholds."""
        return Thresholds(
            self.interest.model_accept_threshold, self.interest.model_review_threshold
        )

    def decide(self, record: PersonRecord, engagement: float) -> Decision:
        """The core's choice for one person, with the rule and the model answer it read."""
        rule = self.matcher.match(record, engagement)
        answer = self.insights.answer(record.job_title)
        assignable = frozenset(card.role for card in self.cards)
        return Decision(decide(self.mode, rule, answer, self.thresholds, assignable), rule, answer)

    def evidence(self, record: PersonRecord, decision: Decision) -> dict[str, Any]:
        """Why the person got the role: the card that fired, or the model's answer."""
        if decision.outcome.assign == MemberSource.RULE and decision.rule is not None:
            return {"rule": decision.rule.evidence}
        self.insights.explain([record.job_title])
        return {"model": self.insights.evidence(record.job_title)}


class Decision(NamedTuple):
    """The core's outcome for a person, and the rule match and model answer behind it."""

    outcome: Outcome
    rule: CardMatch | None
    answer: ModelAnswer | None


def identify(
    session: Session, request: ExecutionRequest, models: ModelSet, engagement: Engagement
) -> dict[str, Any]:
    """Place the request's people (in ``session``'s transaction) and return the callback body.

    Raises:
        ActionFailedError: the interest is unknown, or the mode needs a model none loaded.
    """
    decider = _decider(session, request, models)
    context = request.objectData.objectContext
    crm = JourneyCrm(session)
    account = crm.account(str(context["accountId"]), context.get("accountData") or {})
    people = _people(crm, account, request)
    decider.insights.predict(_title(person, relationship) for person, relationship in people)
    placements = [
        _place(session, decider, account, person, relationship, engagement)
        for person, relationship in people
    ]
    group = _group(session, account.external_id, decider.interest.name)
    return _callback(request, decider, placements, group, engagement)


def _decider(session: Session, request: ExecutionRequest, models: ModelSet) -> Decider:
    flow = request.objectData.flowStepContext or {}
    configuration = ConfigurationRepository(session)
    try:
        interest = configuration.get_solution_interest(str(flow[SOLUTION_INTEREST]))
    except NotFoundError as exc:
        raise ActionFailedError("UNKNOWN_SOLUTION_INTEREST", str(exc)) from None
    mode = Mode(flow.get(MODE) or Mode.HYBRID.value)
    role_model = models.roles.get(interest.name)
    if mode is Mode.MODEL and role_model is None:
        raise ActionFailedError(
            "ROLE_MODEL_MISSING",
            f"mode 'model' needs the role model of {interest.name!r} and none is loaded; "
            "use mode 'rules' or 'hybrid'",
        )
    insights = TitleInsights(
        models.title.classifier if models.title else None,
        role_model.classifier if role_model else None,
        role_model_version=role_model.version if role_model else None,
    )
    cards = configuration.get_template(interest.role_template).cards
    return Decider(mode, interest, cards, insights, RuleMatcher(cards, insights))


def _people(
    crm: JourneyCrm, account: AccountRow, request: ExecutionRequest
) -> list[tuple[PersonRow, Relationship | None]]:
    """The persons to place: the request's (accountPerson), else the account's own."""
    if request.objectData.objectType != "accountPerson":
        return [(p, None) for p in crm.persons_of(account, MAX_ACCOUNT_PERSONS)]
    context = AccountPersonContext.model_validate(request.objectData.objectContext)
    return [
        (crm.person(account, _journey_person(r)), r) for r in context.accountPersonRelationships
    ]


def _journey_person(relationship: Relationship) -> JourneyPerson:
    lead = relationship.leadData
    return JourneyPerson(
        external_id=str(relationship.personId),
        email=_text(lead.get("email")),
        first_name=_text(lead.get("firstName")),
        last_name=_text(lead.get("lastName")),
        job_title=_text(lead.get("title")),
        department=_text(lead.get("department")),
        country=_text(lead.get("country")),
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _title(person: PersonRow, relationship: Relationship | None) -> str | None:
    sent = _text(relationship.leadData.get("title")) if relationship else None
    return (sent or person.job_title or "")[:300] or None


def _record(person: PersonRow, relationship: Relationship | None) -> PersonRecord:
    """What the core reads of a person: what the journey sent, else what the CRM holds."""
    lead = relationship.leadData if relationship else {}
    country = _text(lead.get("country"))
    return PersonRecord(
        person.id,
        person.account_id,
        _title(person, relationship),
        (_text(lead.get("department")) or person.department or "")[:150] or None,
        country if country and len(country) == 2 else person.country,
        (_text(lead.get("email")) or person.email or "")[:320] or None,
    )


def _place(
    session: Session,
    decider: Decider,
    account: AccountRow,
    person: PersonRow,
    relationship: Relationship | None,
    engagement: Engagement,
) -> Placement:
    """Decide one person's role and, when the core assigns one, make them a member."""
    record = _record(person, relationship)
    decision = decider.decide(record, engagement(person.id))
    outcome, answer = decision.outcome, decision.answer
    persona = decider.insights.insight(record.job_title).persona
    found = Placement(person, relationship, record.job_title, outcome, answer, persona)
    if outcome.assign is None or outcome.role is None:
        return found
    evidence = {
        "by": MemberSource.JOURNEY.value,
        "decided_by": outcome.assign,
        "mode": decider.mode.value,
        "job_title": record.job_title,
        **decider.evidence(record, decision),
    }
    try:
        with session.begin_nested():
            assign_member(
                session, account.external_id, decider.interest.name, person, outcome.role, evidence
            )
    except MemberPrecedenceError:
        return found  # a manual decision stands; the callback reports it
    except InvariantError as exc:  # the person works for another company
        return Placement(person, relationship, record.job_title, outcome, answer, persona, str(exc))
    return found


def assign_member(
    session: Session,
    account_external_id: str,
    solution_interest: str,
    person: PersonRow,
    role: str,
    evidence: dict[str, Any],
) -> None:
    """The one call to the membership service (source journey), in ``session``'s transaction."""
    MembershipService(SqlUnitOfWork.joining(session)).assign(
        account_external_id,
        solution_interest,
        person.external_id,
        role,
        MemberSource.JOURNEY,
        evidence,
    )


def _group(session: Session, account_external_id: str, interest: str) -> GroupDetail | None:
    try:
        return GroupRepository(session).get_group(account_external_id, interest)
    except NotFoundError:
        return None


# ------------------------------------------------------------------------ callback bodies


def _callback(
    request: ExecutionRequest,
    decider: Decider,
    placements: Sequence[Placement],
    group: GroupDetail | None,
    engagement: Engagement,
) -> dict[str, Any]:
    summary = _GroupFacts.of(group)
    weights = {card.role: int(card.weighting) for card in decider.cards}
    activity: dict[str, Any] = {
        "success": True,
        "solutionInterest": decider.interest.name,
        "mode": decider.mode.value,
        "analysisDate": datetime.now(UTC).isoformat(),
    }
    skipped = [
        {"personId": p.relationship.personId if p.relationship else None, "reason": p.skipped}
        for p in placements
        if p.skipped
    ]
    if skipped:
        activity["skipped"] = skipped
    entry: dict[str, Any] = {"activityData": activity}
    account_id = _account_id(request, placements)
    if request.objectData.objectType == "account":
        assert account_id is not None  # checked when the request was accepted
        entry["accountData"] = {
            "id": account_id,
            **summary.fields(),
            "accessorValues": {
                **summary.accessors(),
                "buyingGroupSize": summary.size,
                "missingRoles": summary.missing,
            },
        }
        return {"objectData": [entry]}
    if account_id is not None:
        entry["accountData"] = {"id": account_id, **summary.fields()}
    entry["accountPersonData"] = [
        _person_entry(p, summary, weights, engagement(p.person.id))
        for p in placements
        if p.relationship is not None
    ]
    return {"objectData": [entry]}


@dataclass(frozen=True)
class _GroupFacts:
    """The group after the changes, as the callback names it."""

    completeness: float
    size: int
    missing: str
    members: dict[str, tuple[str, str]]  # person external id -> (role, source)

    @classmethod
    def of(cls, group: GroupDetail | None) -> _GroupFacts:
        if group is None:
            return cls(0.0, 0, "", {})
        active = [m for m in group.member_list if not m.is_removed]
        missing = [r.role for r in group.roles if r.required_for_completeness and r.is_missing]
        return cls(
            group.completeness,
            len(active),
            ", ".join(missing),
            {m.person_external_id: (m.role, m.source.value) for m in active},
        )

    @property
    def complete(self) -> bool:
        return self.completeness >= 100.0 - 1e-9

    def fields(self) -> dict[str, Any]:
        return {
            "buyingGroupSize": self.size,
            "committeeCompleteness": round(self.completeness, 2),
            "missingRoles": self.missing,
        }

    def accessors(self) -> dict[str, Any]:
        return {"committeeComplete": self.complete, "groupCompleteness": round(self.completeness)}


def _person_entry(
    placement: Placement, group: _GroupFacts, weights: dict[str, int], engagement: float
) -> dict[str, Any]:
    relationship = placement.relationship
    assert relationship is not None
    role, source = group.members.get(placement.person.external_id, (NO_ROLE, ""))
    lead: dict[str, Any] = {"buyingRole": role}
    if source:
        lead["roleSource"] = source
    if placement.title:
        lead["validatedTitle"] = clean_title(placement.title)
    if placement.persona:
        lead["persona"] = placement.persona
    if placement.answer is not None:
        lead["modelConfidence"] = round(placement.answer.confidence, 4)
    return {
        "accountPersonRelId": relationship.accountPersonRelId,
        "accountId": relationship.accountId,
        "personId": relationship.personId,
        "leadData": lead,
        "accessorValues": {
            "buyingRole": role,
            "influenceScore": weights.get(role, 0),
            "engagementLevel": engagement_level(engagement),
            **group.accessors(),
        },
    }


def engagement_level(score: float) -> str:
    """high, medium or low, as the ``engagementLevel`` accessor names it."""
    if score >= HIGH_ENGAGEMENT:
        return "high"
    return "medium" if score >= MEDIUM_ENGAGEMENT else "low"


def _account_id(request: ExecutionRequest, placements: Sequence[Placement]) -> int | None:
    """Adobe's account id as the callback's int64, when the request carries one."""
    raw = str(request.objectData.objectContext.get("accountId", ""))
    if raw.isdigit() and int(raw) <= INT64:
        return int(raw)
    return next((p.relationship.accountId for p in placements if p.relationship), None)


def error_callback(request: ExecutionRequest, code: str, reason: str) -> dict[str, Any]:
    """The body that tells the journey the action failed (success false, a code, a reason)."""
    entry: dict[str, Any] = {
        "activityData": {"success": False, "errorCode": code, "reason": reason[:1000]}
    }
    context = request.objectData.objectContext
    if request.objectData.objectType == "account":
        entry["accountData"] = {"id": int(str(context["accountId"]))}
        return {"objectData": [entry]}
    relationships = AccountPersonContext.model_validate(context).accountPersonRelationships
    entry["accountPersonData"] = [
        {
            "accountPersonRelId": r.accountPersonRelId,
            "accountId": r.accountId,
            "personId": r.personId,
        }
        for r in relationships
    ]
    return {"objectData": [entry]}
