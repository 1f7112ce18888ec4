"""What a generation job needs to know before it touches any account, read once per job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from buying_groups.domain.role_templates import RoleCard, RoleTemplate
from buying_groups.generation.ports import UnitOfWork
from buying_groups.generation.reconcile import CardScore


@dataclass(frozen=True)
class JobContext:
    """The solution interest, its live template's cards and the audience, resolved to ids."""

    interest_id: int
    interest_name: str
    template_id: int
    cards: tuple[RoleCard, ...]
    card_scores: tuple[CardScore, ...]
    role_ids: dict[str, int]
    account_ids: tuple[int, ...]
    #: account id -> external id of every account in ``account_ids`` (for the events).
    account_external_ids: Mapping[int, str] = field(default_factory=dict)
    #: Every role of the catalogue (a model may name a role that is on no card).
    all_role_ids: Mapping[str, int] = field(default_factory=dict)
    #: The role model's top probability that makes a member, and that makes a review item.
    model_accept_threshold: float = 0.6
    model_review_threshold: float = 0.35


def resolve_names(uow: UnitOfWork, solution_interest: str, audience: str) -> tuple[int, int]:
    """The ids of a solution interest and an audience, or NotFoundError naming the missing one."""
    with uow:
        interest_id = uow.configuration.interest_ref(solution_interest).id
        return interest_id, uow.configuration.audience_id(audience)


def load_context(uow: UnitOfWork, solution_interest: str, audience: str) -> JobContext:
    """Read the template, the role ids and the audience's accounts (evaluated now)."""
    with uow:
        configuration = uow.configuration
        ref = configuration.interest_ref(solution_interest)
        interest = configuration.get_solution_interest(ref.name)
        template = configuration.get_template(ref.template_name)
        role_ids = configuration.role_ids()
        # Evaluated in SQL and on plain rows: building 50k pydantic accounts to filter them
        # took 4.9 s of a 1M-person job (select_audience agrees with AccountAudience.select).
        selected = configuration.select_audience(configuration.get_audience(audience))
        scores = card_scores(template, role_ids)
        return JobContext(
            interest_id=ref.id,
            interest_name=ref.name,
            template_id=ref.template_id,
            cards=template.cards,
            card_scores=scores,
            role_ids={score.role: score.role_id for score in scores},
            # Ascending: the order jobs process and resume in.
            account_ids=tuple(sorted(selected)),
            account_external_ids=selected,
            all_role_ids=role_ids,
            model_accept_threshold=interest.model_accept_threshold,
            model_review_threshold=interest.model_review_threshold,
        )


def card_scores(template: RoleTemplate, role_ids: Mapping[str, int]) -> tuple[CardScore, ...]:
    """The template's cards as the scores need them.

    Card roles come from a join on the roles table, so every name is a key of ``role_ids``.
    """
    return tuple(
        CardScore(
            role_ids[c.role],
            c.role,
            int(c.weighting),
            c.members_required,
            c.required_for_completeness,
        )
        for c in template.cards
    )
