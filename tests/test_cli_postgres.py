"""The command line on PostgreSQL: `--db postgresql://…` (and DATABASE_URL) select it for
every command, `db migrate` gives an empty database the schema, and an import reads back the
same as on SQLite. Skipped in one line where PostgreSQL is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import isolate
from test_cli import OWN, arun, run  # noqa: F401 - the fixtures

DIGEST = OWN / "digests" / "2024-03-04.md"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    isolate(tmp_path, monkeypatch)


def test_migrate_import_and_lookups_on_postgresql(run, postgres_url, tmp_path):  # noqa: F811
    password = postgres_url.split(":")[2].split("@")[0]
    migrated = run("db", "migrate", "--db", postgres_url, "--json")
    assert migrated.code == 0, migrated.err
    assert migrated.json()["previous_version"] == 0 and migrated.json()["schema_version"] >= 1
    assert password not in migrated.out + migrated.err
    assert run("db", "migrate", "--db", postgres_url).out.endswith("up to date\n")

    on_sqlite = tmp_path / "same.db"
    for target in (postgres_url, on_sqlite):
        imported = run("import", DIGEST, "--db", target, "--json")
        assert imported.code == 0, imported.err
    queries = (
        ["search", "summarizers long"],
        ["search", "summ"],  # a prefix
        ["search", "arizers"],  # inside a word
        ["search", "画像"],  # CJK: a phrase of single characters
        ["author", "ravi MENON"],
    )
    for query in queries:
        both = [run(*query, "--db", target, "--json") for target in (postgres_url, on_sqlite)]
        assert both[0].code == both[1].code == 0, both[0].err
        assert both[0].json(), query  # found something
        assert both[0].json() == both[1].json(), query
    info = run("db", "info", "--db", postgres_url, "--json").json()
    assert info["papers"] > 0 and password not in info["path"]


def test_a_wrong_password_is_one_line_without_the_password(run, postgres_url):  # noqa: F811
    wrong = postgres_url.replace("@", "x@", 1)
    result = run("search", "diffusion", "--db", wrong)
    assert result.code != 0
    assert "cannot connect to PostgreSQL" in result.err and len(result.err.splitlines()) == 1
    assert wrong.split(":")[2].split("@")[0] not in result.err


def test_database_url_selects_postgresql(run, postgres_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert run("import", DIGEST).code == 0
    assert not Path("paperboy.db").exists()  # nothing written to the SQLite default
    assert run("db", "info", "--json").json()["papers"] > 0


def test_db_copy_moves_a_sqlite_store_and_resumes(run, postgres_url, tmp_path):  # noqa: F811
    source = tmp_path / "old.db"
    assert run("import", DIGEST, "--db", source).code == 0
    first = run("db", "copy", "--from", source, "--to", postgres_url, "--json")
    assert first.code == 0, first.err
    tables = {t["table"]: t for t in first.json()["tables"]}
    assert first.json()["verified"] and tables["papers"]["target_rows"] > 0
    assert tables["paper_fts"]["target_rows"] == tables["papers"]["source_rows"]
    again = run("db", "copy", "--from", source, "--to", postgres_url)  # resumed: nothing new
    assert again.code == 0 and "every table's row count matches" in again.out
    for query in (["search", "summ"], ["author", "ravi menon"], ["show", "2403.01001"]):
        both = [run(*query, "--db", target, "--json") for target in (postgres_url, source)]
        assert both[0].json() == both[1].json(), query
    refused = run("db", "copy", "--from", postgres_url, "--to", tmp_path / "back.db")
    assert refused.code == 2 and "--to must be a postgresql:// URL" in refused.err
