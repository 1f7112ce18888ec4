"""Training rows for a solution interest's buying-group role model: title -> role.

Labels come from what people decided, and from the live template's rules when people have
decided too little:

- **confirmed** (``label_source="confirmed"``): members added by hand, by a journey or by an
  import that are still in their group; members a person removed by hand (``No role``);
  decided reviews (the decided role, or ``No role`` for "not a member"). A person with
  several labels keeps the one of the highest precedence: manual > review > journey >
  import (the design's member precedence, with a reviewer's decision just below a manual
  change, both being a person's explicit word), then the most recent.
- **weak** (``label_source="weak"``), only when there are fewer than ``min_confirmed``
  confirmed rows: the live template's first matching card for every person of the
  accounts that have a group for the interest (all persons when there is none yet), plus a
  sample of the persons no card matches, labelled ``No role``.

Why a ``No role`` class: most persons of an account are in no buying group, and a model
that must name a role for everyone assigns one to the receptionist. With ``No role`` among
its labels the model can decline, which is what "not a member" reviews and manual removals
teach it too.

Cards that read the engagement score (e.g. "Champion: engagement >= 60 and an IT title")
are left out of the weak labelling: engagement changes week by week and is not in the
title, so those cards would only teach the model noise. Confirmed Champions still train it.

A weak row whose title (case-insensitive) also has a confirmed label is dropped: what a
person decided about a title overrides what the rules say about it, and the held-out
confirmed titles never leak into training through weak copies.

Persona tokens (predicted function and seniority appended to the title) are not added
here: the registered model must see the same text at serving time, so they belong inside
the model, not in the data (see the report of issue 4, point 5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from buying_groups.assignment.rules import RuleMatcher
from buying_groups.domain.conditions import AttributeCondition, Condition
from buying_groups.domain.reviews import ReviewDecision
from buying_groups.domain.role_templates import RoleCard
from buying_groups.ml.role_predictions import NO_ROLE
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_session_factory, unit_of_work
from buying_groups.storage.tables import (
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    ReviewRow,
    RoleRow,
    SolutionInterestRow,
)

__all__ = [
    "CONFIRMED",
    "CONFIRMED_SOURCES",
    "NO_ROLE",
    "ROLE_DATA_COLUMNS",
    "WEAK",
    "role_training_data",
    "title_cards",
]

#: The label of persons who belong to no buying group of the interest.
CONFIRMED: Final = "confirmed"
WEAK: Final = "weak"
#: Member sources that are a person's (or a trusted system's) word, not ours.
CONFIRMED_SOURCES: Final = ("manual", "journey", "import")
ROLE_DATA_COLUMNS: Final = [
    "title",
    "role",
    "label_source",
    "person_external_id",
    "weight",
    "origin",
]
# Lower is stronger; a review sits just below a manual change (both are explicit decisions).
_PRECEDENCE: Final = {"manual": 0, "review": 1, "journey": 2, "import": 3}


@dataclass(frozen=True)
class _Label:
    """One candidate label of a person, before precedence picks one per person."""

    person_external_id: str
    title: str | None
    role: str
    origin: str
    rank: int
    when: datetime | None


def role_training_data(
    engine: Engine,
    solution_interest: str,
    *,
    min_confirmed: int = 200,
    weak_weight: float = 0.5,
    no_role_ratio: float = 1.0,
    max_weak_rows: int | None = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Labelled titles of one solution interest: confirmed labels, plus weak ones if few.

    Args:
        engine: the buying-groups database.
        solution_interest: the interest's name.
        min_confirmed: below this many confirmed rows, weak rule labels are added.
        weak_weight: sample weight of a weak row (a confirmed row weighs 1).
        no_role_ratio: weak ``No role`` rows sampled per weak row with a role.
        max_weak_rows: cap on the weak rows with a role (sampled); ``None`` keeps all.
        seed: seed of the samples.

    Returns:
        Columns ``title``, ``role``, ``label_source`` (confirmed|weak),
        ``person_external_id``, ``weight`` and ``origin`` (e.g. "member:manual",
        "review:not_a_member", "rule:card 2", "rule:no card"); confirmed rows first.

    Raises:
        NotFoundError: the solution interest does not exist.
    """
    with unit_of_work(make_session_factory(engine)) as session:
        interest_id, cards = _interest(session, solution_interest)
        confirmed = _confirmed_rows(session, interest_id)
        weak = pd.DataFrame(columns=ROLE_DATA_COLUMNS)
        if len(confirmed) < min_confirmed:
            persons = _pool(session, interest_id, exclude=set(confirmed["person_external_id"]))
            weak = _weak_rows(persons, cards, no_role_ratio, max_weak_rows, seed)
            weak = _without_titles_of(weak, confirmed)
    weak = weak.assign(weight=float(weak_weight))
    frame = pd.concat([confirmed, weak], ignore_index=True) if len(weak) else confirmed
    return frame[ROLE_DATA_COLUMNS].reset_index(drop=True)


