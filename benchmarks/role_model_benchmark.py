"""Role models per solution interest on the demo CRM: per-role precision / recall / F1.

Run: `python benchmarks/role_model_benchmark.py` (the `medium` demo CRM: 2k accounts, 50k
persons) or `--short` (the `small` one: 40 accounts, 1,500 persons).

How the true roles and the "confirmed" memberships are simulated (nothing here is real):

1. **True role of a persona.** The demo CRM knows each person's true function and seniority
   (`demo_person_truths`). For each (function, seniority) the live template's title cards
   are applied to every *clean* title the demo generator composes for that persona, in all
   four languages (`buying_groups_demo.titles.clean_titles`); the persona's true role is
   the most frequent card role if at least 20 % of the clean titles get it, else "No role"
   (the demo rules list only a few titles per language, so a strict majority would call
   even "Security Director" "No role"). Cards that read engagement (Champion) are left
   out: a title cannot tell them.
2. **True role of a person** = the true role of their persona, whatever their messy title.
3. **Confirmed memberships.** A random share of the persons (``--confirmed``, default 30 %)
   is "confirmed": a person with a true role becomes a manual member in that role, a person
   with "No role" a manually removed member. A second scenario confirms only 150 persons,
   below ``min_confirmed`` (200), so weak rule labels are added to the training data.
4. **Training and scoring.** `train_roles` (tfidf embedder) holds out 20 % of the confirmed
   persons' distinct titles and scores the model on them; the rules (title cards on the raw
   messy title) are scored on the same held-out rows as the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select

from buying_groups.assignment.rules import RuleMatcher
from buying_groups.domain.role_templates import RoleCard
from buying_groups.ml.embedders import SparseTfidfEmbedder
from buying_groups.ml.persona import FittedModel
from buying_groups.ml.title_classifier import TitleClassifier
from buying_groups.storage.configuration_repository import ConfigurationRepository
from buying_groups.storage.database import make_engine, make_session_factory, unit_of_work, upgrade
from buying_groups.storage.tables import (
    BuyingGroupRow,
    DemoPersonTruthRow,
    MemberRow,
    PersonRow,
    RoleRow,
    SolutionInterestRow,
)
from buying_groups_demo.crm import DEMO_REFERENCE_DATE
from buying_groups_demo.seed import seed_demo
from buying_groups_demo.titles import clean_titles
from training.default_model import DEFAULT_TITLES
from training.role_data import NO_ROLE, title_cards
from training.role_pipeline import WeakEvaluationWarning, train_roles
from training.title_metrics import target_metrics

INTERESTS = ("Secure Edge", "Data Cloud")
LANGUAGES = ("en", "de", "fr", "nl")
#: A persona's true role needs at least this share of its clean titles to match its card.
INTENT_SHARE = 0.2
#: Confirmed persons of the second scenario: below min_confirmed (200), so weak labels join.
FEW_CONFIRMED = 150


def seeded_engine(size: str) -> Engine:
    """The demo CRM of ``size`` in a SQLite file under /tmp, seeded on first use."""
    path = Path(tempfile.gettempdir()) / f"bg-role-bench-{size}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{partial}")
        upgrade(engine)
        started = time.perf_counter()
        seed_demo(engine, size, today=DEMO_REFERENCE_DATE)
        engine.dispose()
        partial.rename(path)
        print(f"seeded {size} in {time.perf_counter() - started:.0f} s")
    return make_engine(f"sqlite:///{path}")


def interest_cards(engine: Engine, interest: str) -> tuple[RoleCard, ...]:
    """The live template's cards of a solution interest."""
    with unit_of_work(make_session_factory(engine)) as session:
        repository = ConfigurationRepository(session)
        template = repository.get_solution_interest(interest).role_template
        return repository.get_template(template).cards


def rule_role(matcher: RuleMatcher, title: str) -> str:
    """The role the title cards give a title, or "No role"."""
    found = matcher.match((0, 0, title, None, None, None), 0.0)
    return NO_ROLE if found is None else found.role


