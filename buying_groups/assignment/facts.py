"""What rules and models see of a person: the CRM record, engagement and what the title
models infer from the job title, turned into the facts conditions test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, NamedTuple

from buying_groups.domain.conditions import PersonFacts

#: Attributes read straight from the CRM record.
CRM_TEXT_ATTRIBUTES: Final = ("job_title", "department", "country", "email_domain")
#: Attributes the models infer from the job title (function, seniority and persona from the
#: title model; role probabilities from the interest's role model).
INFERRED_ATTRIBUTES: Final = ("function", "seniority", "persona", "role_probability")
_NO_PROBABILITIES: Final[Mapping[str, float]] = MappingProxyType({})


class PersonRecord(NamedTuple):
    """A person as storage hands it over (a plain tuple on the hot path, named for readers)."""

    person_id: int
    account_id: int
    job_title: str | None
    department: str | None
    country: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class TitleInsight:
    """What the models infer from one job title; all absent without models."""

    function: str | None = None
    seniority: str | None = None
    persona: str | None = None
    role_probabilities: Mapping[str, float] = field(default_factory=lambda: _NO_PROBABILITIES)


NO_INSIGHT: Final = TitleInsight()


def title_key(title: str | None) -> str | None:
    """The key models answer a title under: stripped; None for a missing or blank title."""
    if title is None:
        return None
    return title.strip() or None


def email_domain(email: str | None) -> str | None:
    """The part of an e-mail address after the last @, lower case; None without one."""
    if not email or "@" not in email:
        return None
    return email.rpartition("@")[2].lower() or None


def persona_of(function: str | None, seniority: str | None) -> str | None:
    """The persona label, "Function / Seniority", when both are known."""
    if not (function and seniority):
        return None
    return f"{function} / {seniority}"


def person_facts(
    record: PersonRecord | tuple[int, int, str | None, str | None, str | None, str | None],
    engagement: float | None,
    insight: TitleInsight = NO_INSIGHT,
) -> PersonFacts:
    """Every attribute a condition can test, for one person.

    Args:
        record: the CRM record (person id, account id, title, department, country, e-mail).
        engagement: the person's engagement score (0-100), None where it is not known.
        insight: what the models infer from the person's title.
    """
    _, _, job_title, department, country, email = record
    return PersonFacts(
        job_title=job_title,
        department=department,
        country=country,
        email_domain=email_domain(email),
        engagement_score=engagement,
        function=insight.function,
        seniority=insight.seniority,
        persona=insight.persona,
        role_probabilities=insight.role_probabilities,
    )
