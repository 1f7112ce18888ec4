"""Demo CRM generator: synthetic accounts, persons, activities and the persons' true labels.

All data is **synthetic**. Company names are composed from made-up word parts, person names
are drawn independently from short lists of common first and last names, emails and phone
numbers are built from them: no row describes a real company or a real person.

Job titles are composed per language (en, de, fr, nl) from the vocabulary tables in
`titles.yaml` (see `titles.py`), then made messy (`title_noise.py`): abbreviations, gendered
and gender-inclusive forms, mixed languages, random case, typos, taglines, years, "@ Company".
The title language follows the person's country (DE/AT -> de, CH -> de or fr, FR -> fr,
BE -> nl or fr, NL -> nl, LU -> fr or de, US/GB/IE -> en); 30 % of people outside the English-
speaking countries have an English title anyway.

Labelling rule for the `truth` table (labels are exactly those of `buying_groups/data/
taxonomy.yaml`; the title is composed *from* the label, so the two always agree):

- **C-level/Owner** = a chief officer or owner. CEO, founders, owners, presidents, Managing
  Director, Geschäftsführer(in)/GF/Gesch.f., Vorstand, Inhaber(in), PDG, DG, Directeur Général,
  Gérant, Algemeen Directeur, DGA, Eigenaar -> function **Executive**. A CxO of a function is
  C-level in that function: CIO -> IT, CISO -> Security, CTO -> Engineering, CDO -> Data,
  CPO -> Product, CFO / Finanzvorstand -> Finance, General Counsel / CLO -> Legal, Chief
  Procurement Officer -> Procurement, CMO -> Marketing, CRO / Chief Sales Officer -> Sales,
  COO -> Operations, CHRO / Chief People Officer -> HR, CCO (Chief Customer Officer) ->
  Customer Success, Chief Sustainability Officer -> Other.
- **VP** = Vice President / VP / SVP / EVP, Bereichsleiter(in), General Manager (Executive).
- **Director** = Director / Dir. / Head of / Associate and Senior Director, Leiter(in),
  Abteilungsleiter(in), Leitung, Directeur/Directrice, Hoofd, Afdelingshoofd, Chief of Staff
  (Executive); the French department-head acronyms DSI, RSSI, DAF, DRH are Directors too.
- **Manager** = Manager / Mgr / Team Lead, Teamleiter(in), Gruppenleiter(in), Responsable,
  Chef d'équipe / de service / de produit, Teamleider.
- **Senior/Lead** = Senior / Sr. / Lead / Principal / Staff + an individual role, Product Owner,
  Fachexperte, "Confirmé", Expert.
- **Professional** = an individual role without rank (Analyst, Engineer, Referent,
  Sachbearbeiter, Chargé de, Medewerker, Account Executive, Account Manager / Accountmanager,
  Executive Assistant -> Other, Internal Auditor -> Finance).
- **Entry** = Junior / Jr. / Intern / Trainee / Working Student, Praktikant(in), Werkstudent(in),
  Azubi, Stagiaire, Alternant(e), Apprenti(e), Assistant(e) + unit, Stagiair.
- Tricky titles keep their real meaning: "Internal Audit Manager" is Finance / Manager,
  "International Sales Manager" Sales / Manager, "Intern - Marketing" Marketing / Entry.

Sizes: `small` (40 accounts, 1,500 persons; what tests use), `medium` (2,000 / 50,000) and
`large` (50,000 / 1,000,000; for benchmarks). Activities average about 5 per person at every
size (see `activities.py`). The output depends only on size and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from buying_groups_demo.accounts import generate_accounts
from buying_groups_demo.activities import generate_activities
from buying_groups_demo.persons import generate_persons

# Activities fall in the 30 days before this instant, so every run yields the same data.
DEMO_REFERENCE_DATE = datetime(2025, 6, 30, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSize:
    """How many accounts and persons a named demo size has."""

    accounts: int
    persons: int


SIZES: dict[str, DemoSize] = {
    "small": DemoSize(accounts=40, persons=1_500),
    "medium": DemoSize(accounts=2_000, persons=50_000),
    "large": DemoSize(accounts=50_000, persons=1_000_000),
}


class UnknownDemoSizeError(ValueError):
    """The requested demo size is not one of SIZES."""


@dataclass(frozen=True)
class DemoCRM:
    """The four demo tables; `truth` is kept apart so the pipeline can be evaluated on it.

    Attributes:
        accounts: external_id, name, domain, industry, employees, revenue, country,
            products_owned (list of product names), parent_external_id (None for top level).
        persons: external_id, account_external_id, first_name, last_name, email, job_title,
            department (often None), country, phone (often None).
        activities: external_id, person_external_id, type, occurred_at (UTC).
        truth: person_external_id, function, seniority, language.

    Text columns are `object` columns of Python `str` (or None), the same in pandas 2 and 3.
    """

    accounts: pd.DataFrame
    persons: pd.DataFrame
    activities: pd.DataFrame
    truth: pd.DataFrame


def generate_demo_crm(size: str = "small", seed: int = 7) -> DemoCRM:
    """Generate a synthetic CRM; the same size and seed always give identical tables.

    Args:
        size: "small", "medium" or "large" (see SIZES).
        seed: seeds every random draw.

    Raises:
        UnknownDemoSizeError: `size` is not a key of SIZES.
    """
    if size not in SIZES:
        raise UnknownDemoSizeError(f"unknown demo size {size!r}; choose one of {list(SIZES)}")
    counts = SIZES[size]
    # One independent stream per table: changing how persons are drawn leaves accounts as
    # they were, which keeps diffs of the demo data small.
    account_rng, person_rng, activity_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(3)
    )
    accounts = generate_accounts(counts.accounts, account_rng)
    persons = generate_persons(accounts, counts.persons, person_rng)
    activities = generate_activities(
        persons.persons["external_id"].to_numpy(), DEMO_REFERENCE_DATE, activity_rng
    )
    return DemoCRM(
        accounts=accounts.frame,
        persons=persons.persons,
        activities=activities,
        truth=persons.truth,
    )
