"""Leave-one-member-out evaluation of the missing-role recommender on the demo CRM.

Run: `make bench-recommend` (the `medium` demo CRM: 2k accounts, 50k persons) or `--short`
(the `small` one). For each demo solution interest:

1. **Truth.** Each person's true role comes from their true persona, as in
   `benchmarks/role_model_benchmark.py` (the persona's most frequent card role over the
   clean titles the demo composes for it). The truth is thus partly the template's own
   rules: "rules only" is scored against rules applied to clean titles.
2. **Split by company.** 30 % of the companies (account trees; seeded) are test companies.
   The role model is trained (`train_roles`) on the persons of the other companies, except
   anyone whose normalised title also occurs in a test company: no title is on both sides.
3. **Test groups.** In each test account, a random half of the persons with a true role are
   manual members; the other half stay out, as real CRMs hold people nobody has assigned.
4. **Leave one member out.** For each test member (up to ``--cases``), the member is taken
   out (inside a transaction that is rolled back) and the recommender is asked for that role.
   A hit is the member, or any unassigned person of the company whose true role is that role;
   the first hit's rank gives hit@1, hit@5 and the reciprocal rank (0 when none is listed).

Recommenders compared: rules + role model (what the API serves when the interest has a
role model), rules only, and the exact expectation of drawing at random from the eligible
pool (the company's persons who are not members).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from role_model_benchmark import (
    INTERESTS,
    interest_cards,
    interest_ids,
    seeded_engine,
    simulate_confirmed,
    truth_table,
)
from sqlalchemy import Engine, delete, insert, select

from buying_groups.assignment.rules import RuleMatcher
from buying_groups.generation.recommendations import RecommendationService
from buying_groups.ml.registry import load_champion
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.ml.title_normaliser import normalise_title
from buying_groups.storage.database import make_session_factory
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    MemberRow,
    PersonRow,
)
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from buying_groups_demo.crm import DEMO_REFERENCE_DATE
from training.role_data import NO_ROLE, title_cards
from training.role_pipeline import WeakEvaluationWarning, train_roles

TEST_SHARE = 0.3
MEMBER_SHARE = 0.5
SEED = 0


def add_test_groups(engine: Engine, interest: str, members: pd.DataFrame) -> None:
    """Manual members (true roles) in groups of the test accounts, beside the training ones."""
    with engine.begin() as conn:
        interest_id, template_id, role_ids = interest_ids(conn, interest)
        accounts = sorted({int(a) for a in members["account_id"]})
        conn.execute(
            delete(BuyingGroupRow).where(
                BuyingGroupRow.solution_interest_id == interest_id,
                BuyingGroupRow.account_id.in_(accounts),
            )
        )
        conn.execute(
            insert(BuyingGroupRow),
            [
                {
                    "account_id": a,
                    "solution_interest_id": interest_id,
                    "role_template_id": template_id,
                }
                for a in accounts
            ],
        )
        query = select(BuyingGroupRow.account_id, BuyingGroupRow.id).where(
            BuyingGroupRow.solution_interest_id == interest_id,
            BuyingGroupRow.account_id.in_(accounts),
        )
        groups = {account: group for account, group in conn.execute(query)}
        rows = [
            {
                "group_id": groups[int(account)],
                "person_id": int(person),
                "role_id": role_ids[role],
                "source": "manual",
                "is_removed": False,
            }
            for person, account, role in members[
                ["person_id", "account_id", "true_role"]
            ].itertuples(index=False, name=None)
        ]
        conn.execute(insert(MemberRow), rows)


def first_hit(relevant: set[str], candidates: list[str]) -> int | None:
    """1-based rank of the first relevant candidate, or None when none is listed."""
    for rank, person in enumerate(candidates, start=1):
        if person in relevant:
            return rank
    return None


def leave_one_out(
    engine: Engine,
    interest: str,
    cases: pd.DataFrame,
    truth: pd.DataFrame,
    model: TitleClassifier,
    version: str,
) -> pd.DataFrame:
    """Per case: the first hit's rank under each recommender; the pool and its hits."""
    factory = make_session_factory(engine)
    external_ids = _external_ids(engine)
    role_of = dict(zip(truth["person_id"].map(external_ids), truth["true_role"], strict=True))
    rows = []
    for person_id, role in cases[["person_id", "true_role"]].itertuples(index=False, name=None):
        with factory() as session:
            external, account = session.execute(
                select(PersonRow.external_id, AccountRow.external_id)
                .join(AccountRow, AccountRow.id == PersonRow.account_id)
                .where(PersonRow.id == int(person_id))
            ).one()
            session.execute(delete(MemberRow).where(MemberRow.person_id == int(person_id)))
            # Joined: the deleted members are rolled back when the session closes.
            uow = SqlUnitOfWork.joining(session)
            pool = RecommendationService(uow).eligible_persons(interest, account)
            relevant = {p for p in pool if role_of.get(p) == role}
            assert external in relevant
            row: dict[str, object] = {"role": role, "pool": len(pool), "relevant": len(relevant)}
            for name, service in (
                ("rules + role model", RecommendationService(uow, model, version)),
                ("rules only", RecommendationService(uow)),
            ):
                answer = service.recommend(
                    interest, account, role=role, limit=100_000, as_of=DEMO_REFERENCE_DATE
                )
                found = [c.person_external_id for c in answer.roles[0].candidates]
                row[name] = first_hit(relevant, found)
            session.rollback()
        rows.append(row)
    return pd.DataFrame(rows)


