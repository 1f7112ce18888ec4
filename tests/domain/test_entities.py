"""Invariants of the domain entities."""

from __future__ import annotations

import pytest

from buying_groups.domain.accounts import Account, check_hierarchy, find_cycle
from buying_groups.domain.errors import (
    AccountHierarchyError,
    ConflictError,
    InvariantError,
    MemberPrecedenceError,
    NotFoundError,
    RoleCatalogueError,
    StageTransitionError,
    StatusTooLongError,
    TemplateFrozenError,
)
from buying_groups.domain.groups import BuyingGroup, Member, MemberSource, may_override
from buying_groups.domain.reviews import Review, ReviewDecision, ReviewReason
from buying_groups.domain.role_templates import RoleCard, RoleTemplate, TemplateStatus, Weighting
from buying_groups.domain.roles import MAX_ROLES, Role, RoleCatalogue, builtin_roles
from buying_groups.domain.solution_interests import (
    AccountAudience,
    AccountFilter,
    AudienceKind,
    SolutionInterest,
)
from buying_groups.domain.stage_models import Stage, StageKind, StageModel


def test_hierarchy_without_cycle_passes() -> None:
    check_hierarchy({"a": None, "b": "a", "c": "b"})


def test_hierarchy_cycle_names_its_accounts() -> None:
    with pytest.raises(AccountHierarchyError, match="a -> b -> a"):
        check_hierarchy({"a": "b", "b": "a", "c": None})


def test_account_parent_of_itself_is_a_cycle() -> None:
    assert find_cycle({"a": "a"}) == ["a"]


def test_products_owned_are_split_from_text() -> None:
    account = Account(external_id="A", name="A", products_owned="Secure Edge; Data Cloud|")  # type: ignore[arg-type]
    assert account.products_owned == ("Secure Edge", "Data Cloud")


def test_builtin_roles_cannot_be_changed_and_catalogue_is_capped() -> None:
    catalogue = RoleCatalogue(builtin_roles())
    assert len(catalogue) == 6
    with pytest.raises(RoleCatalogueError):
        catalogue.remove("decision maker")
    for number in range(MAX_ROLES - 6):
        catalogue.add(Role(name=f"Custom {number}"))
    with pytest.raises(RoleCatalogueError, match="at most 20"):
        catalogue.add(Role(name="One too many"))
    with pytest.raises(ConflictError):
        catalogue.add(Role(name="CUSTOM 1"))
    catalogue.remove("Custom 1")
    with pytest.raises(NotFoundError):
        catalogue.get("Custom 1")


def _template() -> RoleTemplate:
    return RoleTemplate(
        name="Security", cards=(RoleCard(role="Decision Maker", weighting="Vital"),)
    )  # type: ignore[arg-type]


def test_weighting_accepts_names_and_numbers() -> None:
    assert _template().cards[0].weighting is Weighting.VITAL
    assert RoleCard(role="Other", weighting=20).weighting is Weighting.TRIVIAL
    with pytest.raises(ValueError, match="unknown weighting"):
        RoleCard(role="Other", weighting="Huge")  # type: ignore[arg-type]


def test_live_template_is_frozen_and_copy_is_editable() -> None:
    live = _template().publish()
    assert live.status is TemplateStatus.LIVE
    with pytest.raises(TemplateFrozenError):
        live.edit(description="changed")
    with pytest.raises(ConflictError):
        live.ensure_deletable()
    copy = live.copy_as_draft("Security v2").edit(description="changed")
    assert copy.status is TemplateStatus.DRAFT and copy.description == "changed"


def test_publishing_needs_a_card() -> None:
    with pytest.raises(ConflictError, match="at least one role card"):
        RoleTemplate(name="Empty").publish()


def test_a_role_appears_on_one_card_only() -> None:
    with pytest.raises(ValueError, match="more than one card"):
        RoleTemplate(name="T", cards=(RoleCard(role="Champion"), RoleCard(role="champion")))


def _stages() -> StageModel:
    return StageModel(
        name="Default",
        stages=(
            Stage(name="Identified", kind=StageKind.ENTRY, next=("Engaged", "Lost")),
            Stage(name="Engaged", next=("Won", "Lost")),
            Stage(name="Won", kind=StageKind.SUCCESS),
            Stage(name="Lost", kind=StageKind.FAILURE),
        ),
    )