def _interest(session: Session, name: str) -> tuple[int, tuple[RoleCard, ...]]:
    """The interest's id and its live template's cards."""
    repository = ConfigurationRepository(session)
    template = repository.get_template(repository.get_solution_interest(name).role_template)
    interest_id = session.scalar(
        select(SolutionInterestRow.id).where(SolutionInterestRow.name == name)
    )
    assert interest_id is not None  # get_solution_interest raised otherwise
    return interest_id, template.cards


# ----------------------------------------------------------------------------- confirmed


def _confirmed_rows(session: Session, interest_id: int) -> pd.DataFrame:
    """One label per person from members and decided reviews, by precedence."""
    labels = [*_member_labels(session, interest_id), *_review_labels(session, interest_id)]
    best: dict[str, _Label] = {}
    for label in sorted(labels, key=_strength):
        best.setdefault(label.person_external_id, label)
    rows = [
        {
            "title": label.title.strip(),
            "role": label.role,
            "label_source": CONFIRMED,
            "person_external_id": label.person_external_id,
            "weight": 1.0,
            "origin": label.origin,
        }
        for label in best.values()
        if label.title and label.title.strip()
    ]
    frame = pd.DataFrame(rows, columns=ROLE_DATA_COLUMNS)
    return frame.sort_values("person_external_id", ignore_index=True)


def _strength(label: _Label) -> tuple[int, float]:
    """Sort key: highest precedence first, then the most recent."""
    return label.rank, -(label.when.timestamp() if label.when else 0.0)


def _member_labels(session: Session, interest_id: int) -> Iterable[_Label]:
    """Kept members of confirmed sources, and manual removals as ``No role``."""
    query = (
        select(
            PersonRow.external_id,
            PersonRow.job_title,
            RoleRow.name,
            MemberRow.source,
            MemberRow.is_removed,
            MemberRow.updated_at,
        )
        .join(PersonRow, MemberRow.person_id == PersonRow.id)
        .join(RoleRow, MemberRow.role_id == RoleRow.id)
        .join(BuyingGroupRow, MemberRow.group_id == BuyingGroupRow.id)
        .where(BuyingGroupRow.solution_interest_id == interest_id)
        .where(BuyingGroupRow.is_deleted.is_(False))
        .where(MemberRow.source.in_(CONFIRMED_SOURCES))
    )
    for person, title, role, source, removed, when in session.execute(query):
        # Only a person's own removal says "not a member"; a journey or an import dropping
        # someone may just mean the campaign moved on.
        if removed and source != "manual":
            continue
        label = NO_ROLE if removed else role
        origin = f"member:{source}" + (":removed" if removed else "")
        yield _Label(person, title, label, origin, _PRECEDENCE[source], when)


def _review_labels(session: Session, interest_id: int) -> Iterable[_Label]:
    """Decided reviews: the decided role, or ``No role`` for "not a member"."""
    decided_role = aliased(RoleRow)
    query = (
        select(
            PersonRow.external_id,
            PersonRow.job_title,
            decided_role.name,
            ReviewRow.decision,
            ReviewRow.decided_at,
        )
        .join(PersonRow, ReviewRow.person_id == PersonRow.id)
        .outerjoin(decided_role, ReviewRow.decided_role_id == decided_role.id)
        .where(ReviewRow.solution_interest_id == interest_id)
        .where(ReviewRow.decision.is_not(None))
    )
    for person, title, role, decision, when in session.execute(query):
        # Accepting a model that said "No role" decides no role too (no role id is stored).
        no_role = decision == ReviewDecision.ACCEPT_MODEL.value and role is None
        if decision == ReviewDecision.NOT_A_MEMBER.value or no_role:
            role = NO_ROLE
        if role is None:
            continue  # a decision without a role other than "not a member" is malformed
        yield _Label(person, title, role, f"review:{decision}", _PRECEDENCE["review"], when)


