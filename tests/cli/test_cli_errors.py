"""Input a person can fix gets one line on stderr (file, line, reason) and exit code 2."""

from __future__ import annotations

import codecs
import json
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from buying_groups.settings import get_settings
from buying_groups.storage.database import make_engine
from buying_groups_cli.main import app

runner = CliRunner()
ACCOUNTS = "external_id,name\nA1,Café Müller\n"
POSTGRES_URL = os.environ.get("BG_TEST_DATABASE_URL")


def _run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_one_line_error(result: Result, *words: str) -> str:
    """Exit 2, no traceback, exactly one line on stderr that holds every word."""
    assert result.exit_code == 2, (result.exception, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def _bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _random_bytes(size: int = 4096) -> bytes:
    return random.Random(7).randbytes(size)


# --- imports --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["accounts", "persons", "activities"])
def test_latin1_file_names_file_line_and_encoding_option(
    database: Engine, tmp_path: Path, kind: str
) -> None:
    path = _bytes(tmp_path / f"{kind}.csv", ACCOUNTS.encode("latin-1"))
    line = assert_one_line_error(_run("import", kind, path), path, "line 2", "UTF-8")
    assert "--encoding cp1252" in line


def test_latin1_file_loads_with_its_encoding(database: Engine, tmp_path: Path) -> None:
    path = _bytes(tmp_path / "a.csv", ACCOUNTS.encode("cp1252"))
    result = _run("import", "accounts", path, "--encoding", "cp1252", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(_run("accounts", "list", "--json").stdout)
    assert listed["items"][0]["name"] == "Café Müller"


@pytest.mark.parametrize(
    ("codec", "data"),
    [
        ("utf-8-sig", codecs.BOM_UTF8 + ACCOUNTS.encode("utf-8")),
        ("utf-16-le", codecs.BOM_UTF16_LE + ACCOUNTS.encode("utf-16-le")),
        ("utf-16-be", codecs.BOM_UTF16_BE + ACCOUNTS.encode("utf-16-be")),
    ],
)
def test_files_with_a_byte_order_mark_load(
    database: Engine, tmp_path: Path, codec: str, data: bytes
) -> None:
    result = _run("import", "accounts", _bytes(tmp_path / f"{codec}.csv", data), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 1
    listed = json.loads(_run("accounts", "list", "--json").stdout)
    assert listed["items"][0]["name"] == "Café Müller"


def test_binary_file_is_one_line(database: Engine, tmp_path: Path) -> None:
    path = _bytes(tmp_path / "a.csv", _random_bytes())
    assert_one_line_error(_run("import", "accounts", path), path, "not valid UTF-8")


def test_utf16_without_byte_order_mark_is_refused_for_its_nul_bytes(
    database: Engine, tmp_path: Path
) -> None:
    path = _bytes(tmp_path / "a.csv", ACCOUNTS.encode("utf-16-le"))
    assert_one_line_error(_run("import", "accounts", path), path, "line 1", "NUL", "utf-16-le")


def test_field_over_the_csv_limit_is_one_line(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("external_id,name\nA1,Acme\nA2," + "x" * 200_000 + "\n", encoding="utf-8")
    result = _run("import", "accounts", str(path))
    assert_one_line_error(result, str(path), "line 3", "longer than 131,072 characters")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ["the file is empty"]),
        (b"\n\n", ["line 1", "no header line"]),
        (b"A1,Acme\n", ["line 1", "missing required column(s): external_id, name", "A1,Acme"]),
        (b"external_id\nA1\n", ["line 1", "missing required column(s): name"]),
    ],
)
def test_empty_headerless_and_short_files_are_one_line(
    database: Engine, tmp_path: Path, content: bytes, words: list[str]
) -> None:
    path = _bytes(tmp_path / "a.csv", content)
    assert_one_line_error(_run("import", "accounts", path), path, *words)


def test_header_only_file_imports_nothing(database: Engine, tmp_path: Path) -> None:
    path = _bytes(tmp_path / "a.csv", b"external_id,name\n")
    result = _run("import", "accounts", path)
    assert result.exit_code == 0, result.output
    assert "0 inserted, 0 updated, 0 rejected" in result.stdout


def test_jsonl_in_latin1_and_missing_field_are_one_line(database: Engine, tmp_path: Path) -> None:
    latin = '{"external_id": "A1", "name": "Café"}\n'.encode("latin-1")
    path = _bytes(tmp_path / "a.jsonl", latin)
    assert_one_line_error(_run("import", "accounts", path), path, "line 1", "UTF-8")
    short = _bytes(tmp_path / "b.jsonl", b'{"external_id": "A1"}\n')
    assert_one_line_error(_run("import", "accounts", short), short, "line 1", "name")


def test_unknown_encoding_and_missing_file_are_one_line(database: Engine, tmp_path: Path) -> None:
    path = _bytes(tmp_path / "a.csv", ACCOUNTS.encode())
    result = _run("import", "accounts", path, "--encoding", "klingon")
    assert_one_line_error(result, path, "unknown encoding 'klingon'")
    missing = str(tmp_path / "nope.csv")
    assert_one_line_error(_run("import", "persons", missing), missing, "no such file")


def test_a_long_rejected_value_is_cut_in_the_report(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"external_id,name\n{'x' * 100_000},Acme\n", encoding="utf-8")
    result = _run("import", "accounts", str(path))
    assert result.exit_code == 3, result.output
    assert len(result.stdout) < 1_000
    assert "… (100,000 characters)" in result.stdout


# --- configuration files --------------------------------------------------------------------


def test_config_files_in_other_encodings(database: Engine, tmp_path: Path) -> None:
    document = "stage_models: []\n# Zürich\n"
    latin = _bytes(tmp_path / "latin.yaml", document.encode("latin-1"))
    assert_one_line_error(_run("config", "apply", latin), latin, "line 2", "UTF-8")
    assert _run("config", "apply", latin, "--encoding", "latin-1").exit_code == 0
    utf16 = _bytes(tmp_path / "utf16.yaml", document.encode("utf-16"))
    assert _run("config", "apply", utf16).exit_code == 0
    binary = _bytes(tmp_path / "binary.json", _random_bytes())
    assert_one_line_error(_run("templates", "create", binary), binary, "not valid UTF-8")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.yaml", b"", ["the file is empty"]),
        ("bad.yaml", b"name: T\ncards: [a\n", ["not valid YAML"]),
        ("bad.json", b'{\n  "name": "T",\n  oops\n}\n', ["line 3", "not valid JSON"]),
    ],
)
def test_unparsable_config_files_are_one_line(
    database: Engine, tmp_path: Path, name: str, content: bytes, words: list[str]
) -> None:
    path = _bytes(tmp_path / name, content)
    assert_one_line_error(_run("config", "apply", path), path, *words)
    assert_one_line_error(_run("stage-models", "create", path), path, *words)


