"""Generation jobs: create or maintain the buying groups of an audience x solution interest.

A job processes the audience's accounts in ascending id, in batches; each batch and the
job's cursor are written in one transaction, so a job that dies can be resumed by id and
continues after the last finished account, without duplicates. After the accounts, the
group engagement of all the interest's groups is recomputed in one pass (its scale depends
on the best group of the interest).

Jobs may run at the same time, in several processes: each batch transaction first takes
the interest's group lock (``UnitOfWork.lock_interest_groups``), so batches of jobs on one
interest, and people's member changes, take turns; a batch that still loses a race (a
deadlock, a duplicate) is rolled back and run again on what is committed then
(``UnitOfWork.retrying``). A batch a second runner
of the same job already wrote (the cursor is past it) is skipped.

A failed job's ``error`` says what failed in plain words; the details (the exception, SQL
included) go to the log under the reference the error names. Domain errors, which are
written for the caller, keep their own message.

Modes: "rules" assigns by the live template's cards; "model" by the interest's role model
(a TitleClassifier whose target is the role, with a "No role" class); "hybrid" by both, the
rule winning and the model filling the rest, with review items where they disagree or the
model is unsure (``buying_groups.assignment.choice``). The caller hands the models in:
serving from its loaded champions, the CLI from the registry. Cards that test function,
seniority or persona read what the title model infers, in every mode.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from itertools import compress, islice
from operator import itemgetter
from typing import Any, Final

from buying_groups.assignment import (
    CRM_TEXT_ATTRIBUTES,
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
from buying_groups.assignment.rules import PersonFields
from buying_groups.domain.errors import ConflictError, DomainError, InvariantError, NotFoundError
from buying_groups.domain.groups import MemberSource
from buying_groups.generation.context import JobContext, load_context
from buying_groups.generation.events import record_batch_events
from buying_groups.generation.ports import (
    BatchCounts,
    DuplicateJobKeyError,
    GenerationStore,
    GroupRoleValues,
    JobRecord,
    ReviewProposal,
    StoredGroup,
    UnitOfWork,
)
from buying_groups.generation.reconcile import (
    Assignment,
    GroupScorer,
    GroupScores,
    MemberPlan,
    StoredMember,
    reconcile_members,
)
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.scores.engagement import FloatArray

log = logging.getLogger(__name__)
Progress = Callable[[int], None]
# 2,000 accounts (about 40k persons) per transaction: per-batch statement compilation and
# round trips cost about 2 s of a 50k-account job at 500; memory stays small either way.
DEFAULT_BATCH_SIZE: Final = 2_000
#: The fields jobs read of a person. The store hands persons over as plain tuples laid out
#: as PersonRecord (a million per job: naming each row costs more than it explains).
_person_id, _account_id, _title = (
    itemgetter(PersonRecord._fields.index(name))
    for name in ("person_id", "account_id", "job_title")
)


#: How members are found: the template's rules, the role model, or both (the core's Mode).
GenerationMode = Mode


class JobState(StrEnum):
    """Life of a job; a failed or interrupted job can be resumed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TitleModelRequiredError(ConflictError):
    """Model and hybrid generation need the solution interest's role model, and none is loaded."""

    title = "Title model required"