def _external_ids(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {pid: ext for pid, ext in conn.execute(select(PersonRow.id, PersonRow.external_id))}


def random_expectation(pool: int, relevant: int) -> tuple[float, float, float]:
    """hit@1, hit@5 and MRR of a random order of ``pool`` persons, ``relevant`` of them hits."""
    total = math.comb(pool, relevant)
    first = [math.comb(pool - k, relevant - 1) / total for k in range(1, pool - relevant + 2)]
    return first[0], float(sum(first[:5])), float(sum(p / k for k, p in enumerate(first, 1)))


def scores(ranks: pd.DataFrame) -> pd.DataFrame:
    """hit@1, hit@5 and MRR per recommender; random is the exact expectation."""
    table = {}
    for name in ("rules + role model", "rules only"):
        rank = ranks[name].astype(float)
        table[name] = {
            "hit@1": float((rank == 1).mean()),
            "hit@5": float((rank <= 5).mean()),
            "MRR": float(np.nan_to_num(1.0 / rank, nan=0.0).mean()),
        }
    expected = np.array(
        [random_expectation(int(n), int(r)) for n, r in ranks[["pool", "relevant"]].to_numpy()]
    )
    names = ("hit@1", "hit@5", "MRR")
    table["random (expected)"] = dict(zip(names, expected.mean(axis=0), strict=True))
    return pd.DataFrame(table).T.astype(float).round(3)


def company_of(engine: Engine) -> dict[int, int]:
    """account id -> the id of its company's root account."""
    with engine.connect() as conn:
        parents = dict(conn.execute(select(AccountRow.id, AccountRow.parent_id)).all())
    roots = {}
    for account in parents:
        root, seen = account, {account}
        while parents.get(root) is not None and parents[root] not in seen:
            root = parents[root]
            seen.add(root)
        roots[account] = root
    return roots


def run_interest(engine: Engine, interest: str, max_cases: int, store: Path) -> None:
    """Split, train, build the test groups, evaluate, print."""
    matcher = RuleMatcher(title_cards(interest_cards(engine, interest)))
    truth = truth_table(engine, matcher)
    rng = np.random.default_rng(SEED)
    roots = company_of(engine)
    truth["company"] = truth["account_id"].map(roots)
    companies = np.array(sorted(truth["company"].unique()))
    test_companies = set(
        rng.choice(companies, size=round(TEST_SHARE * len(companies)), replace=False)
    )
    is_test = truth["company"].isin(test_companies)
    keys = truth["title"].map(normalise_title)
    train = truth[~is_test & ~keys.isin(set(keys[is_test]))]
    simulate_confirmed(engine, interest, train, len(train))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakEvaluationWarning)
        result = train_roles(
            engine,
            interest,
            name=f"rec-bench-{interest.casefold().replace(' ', '-')}",
            promote=True,
            tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
            artifact_root=str(store / "artifacts"),
            log_plots=False,
            progress=False,
        )
    loaded = load_champion(f"sqlite:///{store / 'mlflow.db'}", result.name)
    assert loaded is not None
    with_role = truth[is_test & (truth["true_role"] != NO_ROLE)]
    members = with_role.sample(frac=MEMBER_SHARE, random_state=SEED)
    add_test_groups(engine, interest, members)
    cases = members.sample(n=min(max_cases, len(members)), random_state=SEED)
    ranks = leave_one_out(engine, interest, cases, truth[is_test], loaded[0], loaded[1])
    print(
        f"\n== {interest}: role model trained on {len(train)} persons of "
        f"{len(companies) - len(test_companies)} companies (no test title among them) in "
        f"{time.perf_counter() - started:.0f} s; {len(cases)} members left out of "
        f"{members['account_id'].nunique()} test groups (eligible pool {ranks['pool'].mean():.0f}"
        f" persons on average, {ranks['relevant'].mean():.1f} of them with the role)"
    )
    print(scores(ranks).to_string())


def main() -> None:
    """Parse arguments and evaluate both demo interests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="small demo CRM (1,500 persons)")
    parser.add_argument("--cases", type=int, default=500, help="members left out per interest")
    args = parser.parse_args()
    engine = seeded_engine("small" if args.short else "medium")
    with tempfile.TemporaryDirectory(prefix="rec-bench-mlflow-") as store:
        for interest in INTERESTS:
            run_interest(engine, interest, args.cases, Path(store))
    engine.dispose()


if __name__ == "__main__":
    main()