def persona_roles(matcher: RuleMatcher, personas: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(function, seniority) -> its most frequent card role over its clean titles.

    The role counts when at least :data:`INTENT_SHARE` of the persona's clean titles get it
    ("No role" otherwise): the demo rules list a few titles per language, so a strict
    majority would call even "Security Director" (47 % Decision Maker) "No role".
    """
    roles = {}
    for function, seniority in personas.itertuples(index=False, name=None):
        titles = [t for language in LANGUAGES for t in clean_titles(language, function, seniority)]
        votes = Counter(rule_role(matcher, title) for title in titles)
        votes.pop(NO_ROLE, None)
        best = votes.most_common(1)
        share = best[0][1] / len(titles) if best else 0.0
        roles[(function, seniority)] = best[0][0] if share >= INTENT_SHARE else NO_ROLE
    return roles


def truth_table(engine: Engine, matcher: RuleMatcher) -> pd.DataFrame:
    """Every person with a title: ids, title and true role."""
    query = (
        select(
            PersonRow.id,
            PersonRow.account_id,
            PersonRow.job_title,
            DemoPersonTruthRow.function,
            DemoPersonTruthRow.seniority,
        )
        .join(DemoPersonTruthRow, DemoPersonTruthRow.person_id == PersonRow.id)
        .where(PersonRow.job_title.is_not(None))
    )
    with engine.connect() as conn:
        columns = ["person_id", "account_id", "title", "function", "seniority"]
        frame = pd.DataFrame([tuple(row) for row in conn.execute(query)], columns=columns)
    roles = persona_roles(matcher, frame[["function", "seniority"]].drop_duplicates())
    keys = zip(frame["function"], frame["seniority"], strict=True)
    frame["true_role"] = [roles[key] for key in keys]
    return frame


def interest_ids(conn: Connection, interest: str) -> tuple[int, int, dict[str, int]]:
    """The interest's id, its live template's id, and role name -> role id."""
    interest_id, template_id = conn.execute(
        select(SolutionInterestRow.id, SolutionInterestRow.role_template_id).where(
            SolutionInterestRow.name == interest
        )
    ).one()
    role_ids = {name: pk for name, pk in conn.execute(select(RoleRow.name, RoleRow.id))}
    return interest_id, template_id, role_ids


def simulate_confirmed(engine: Engine, interest: str, truth: pd.DataFrame, count: int) -> int:
    """Replace the interest's groups by manual members for ``count`` random persons."""
    rng = np.random.default_rng(0)
    chosen = truth.iloc[np.sort(rng.choice(len(truth), size=min(count, len(truth)), replace=False))]
    with engine.begin() as conn:
        interest_id, template_id, role_ids = interest_ids(conn, interest)
        conn.execute(
            delete(BuyingGroupRow).where(BuyingGroupRow.solution_interest_id == interest_id)
        )
        rows = [
            {"account_id": int(account), "solution_interest_id": interest_id}
            | {"role_template_id": template_id}
            for account in sorted(set(chosen["account_id"]))
        ]
        if rows:
            conn.execute(insert(BuyingGroupRow), rows)
        groups = dict(
            conn.execute(
                select(BuyingGroupRow.account_id, BuyingGroupRow.id).where(
                    BuyingGroupRow.solution_interest_id == interest_id
                )
            ).all()
        )
        members = [
            {
                "group_id": groups[account],
                "person_id": int(person),
                "role_id": role_ids["Other" if role == NO_ROLE else role],
                "source": "manual",
                "is_removed": role == NO_ROLE,
            }
            for person, account, role in chosen[
                ["person_id", "account_id", "true_role"]
            ].itertuples(index=False, name=None)
        ]
        if members:
            conn.execute(insert(MemberRow), members)
    return len(chosen)


def per_role_table(truth: pd.Series, model: pd.Series, rules: pd.Series) -> pd.DataFrame:
    """Precision / recall / F1 per true role, for the model and the rules."""
    scored = {"model": target_metrics(truth, model), "rules": target_metrics(truth, rules)}
    rows = []
    for role in sorted(set(truth)):
        row: dict[str, object] = {"role": role, "support": int((truth == role).sum())}
        for who, metrics in scored.items():
            values = metrics["per_class"].get(role, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
            row |= {f"{who}_{k[0]}": round(values[k], 3) for k in ("precision", "recall", "f1")}
        rows.append(row)
    summary = {"role": "macro F1", "support": len(truth)}
    summary |= {f"{who}_f": round(m["macro_f1"], 3) for who, m in scored.items()}
    return pd.concat([pd.DataFrame(rows), pd.DataFrame([summary])], ignore_index=True)


def persona_model() -> FittedModel:
    """The default title model (function, seniority) trained in process on the default titles
    (open data and the project's seed titles, not the demo CRM)."""
    data = pd.read_csv(DEFAULT_TITLES, dtype=str, keep_default_na=False)
    model = TitleClassifier(embedder=SparseTfidfEmbedder())
    model.fit(data["title"].tolist(), data[["function", "seniority"]])
    return FittedModel(model, "default title model (data/default-titles)")


def run_scenario(
    engine: Engine,
    interest: str,
    share: float,
    store: Path,
    personas: list[FittedModel | None],
    seeds: int,
) -> list[dict[str, object]]:
    """Simulate confirmed labels, then per seed (split and model) and persona setting train,
    print the per-role scores of model and rules (first seed), and return macro-F1s."""
    matcher = RuleMatcher(title_cards(interest_cards(engine, interest)))
    truth = truth_table(engine, matcher)
    count = round(share * len(truth)) if share < 1 else int(share)
    confirmed = simulate_confirmed(engine, interest, truth, count)
    scores: list[dict[str, object]] = []
    for seed in range(seeds):
        for persona in personas:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WeakEvaluationWarning)
                result = train_roles(
                    engine,
                    interest,
                    name=f"role-bench-{interest.casefold().replace(' ', '-')}-{count}",
                    tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
                    artifact_root=str(store / "artifacts"),
                    log_plots=False,
                    progress=False,
                    persona_model=persona,
                    persona_min_confirmed=0,  # measured in both scenarios
                    seed=seed,
                )
            seconds = time.perf_counter() - started
            held_out = result.held_out
            rules = held_out["title"].map(lambda title: rule_role(matcher, title))
            table = per_role_table(held_out["true_role"], held_out["role"], rules)
            scores.append(
                {
                    "interest": interest,
                    "confirmed": confirmed,
                    "persona": "yes" if persona else "no",
                    "seed": seed,
                    "held_out": len(held_out),
                    "model_macro_f1": table["model_f"].iloc[-1],
                    "rules_macro_f1": table["rules_f"].iloc[-1],
                }
            )
            if seed:
                continue
            counts = result.label_counts or {}
            print(
                f"\n== {interest}: {confirmed} confirmed persons ({confirmed / len(truth):.1%}), "
                f"{sum(counts.get('weak', {}).values())} weak rows; held out "
                f"{len(held_out)} {result.evaluation_set} rows; trained in {seconds:.0f} s; "
                f"persona features: {'yes' if persona else 'no'}"
            )
            print(table.to_string(index=False))
    return scores


def main() -> None:
    """Parse arguments and run both scenarios for both demo interests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="small demo CRM (1,500 persons)")
    parser.add_argument(
        "--confirmed", type=float, default=0.3, help="share (< 1) or number of persons confirmed"
    )
    parser.add_argument(
        "--persona",
        choices=["with", "without", "both"],
        default="both",
        help="feed the default title model's persona probabilities to the role model",
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="splits and models per scenario (mean reported)"
    )
    args = parser.parse_args()
    engine = seeded_engine("small" if args.short else "medium")
    personas: list[FittedModel | None] = [] if args.persona == "with" else [None]
    if args.persona != "without":
        personas.append(persona_model())
    scores = []
    with tempfile.TemporaryDirectory(prefix="role-bench-mlflow-") as store:
        for interest in INTERESTS:
            for share in (args.confirmed, FEW_CONFIRMED):
                scores += run_scenario(engine, interest, share, Path(store), personas, args.seeds)
    engine.dispose()
    summary = (
        pd.DataFrame(scores)
        .groupby(["interest", "confirmed", "persona"], sort=False)[
            ["held_out", "model_macro_f1", "rules_macro_f1"]
        ]
        .mean()
        .round(3)
    )
    print(f"\nmacro-F1 on held-out confirmed rows, mean of {args.seeds} seeds:")
    print(summary.to_string())


if __name__ == "__main__":
    main()