# --- a database before `db upgrade` ---------------------------------------------------------


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def unmigrated(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The CLI's settings point at an empty database (no `db upgrade` yet)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        schemas: list[str] = []
    else:
        assert POSTGRES_URL
        schemas = [f"bg_fresh_{uuid.uuid4().hex[:10]}"]
        with make_engine(POSTGRES_URL).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schemas[0]}"'))
        options = {"options": f"-csearch_path={schemas[0]}"}
        url = make_url(POSTGRES_URL).update_query_dict(options).render_as_string(False)
    monkeypatch.setenv("BG_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    for schema in schemas:
        assert POSTGRES_URL
        with make_engine(POSTGRES_URL).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.mark.parametrize(
    "args",
    [
        ["accounts", "list"],
        ["templates", "list"],
        ["api-keys", "list"],
        ["groups", "summary", "--solution-interest", "X"],
        ["generate", "--solution-interest", "X", "--audience", "Y"],
    ],
)
def test_commands_before_db_upgrade_say_how_to_fix_it(unmigrated: str, args: list[str]) -> None:
    assert_one_line_error(_run(*args), "not migrated", "buying-groups db upgrade")


def test_import_before_db_upgrade_says_how_to_fix_it(unmigrated: str, tmp_path: Path) -> None:
    path = _bytes(tmp_path / "a.csv", ACCOUNTS.encode())
    assert_one_line_error(_run("import", "accounts", path), "not migrated", "db upgrade")
