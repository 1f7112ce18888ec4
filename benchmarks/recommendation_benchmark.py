"""Leave-one-member-out evaluation of the missing-role recommender on the demo CRM.

Run: `make bench-recommend` (the `medium` demo CRM: 2k accounts, 50k persons) or `--short`
(the `small` one). For each demo solution interest:

1. **Truth.** Each person's true role comes from their true persona, as in
   `benchmarks/role_model_benchmark.py` (the persona's most frequent card role over the
   clean titles the demo composes for it).
2. **Training accounts.** 70 % of the accounts (seeded split) get their persons confirmed
   (true roles as manual members, "No role" as manual removals) and the interest's role
   model is trained on them (`train_roles`, which never sees the other accounts).
3. **Test groups.** In the other 30 %, every person with a true role becomes a manual member.
4. **Leave one member out.** For each test member (up to ``--cases``), the member is taken
   out (inside a transaction that is rolled back) and the recommender is asked for that
   role; the member's rank among the candidates gives hit@1, hit@5 and the reciprocal rank
   (0 when not recommended at all).

Recommenders compared: rules + role model (what the API serves when the interest has a
role model), rules only, and the expected score of drawing at random from the eligible pool
(the company's persons who are not members).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from role_model_benchmark import (
    INTERESTS,
    interest_cards,
    seeded_engine,
    simulate_confirmed,
    truth_table,
)
from sqlalchemy import Engine, delete, insert, select

from buying_groups.demo.crm import DEMO_REFERENCE_DATE
from buying_groups.generation.matching import RuleMatcher
from buying_groups.generation.recommendations import RecommendationService
from buying_groups.ml.registry import load_champion
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.database import make_session_factory
from buying_groups.storage.tables import (
    AccountRow,
    BuyingGroupRow,
    MemberRow,
    PersonRow,
    RoleRow,
    SolutionInterestRow,
)
from training.role_data import NO_ROLE, title_cards
from training.role_pipeline import WeakEvaluationWarning, train_roles

TEST_SHARE = 0.3
SEED = 0


def add_test_groups(engine: Engine, interest: str, members: pd.DataFrame) -> None:
    """Manual members (true roles) in groups of the test accounts, beside the training ones."""
    with engine.begin() as conn:
        interest_id, template_id = conn.execute(
            select(SolutionInterestRow.id, SolutionInterestRow.role_template_id).where(
                SolutionInterestRow.name == interest
            )
        ).one()
        role_ids = {name: pk for name, pk in conn.execute(select(RoleRow.name, RoleRow.id))}
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


def rank_of(person: str, candidates: list[str]) -> int | None:
    """1-based rank, or None when the person is not recommended."""
    return candidates.index(person) + 1 if person in candidates else None


def leave_one_out(
    engine: Engine,
    interest: str,
    cases: pd.DataFrame,
    model: TitleClassifier,
    version: str,
) -> pd.DataFrame:
    """Per case: the member's rank under each recommender, and the eligible pool's size."""
    factory = make_session_factory(engine)
    rows = []
    for person_id, role in cases[["person_id", "true_role"]].itertuples(index=False, name=None):
        with factory() as session:
            external, account = session.execute(
                select(PersonRow.external_id, AccountRow.external_id)
                .join(AccountRow, AccountRow.id == PersonRow.account_id)
                .where(PersonRow.id == int(person_id))
            ).one()
            session.execute(delete(MemberRow).where(MemberRow.person_id == int(person_id)))
            row: dict[str, object] = {"role": role}
            for name, service in (
                ("rules + role model", RecommendationService(session, model, version)),
                ("rules only", RecommendationService(session)),
            ):
                answer = service.recommend(
                    interest, account, role=role, limit=100_000, as_of=DEMO_REFERENCE_DATE
                )
                found = [c.person_external_id for c in answer.roles[0].candidates]
                row[name] = rank_of(external, found)
            row["pool"] = len(RecommendationService(session).eligible_persons(interest, account))
            session.rollback()
        rows.append(row)
    return pd.DataFrame(rows)


def scores(ranks: pd.DataFrame) -> pd.DataFrame:
    """hit@1, hit@5 and MRR per recommender; random is the expectation over the pool."""
    table = {}
    for name in ("rules + role model", "rules only"):
        rank = ranks[name].astype(float)
        table[name] = {
            "hit@1": float((rank == 1).mean()),
            "hit@5": float((rank <= 5).mean()),
            "MRR": float(np.nan_to_num(1.0 / rank, nan=0.0).mean()),
        }
    pool = ranks["pool"].to_numpy(dtype=float)
    harmonic = np.array([np.sum(1.0 / np.arange(1, int(n) + 1)) for n in pool])
    table["random (expected)"] = {
        "hit@1": float(np.mean(1.0 / pool)),
        "hit@5": float(np.mean(np.minimum(5, pool) / pool)),
        "MRR": float(np.mean(harmonic / pool)),
    }
    return pd.DataFrame(table).T.round(3)


def run_interest(engine: Engine, interest: str, max_cases: int, store: Path) -> None:
    """Split, train, build the test groups, evaluate, print."""
    matcher = RuleMatcher(title_cards(interest_cards(engine, interest)))
    truth = truth_table(engine, matcher)
    rng = np.random.default_rng(SEED)
    accounts = np.array(sorted(truth["account_id"].unique()))
    test_accounts = set(rng.choice(accounts, size=round(TEST_SHARE * len(accounts)), replace=False))
    is_test = truth["account_id"].isin(test_accounts)
    train = truth[~is_test]
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
    members = truth[is_test & (truth["true_role"] != NO_ROLE)]
    add_test_groups(engine, interest, members)
    cases = members.sample(n=min(max_cases, len(members)), random_state=SEED)
    ranks = leave_one_out(engine, interest, cases, loaded[0], loaded[1])
    print(
        f"\n== {interest}: role model trained on {len(train)} persons of "
        f"{len(accounts) - len(test_accounts)} accounts in {time.perf_counter() - started:.0f} s;"
        f" {len(cases)} members left out of {len(set(members['account_id']))} test groups "
        f"(mean eligible pool {ranks['pool'].mean():.0f} persons)"
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