# ---------------------------------------------------------------------------------- weak


def _pool(session: Session, interest_id: int, exclude: set[str]) -> pd.DataFrame:
    """Persons of the accounts with a group for the interest (all persons if none)."""
    accounts = select(BuyingGroupRow.account_id).where(
        BuyingGroupRow.solution_interest_id == interest_id,
        BuyingGroupRow.is_deleted.is_(False),
    )
    query = select(
        PersonRow.id,
        PersonRow.account_id,
        PersonRow.external_id,
        PersonRow.job_title,
        PersonRow.department,
        PersonRow.country,
        PersonRow.email,
    ).order_by(PersonRow.id)
    if session.scalar(accounts.limit(1)) is not None:
        query = query.where(PersonRow.account_id.in_(accounts))
    persons = pd.DataFrame(
        [tuple(row) for row in session.execute(query)],
        columns=["id", "account_id", "external_id", "title", "department", "country", "email"],
    )
    # pandas stores a missing text as NaN (a float); the rules read text or None.
    text = ["title", "department", "country", "email"]
    persons[text] = persons[text].astype(object).where(persons[text].notna(), None)
    titled = persons["title"].fillna("").str.strip() != ""
    return persons[titled & ~persons["external_id"].isin(exclude)].reset_index(drop=True)


def _weak_rows(
    persons: pd.DataFrame,
    cards: Sequence[RoleCard],
    no_role_ratio: float,
    max_rows: int | None,
    seed: int,
) -> pd.DataFrame:
    """Label persons by the first matching title card; sample ``No role`` among the rest."""
    matcher = RuleMatcher(title_cards(cards))
    fields = persons[["id", "account_id", "title", "department", "country", "email"]]
    # Engagement 0: no card left reads it (see the module docstring).
    matches = [matcher.match(person, 0.0) for person in fields.itertuples(index=False, name=None)]
    frame = pd.DataFrame(
        {
            "title": persons["title"].str.strip(),
            "role": [NO_ROLE if m is None else m.role for m in matches],
            "label_source": WEAK,
            "person_external_id": persons["external_id"],
            "origin": ["rule:no card" if m is None else f"rule:card {m.position}" for m in matches],
        }
    )
    positive = _sample(frame[frame["role"] != NO_ROLE], max_rows, seed)
    wanted = math.ceil(no_role_ratio * max(len(positive), 1))
    negative = _sample(frame[frame["role"] == NO_ROLE], wanted, seed)
    return pd.concat([positive, negative], ignore_index=True)


def _sample(frame: pd.DataFrame, at_most: int | None, seed: int) -> pd.DataFrame:
    """At most ``at_most`` rows drawn without replacement, in their original order."""
    if at_most is None or len(frame) <= at_most:
        return frame
    return frame.sample(n=at_most, random_state=seed).sort_index()


def title_cards(cards: Sequence[RoleCard]) -> list[RoleCard]:
    """The cards a title model can learn: those whose conditions do not read engagement."""
    return [card for card in cards if not _reads_engagement(card.conditions)]


def _reads_engagement(condition: Condition | None) -> bool:
    """True if any leaf of the condition tests the engagement score."""
    if condition is None:
        return False
    if isinstance(condition, AttributeCondition):
        return condition.attribute == "engagement_score"
    return any(_reads_engagement(child) for child in condition.children())


def _without_titles_of(weak: pd.DataFrame, confirmed: pd.DataFrame) -> pd.DataFrame:
    """Weak rows whose title (case-insensitive) no confirmed row has."""
    decided = set(confirmed["title"].str.casefold().str.strip())
    keep = ~weak["title"].str.casefold().str.strip().isin(decided)
    return weak[keep].reset_index(drop=True)