def test_illegal_stage_move_names_both_stages() -> None:
    group = BuyingGroup(account_external_id="A", solution_interest="S", template_name="T")
    group = group.move_to_stage(_stages(), "Identified").move_to_stage(_stages(), "Engaged")
    with pytest.raises(StageTransitionError, match="'Engaged' to stage 'Identified'"):
        group.move_to_stage(_stages(), "Identified")


def test_new_group_must_start_in_an_entry_stage() -> None:
    group = BuyingGroup(account_external_id="A", solution_interest="S", template_name="T")
    with pytest.raises(StageTransitionError, match="entry stage"):
        group.move_to_stage(_stages(), "Won")


def test_stage_model_needs_exactly_one_success_stage() -> None:
    with pytest.raises(ValueError, match="exactly one success"):
        StageModel(
            name="Bad",
            stages=(
                Stage(name="A", kind=StageKind.ENTRY, next=("B",)),
                Stage(name="B", kind=StageKind.FAILURE),
            ),
        )


def test_status_longer_than_50_characters_is_refused() -> None:
    group = BuyingGroup(account_external_id="A", solution_interest="S", template_name="T")
    assert group.with_status("x" * 50).status == "x" * 50
    with pytest.raises(StatusTooLongError):
        group.with_status("x" * 51)


def test_rule_cannot_undo_a_manual_removal() -> None:
    group = BuyingGroup(account_external_id="A", solution_interest="S", template_name="T")
    group = group.assign(Member(person_external_id="P", role="Champion", source=MemberSource.RULE))
    group = group.remove("P", MemberSource.MANUAL)
    with pytest.raises(MemberPrecedenceError):
        group.assign(Member(person_external_id="P", role="Champion", source=MemberSource.RULE))
    assert group.active_members() == []


@pytest.mark.parametrize(
    ("existing", "incoming", "allowed"),
    [
        (MemberSource.RULE, MemberSource.MODEL, True),
        (MemberSource.MODEL, MemberSource.RULE, True),
        (MemberSource.IMPORT, MemberSource.RULE, False),
        (MemberSource.JOURNEY, MemberSource.IMPORT, False),
        (MemberSource.MANUAL, MemberSource.JOURNEY, False),
        (MemberSource.JOURNEY, MemberSource.MANUAL, True),
    ],
)
def test_member_precedence(existing: MemberSource, incoming: MemberSource, allowed: bool) -> None:
    assert may_override(existing, incoming) is allowed


def test_solution_interest_template_is_fixed() -> None:
    interest = SolutionInterest(name="Security", role_template="Security")
    with pytest.raises(ConflictError):
        interest.change_template("Other")


def test_filter_audience_selects_children_when_asked() -> None:
    accounts = [
        Account(external_id="P", name="Parent", products_owned=("Data Cloud",), revenue=5e6),
        Account(external_id="C", name="Child", parent_external_id="P"),
        Account(external_id="X", name="Small", products_owned=("Data Cloud",), revenue=1e5),
    ]
    rule = AccountFilter(products_owned_any=("data cloud",), revenue_gte=1e6)
    audience = AccountAudience(name="A", kind=AudienceKind.FILTER, filter=rule)
    assert audience.select(accounts) == ["P"]
    with_children = rule.model_copy(update={"include_children": True})
    assert audience.model_copy(update={"filter": with_children}).select(accounts) == ["P", "C"]


def test_review_decisions_become_labels() -> None:
    review = Review(
        person_external_id="P",
        solution_interest="S",
        reason=ReviewReason.DISAGREEMENT,
        rule_role="Influencer",
        model_role="Decision Maker",
        model_confidence=0.7,
    )
    decided = review.decide(ReviewDecision.ACCEPT_MODEL, "reviewer@example.com")
    assert decided.decided_role == "Decision Maker" and decided.decided_at is not None
    with pytest.raises(ConflictError):
        decided.decide(ReviewDecision.ACCEPT_RULE, "x")
    with pytest.raises(InvariantError, match="role"):
        review.decide(ReviewDecision.OTHER_ROLE, "x")
    assert review.decide(ReviewDecision.NOT_A_MEMBER, "x").decided_role is None