@dataclass(frozen=True)
class GenerationReport(JobRecord):
    """A job's state, progress and counts, as stored in its row.

    ``engagement_updated`` is how many groups' engagement the run that finished the job
    changed; it is not stored, so a report read back later says None.
    """

    engagement_updated: int | None = None

    @classmethod
    def of(cls, record: JobRecord, engagement_updated: int | None) -> GenerationReport:
        """The report of a stored job."""
        return cls(**asdict(record), engagement_updated=engagement_updated)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        data = asdict(self)
        for key in ("started_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass
class _Step:
    """What a running job is doing, for its error message if it fails."""

    doing: str = "starting"


@dataclass(frozen=True)
class _Assigner:
    """What a job assigns with: the rules, the role model (with its thresholds), or both."""

    mode: GenerationMode
    matcher: RuleMatcher
    insights: TitleInsights
    thresholds: Thresholds

    @property
    def uses_model(self) -> bool:
        """Whether the role model decides (model and hybrid modes)."""
        return self.mode is not GenerationMode.RULES and self.insights.role_model is not None

    @property
    def owned(self) -> tuple[str, ...]:
        """The member sources this job speaks for (and may remove)."""
        return {
            GenerationMode.RULES: (MemberSource.RULE.value,),
            GenerationMode.MODEL: (MemberSource.MODEL.value,),
            GenerationMode.HYBRID: (MemberSource.RULE.value, MemberSource.MODEL.value),
        }[self.mode]

    @property
    def attributes(self) -> tuple[str, ...]:
        """The person attributes to read: those the rules test, and the title for the model."""
        used = set(self.matcher.attributes) if self.mode is not GenerationMode.MODEL else set()
        if self.uses_model:
            used.add("job_title")
        return tuple(a for a in CRM_TEXT_ATTRIBUTES if a in used)


# --------------------------------------------------------------------------- public API


def run_generation(
    uow: UnitOfWork,
    *,
    solution_interest: str,
    audience: str,
    mode: str = "rules",
    role_model: TitleClassifier | None = None,
    model_version: str | None = None,
    title_model: TitleClassifier | None = None,
    job_id: int | None = None,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> GenerationReport:
    """Create a job and run it; or resume job ``job_id``.

    A known ``idempotency_key`` returns that key's job as it stands and runs nothing.

    Args:
        uow: the database (each batch is one of its transactions).
        solution_interest: name of the solution interest (its live template assigns).
        audience: name of the account audience, evaluated when the job (re)starts.
        mode: "rules", "model" or "hybrid"; the last two need ``role_model``
            (TitleModelRequiredError otherwise).
        role_model: the interest's role model (target: the role, with a "No role" class).
        model_version: the role model's registry version, kept in the evidence.
        title_model: the title champion; cards that test function, seniority or persona
            see what it infers (without it those attributes are absent).
        job_id: resume this job instead of creating one.
        idempotency_key: a caller's key; the same key never creates a second job.
        as_of: end of the engagement window; defaults to when the job first started.
        progress: called with the number of accounts of each batch once it is committed.
        batch_size: accounts per transaction.
    """
    if job_id is None:
        if idempotency_key is not None and (found := _job_by_key(uow, idempotency_key)):
            return _check_same_request(found, solution_interest, audience, mode)
        job_id = create_job(
            uow,
            solution_interest=solution_interest,
            audience=audience,
            mode=mode,
            idempotency_key=idempotency_key,
            role_model=role_model,
        )
    return run_job(
        uow,
        job_id,
        role_model=role_model,
        model_version=model_version,
        title_model=title_model,
        as_of=as_of,
        progress=progress,
        batch_size=batch_size,
    )


def create_job(
    uow: UnitOfWork,
    *,
    solution_interest: str,
    audience: str,
    mode: str = "rules",
    idempotency_key: str | None = None,
    role_model: TitleClassifier | None = None,
) -> int:
    """Store a queued job (for an API to run it in the background); returns its id.

    An existing ``idempotency_key`` returns the id of its job instead. ``role_model`` is
    only checked for presence (model and hybrid modes need one); the runner hands it in.
    """
    checked = check_mode(mode, role_model, solution_interest)
    try:
        with uow:
            interest_id = uow.configuration.interest_ref(solution_interest).id
            audience_id = uow.configuration.audience_id(audience)
            return uow.jobs.add(interest_id, audience_id, checked.value, idempotency_key)
    except DuplicateJobKeyError:
        # Another caller stored the same key between our look-up and our insert.
        found = _job_by_key(uow, idempotency_key) if idempotency_key else None
        if found is None:
            raise
        return _check_same_request(found, solution_interest, audience, mode).job_id


def run_job(
    uow: UnitOfWork,
    job_id: int,
    *,
    role_model: TitleClassifier | None = None,
    model_version: str | None = None,
    title_model: TitleClassifier | None = None,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> GenerationReport:
    """Run a queued job, or resume a failed or interrupted one after its cursor.

    A job that already succeeded is returned as it is. Errors mark the job failed (with
    a plain description and a log reference, or a domain error's message) and are raised
    again. Model and hybrid jobs need ``role_model``.
    """
    report = get_job(uow, job_id)
    if report.state == JobState.SUCCEEDED:
        return report
    mode = check_mode(report.mode, role_model, report.solution_interest)
    # The role model's answers feed role_probability conditions in every mode.
    insights = TitleInsights(title_model, role_model, role_model_version=model_version)
    with uow:
        started = uow.jobs.start(job_id)
    step = _Step()
    try:
        changed = _process(
            uow, report, (mode, insights), as_of or started, (progress, step), batch_size
        )
    except BaseException as exc:
        with uow:
            uow.jobs.fail(job_id, _failure(job_id, exc, step.doing)[:2000])
        raise
    return get_job(uow, job_id, engagement_updated=changed)


def get_job(
    uow: UnitOfWork, job_id: int, *, engagement_updated: int | None = None
) -> GenerationReport:
    """The stored state of a job, or NotFoundError."""
    with uow:
        record = uow.jobs.get(job_id)
    if record is None:
        raise NotFoundError(f"generation job {job_id} does not exist")
    return GenerationReport.of(record, engagement_updated)


def unfinished_jobs(uow: UnitOfWork) -> list[int]:
    """Ids of the jobs that were queued or running (to resume), oldest first."""
    with uow:
        return uow.jobs.unfinished()


def check_mode(
    mode: str,
    role_model: TitleClassifier | None = None,
    solution_interest: str | None = None,
) -> GenerationMode:
    """The mode, if it can run: model and hybrid need the interest's role model."""
    try:
        checked = GenerationMode(mode)
    except ValueError:
        names = ", ".join(m.value for m in GenerationMode)
        raise InvariantError(f"unknown mode {mode!r}; use one of {names}", field="mode") from None
    if checked is not GenerationMode.RULES and role_model is None:
        name = f'"{solution_interest}"' if solution_interest else "NAME"
        raise TitleModelRequiredError(
            f"mode {checked.value!r} needs a title model: the solution interest's role model, "
            f"and none is loaded; train and promote one with "
            f"`buying-groups train roles --solution-interest {name}`, or use mode 'rules'"
        )
    return checked


# --------------------------------------------------------------------------- job rows


def _job_by_key(uow: UnitOfWork, key: str) -> GenerationReport | None:
    with uow:
        record = uow.jobs.by_key(key)
    return GenerationReport.of(record, None) if record else None


def _check_same_request(
    found: GenerationReport, solution_interest: str, audience: str, mode: str
) -> GenerationReport:
    """A reused idempotency key must come with the same request."""
    if (found.solution_interest, found.audience, found.mode) != (solution_interest, audience, mode):
        raise ConflictError(
            f"idempotency key already used by job {found.job_id} for "
            f"{found.solution_interest!r} x {found.audience!r} ({found.mode})"
        )
    return found


def _failure(job_id: int, exc: BaseException, doing: str) -> str:
    """The error a failed job shows: no SQL or internals, which go to the log instead.

    A domain error is written for the caller and shown as it is; anything else is logged
    with its traceback under a short reference that the shown text names.
    """
    if isinstance(exc, DomainError):
        log.warning("generation job %s failed while %s: %s", job_id, doing, exc)
        return str(exc)
    reference = uuid.uuid4().hex[:8]
    log.error(
        "generation job %s failed while %s (reference %s)", job_id, doing, reference, exc_info=exc
    )
    if not isinstance(exc, Exception):
        return f"the job was interrupted while {doing} (reference {reference}); resume it"
    return f"the job failed while {doing} (reference {reference}); see the server log"


def _advance(uow: UnitOfWork, job_id: int, cursor: int, accounts: int, counts: BatchCounts) -> None:
    """Move the cursor and add the batch's counts, in the batch's transaction."""
    uow.jobs.advance(job_id, cursor, accounts, counts)


# --------------------------------------------------------------------------- processing


def _batches(items: Sequence[int], size: int) -> Iterator[list[int]]:
    """Consecutive slices of ``size`` items (itertools.batched needs Python 3.12)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _process(
    uow: UnitOfWork,
    report: GenerationReport,
    how: tuple[GenerationMode, TitleInsights],
    as_of: datetime,
    tracking: tuple[Progress | None, _Step],
    batch_size: int,
) -> int:
    """Process the accounts after the cursor, then refresh engagement and finish the job."""
    progress, step = tracking
    step.doing = "reading the solution interest, its template and the audience"
    context = load_context(uow, report.solution_interest, report.audience)
    pending = [a for a in context.account_ids if a > report.cursor_account_id]
    step.doing = "computing the engagement of persons"
    with uow:
        uow.jobs.set_total(report.job_id, report.processed_accounts + len(pending))
        engagement = uow.generation.person_engagement(as_of)
    thresholds = Thresholds(context.model_accept_threshold, context.model_review_threshold)
    mode, insights = how
    assigner = _Assigner(mode, RuleMatcher(context.cards, insights), insights, thresholds)
    scorer = GroupScorer(context.card_scores)
    step.doing = "writing groups"
    for batch in _batches(pending, batch_size):
        _write_batch(uow, report.job_id, context, (assigner, scorer), engagement, batch)
        if progress:
            progress(len(batch))
    step.doing = "refreshing the engagement of groups"
    return _finish(uow, report.job_id, context.interest_id, engagement)


def _write_batch(
    uow: UnitOfWork,
    job_id: int,
    context: JobContext,
    caches: tuple[_Assigner, GroupScorer],
    engagement: FloatArray,
    batch: Sequence[int],
) -> None:
    """Write one batch and move the cursor in one transaction, under the interest's lock;
    run again from what is committed then if it loses a write race."""

    def transaction() -> None:
        with uow:
            uow.lock_interest_groups(context.interest_id)
            cursor = uow.jobs.cursor(job_id)
            # Another runner of this job (a second process resuming it) may have written these.
            todo = [a for a in batch if a > cursor]
            if todo:
                counts = _process_batch(uow.generation, context, caches, engagement, todo)
                _advance(uow, job_id, todo[-1], len(todo), counts)

    uow.retrying(transaction)()


def _finish(uow: UnitOfWork, job_id: int, interest_id: int, engagement: FloatArray) -> int:
    """Refresh the engagement of the interest's groups and mark the job succeeded."""

    def transaction() -> int:
        with uow:
            uow.lock_interest_groups(interest_id)
            changed = uow.generation.refresh_group_engagement(interest_id, engagement)
            uow.jobs.succeed(job_id)
        return changed

    return uow.retrying(transaction)()


def _process_batch(
    store: GenerationStore,
    context: JobContext,
    caches: tuple[_Assigner, GroupScorer],
    engagement: FloatArray,
    account_ids: Sequence[int],
) -> BatchCounts:
    """Match, reconcile and write the groups (and review items) of one batch of accounts.

    ``caches`` live for the whole job: card matches per class of persons, model answers
    per title, scores per pattern of members per role.
    """
    assigner, scorer = caches
    stored = store.load_groups(context.interest_id, account_ids)
    # A deleted group was deleted on purpose: a job does not bring it back.
    live = [a for a in account_ids if not (a in stored and stored[a].is_deleted)]
    group_ids = {a: stored[a].group_id for a in live if a in stored}
    plans, reviews = _plan_batch(store, context, assigner, engagement, live, group_ids)
    scores = {a: scorer(plan.assigned_by_role) for a, plan in plans.items()}
    new = {a: s for a, s in scores.items() if a not in group_ids}
    created = store.insert_groups(context.interest_id, context.template_id, new)
    updated = _write_existing_scores(store, stored, group_ids, scores)
    all_ids = group_ids | created
    record_batch_events(store, context, plans, all_ids, set(created))
    _write_members(store, plans, all_ids)
    _write_roles(store, scores, all_ids, store.load_group_roles(list(group_ids.values())))
    counts = BatchCounts(groups_created=len(created))
    if assigner.uses_model:
        proposed = {review.person_id for review in reviews}
        store.withdraw_reviews(context.interest_id, live, proposed)
    counts.reviews_created = store.write_reviews(context.interest_id, reviews)
    for account_id, plan in plans.items():
        counts.members_added += plan.added
        counts.members_removed += plan.removed
        counts.members_changed += plan.changed
        in_place = account_id in group_ids
        if in_place and (plan.touches_members or account_id in updated):
            counts.groups_updated += 1
    return counts


def _plan_batch(
    store: GenerationStore,
    context: JobContext,
    assigner: _Assigner,
    engagement: FloatArray,
    account_ids: Sequence[int],
    group_ids: dict[int, int],
) -> tuple[dict[int, MemberPlan], list[ReviewProposal]]:
    """account id -> member plan, and the review items of the batch's persons."""
    matches: dict[int, dict[int, Assignment]] = {a: {} for a in account_ids}
    persons = store.load_persons(account_ids, assigner.attributes)
    members = store.load_members(list(group_ids.values()))
    reviews: list[ReviewProposal] = []
    if not assigner.uses_model:
        _rule_matches(assigner.matcher, persons, engagement, matches)
    else:
        protected = _protected_persons(members)
        found = _model_matches(context, assigner, persons, engagement, matches)
        reviews = [r for r in found if r.person_id not in protected]
    plans = {
        a: reconcile_members(
            matches[a], members.get(group_ids.get(a, -1), ()), context.role_ids, assigner.owned
        )
        for a in account_ids
    }
    return plans, reviews


def _rule_matches(
    matcher: RuleMatcher,
    persons: Sequence[PersonFields],
    engagement: FloatArray,
    matches: dict[int, dict[int, Assignment]],
) -> None:
    """Fill ``matches`` with the persons' first matching cards (rules mode)."""
    found = matcher.match_many(persons, engagement)
    # compress/filter run in C: only the few matched persons (about 5%) reach Python.
    for person, match in zip(compress(persons, found), filter(None, found), strict=True):
        matches[_account_id(person)][_person_id(person)] = match


def _model_matches(
    context: JobContext,
    assigner: _Assigner,
    persons: Sequence[PersonFields],
    engagement: FloatArray,
    matches: dict[int, dict[int, Assignment]],
) -> list[ReviewProposal]:
    """Fill ``matches`` by rule and model (the core's ``decide``); returns the review items."""
    model = assigner.insights
    hybrid = assigner.mode is GenerationMode.HYBRID
    rules = assigner.matcher.match_many(persons, engagement) if hybrid else [None] * len(persons)
    model.predict(map(_title, persons))
    chosen: list[tuple[PersonFields, CardMatch | None, Outcome]] = []
    for person, rule in zip(persons, rules, strict=True):
        answer = model.answer(_title(person))
        outcome = decide(assigner.mode, rule, answer, assigner.thresholds, context.role_ids)
        if outcome.assign is not None or outcome.review is not None:
            chosen.append((person, rule, outcome))
    # Evidence (nearest titles) only for the titles that become members or reviews.
    model.explain(_title(p) for p, _, o in chosen if o.review or o.assign == MemberSource.MODEL)
    reviews = []
    for person, rule, outcome in chosen:
        if outcome.assign == MemberSource.RULE and rule is not None:
            matches[_account_id(person)][_person_id(person)] = rule
        elif outcome.assign == MemberSource.MODEL:
            matches[_account_id(person)][_person_id(person)] = model.match(_title(person))
        if outcome.review is not None:
            proposal = _review(context, model, person, rule, outcome)
            if proposal is not None:
                reviews.append(proposal)
    return reviews


def _review(
    context: JobContext,
    model: TitleInsights,
    person: PersonFields,
    rule: CardMatch | None,
    outcome: Outcome,
) -> ReviewProposal | None:
    """The review item of one person; None if the model names a role the catalogue lacks."""
    answer = model.answer(_title(person))
    assert answer is not None and outcome.review is not None
    model_role_id = _model_role_id(context, answer)
    if answer.label != NO_ROLE and model_role_id is None:
        return None
    return ReviewProposal(
        person_id=_person_id(person),
        reason=outcome.review.value,
        rule_role_id=context.role_ids[rule.role] if rule is not None else None,
        model_role_id=model_role_id,
        model_confidence=round(answer.confidence, 4),
        evidence={
            "rule": rule.evidence if rule else None,
            "model": model.evidence(_title(person)),
        },
    )


def _model_role_id(context: JobContext, answer: ModelAnswer) -> int | None:
    """The role id of the model's label; None for "No role" (or a role the catalogue lacks)."""
    return None if answer.label == NO_ROLE else context.all_role_ids.get(answer.label)


def _protected_persons(members: dict[int, list[StoredMember]]) -> set[int]:
    """Persons a higher source has decided about (kept or removed): no review for them."""
    job_sources = (MemberSource.RULE.value, MemberSource.MODEL.value)
    return {m.person_id for ms in members.values() for m in ms if m.source not in job_sources}


def _write_existing_scores(
    store: GenerationStore,
    stored: dict[int, StoredGroup],
    group_ids: dict[int, int],
    scores: dict[int, GroupScores],
) -> set[int]:
    """Store changed completeness of existing groups; returns the accounts whose changed."""
    changed = {
        a: scores[a]
        for a in group_ids
        if scores[a].completeness != stored[a].completeness
        or scores[a].role_completeness != stored[a].role_completeness
    }
    store.update_group_scores({group_ids[a]: s for a, s in changed.items()})
    return set(changed)


def _write_members(
    store: GenerationStore, plans: dict[int, MemberPlan], group_ids: dict[int, int]
) -> None:
    """Insert, update and remove members in three bulk statements."""
    inserts = [(group_ids[a], w) for a, p in plans.items() for w in p.writes if w.member_id is None]
    updates = [w for p in plans.values() for w in p.writes if w.member_id is not None]
    removals = [m for p in plans.values() for m in p.removals]
    store.insert_members(inserts)
    store.update_members(updates)
    store.remove_members(removals)


def _write_roles(
    store: GenerationStore,
    scores: dict[int, GroupScores],
    group_ids: dict[int, int],
    stored: dict[int, set[GroupRoleValues]],
) -> None:
    """Write the group_roles rows that differ from what is stored."""
    rows = [
        (group_ids[a], values)
        for a, s in scores.items()
        for values in s.roles
        if values not in stored.get(group_ids[a], set())
    ]
    store.write_group_roles(rows)
