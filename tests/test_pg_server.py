"""tests/pg_server.py: a real PostgreSQL server for the tests, and the skip where there is none."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pg_server
import pytest
from pg_server import NOT_INSTALLED, PostgresServer, postgres_or_skip

TESTS = Path(__file__).resolve().parent


async def _connect(url: str):
    return await pg_server.asyncpg.connect(url, timeout=10)


async def test_url_has_password_and_plain_role(postgres_server: PostgresServer):
    parts = urlsplit(postgres_server.url)
    assert parts.scheme == "postgresql"
    assert (parts.hostname, parts.port) == ("127.0.0.1", postgres_server.port)
    assert parts.username == "paperboy" and parts.password
    assert parts.path == "/paperboy"
    conn = await _connect(postgres_server.url)
    try:
        assert await conn.fetchval("SELECT current_user") == "paperboy"
        assert (
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
    finally:
        await conn.close()


async def test_wrong_or_no_password_is_refused(postgres_server: PostgresServer):
    asyncpg = pg_server.asyncpg
    good = urlsplit(postgres_server.url)
    wrong = postgres_server.url.replace(f":{good.password}@", ":not-the-password@")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect(wrong)
    with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.PostgresError)):
        await asyncpg.connect(
            host="127.0.0.1", port=postgres_server.port, user="paperboy", password="", timeout=10
        )


def test_password_is_not_printed(postgres_server: PostgresServer):
    assert postgres_server.password not in repr(postgres_server)
    assert postgres_server.password not in str(postgres_server)
    assert "***" in repr(postgres_server)


async def test_unaccent_and_pg_trgm(postgres_url: str):
    conn = await _connect(postgres_url)
    try:
        # Trusted extensions: the database's owner (not a superuser) may create them.
        await conn.execute("CREATE EXTENSION unaccent")
        await conn.execute("CREATE EXTENSION pg_trgm")
        assert await conn.fetchval("SELECT unaccent('Björn')") == "Bjorn"
        assert await conn.fetchval("SELECT unaccent('Ærøskøbing Ça ñ')") == "AEroskobing Ca n"
        assert await conn.fetchval("SELECT similarity('transformer', 'transformers')") > 0.7
        assert await conn.fetchval("SELECT similarity('transformer', 'diffusion')") < 0.1
        assert await conn.fetchval("SELECT 'attention' % 'atention'") is True
        # A UTF-8 ctype: lower() and the trigrams treat "ö" as a letter.
        assert await conn.fetchval("SELECT lower('BJÖRN')") == "björn"
        assert await conn.fetchval("SELECT similarity('Björn', 'björn')") == 1.0
        await conn.execute("CREATE TABLE papers (title text)")
        await conn.execute("CREATE INDEX papers_trgm ON papers USING gin (title gin_trgm_ops)")
    finally:
        await conn.close()


def test_check_extensions(postgres_server: PostgresServer):
    assert postgres_server.extensions_available == {"unaccent": True, "pg_trgm": True}
    assert postgres_server.check_extensions() == {"unaccent": None, "pg_trgm": None}


@pytest.mark.parametrize("round_", [1, 2])
async def test_each_test_gets_a_fresh_database(postgres_url: str, round_: int):
    """Both rounds see an empty database: the first round's table is gone in the second."""
    conn = await _connect(postgres_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        )
        assert tables == 0
        await conn.execute("CREATE TABLE marker (round int)")
        await conn.execute("INSERT INTO marker VALUES ($1)", round_)
    finally:
        await conn.close()


async def test_two_databases_are_independent(postgres_server: PostgresServer):
    url_a = postgres_server.create_database("indep_a")
    url_b = postgres_server.create_database("indep_b")
    try:
        assert url_a.endswith("/indep_a") and url_b.endswith("/indep_b")
        a, b = await _connect(url_a), await _connect(url_b)
        try:
            await a.execute("CREATE TABLE only_in_a (x int)")
            await a.execute("CREATE EXTENSION unaccent")
            assert await a.fetchval("SELECT to_regclass('only_in_a') IS NOT NULL") is True
            assert await b.fetchval("SELECT to_regclass('only_in_a')") is None
            assert (
                await b.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'")
                == 0
            )
        finally:
            await a.close()
            await b.close()
    finally:
        postgres_server.drop_database("indep_a")
        postgres_server.drop_database("indep_b")
    with pytest.raises(pg_server.asyncpg.InvalidCatalogNameError):
        await _connect(url_a)


def _outward_address() -> str | None:
    """This machine's address towards the network (a UDP connect sends nothing), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1, never routed anywhere real
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_listens_only_on_loopback(postgres_server: PostgresServer):
    conn = await _connect(postgres_server.url)
    try:
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        assert await conn.fetchval("SELECT host(inet_server_addr())") == "127.0.0.1"
    finally:
        await conn.close()
    with socket.create_connection(("127.0.0.1", postgres_server.port), timeout=2):
        pass
    outward = _outward_address()
    if outward is not None:  # the same port on a real interface refuses
        with pytest.raises(OSError), socket.create_connection((outward, postgres_server.port), 2):
            pass
    if socket.has_ipv6:
        with (
            pytest.raises(OSError),
            socket.create_connection(("::1", postgres_server.port), timeout=2),
        ):
            pass


def test_unix_socket_is_in_the_private_folder(postgres_server: PostgresServer):
    assert postgres_server.tmpdir is not None and postgres_server.socket_dir is not None
    assert (postgres_server.socket_dir / f".s.PGSQL.{postgres_server.port}").exists()
    assert oct(postgres_server.tmpdir.stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_server_never_runs_as_root(postgres_server: PostgresServer):
    assert postgres_server.tmpdir is not None
    pid = int((postgres_server.tmpdir / "data" / "postmaster.pid").read_text().split()[0])
    uid_line = next(
        line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line[:4] == "Uid:"
    )
    assert int(uid_line.split()[1]) != 0
    if os.geteuid() == 0:
        assert postgres_server.os_user in (
            "postgres",
            "nobody",
            os.environ.get("PAPERBOY_POSTGRES_OS_USER"),
        )
    else:
        assert int(uid_line.split()[1]) == os.geteuid() and postgres_server.os_user is None


def test_finder_finds_the_binaries_folder(postgres_server: PostgresServer):
    assert pg_server.find_bindir(str(postgres_server.bindir)) == postgres_server.bindir
    assert pg_server.find_bindir() is not None


def test_version_order_newest_first():
    paths = [
        "/usr/lib/postgresql/9.6/bin",
        "/usr/lib/postgresql/16/bin",
        "/usr/lib/postgresql/15/bin",
    ]
    ordered = sorted(paths, key=pg_server._version_key, reverse=True)
    assert ordered == [paths[1], paths[2], paths[0]]


# -- no binaries: one skip line, or a failure where PAPERBOY_REQUIRE_POSTGRES=1 -----------------


def test_skip_line_without_binaries(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPERBOY_REQUIRE_POSTGRES", raising=False)
    assert pg_server.find_bindir(str(tmp_path)) is None
    with pytest.raises(pytest.skip.Exception) as skipped:
        postgres_or_skip(str(tmp_path))
    assert skipped.value.msg == NOT_INSTALLED
    assert NOT_INSTALLED == "PostgreSQL not installed (no initdb found): PostgreSQL tests skipped"
    # An empty PAPERBOY_POSTGRES_BINDIR searches nowhere: what CI-less machines look like.
    monkeypatch.setenv("PAPERBOY_POSTGRES_BINDIR", "")
    assert pg_server.find_bindir() is None
    assert pg_server.missing_reason() == NOT_INSTALLED


def test_require_turns_the_skip_into_a_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBOY_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        postgres_or_skip(str(tmp_path))
    assert "PAPERBOY_REQUIRE_POSTGRES=1" in failed.value.msg
    assert "PostgreSQL not installed" in failed.value.msg


def test_skip_line_in_a_real_pytest_run(tmp_path):
    """pytest on a machine without PostgreSQL: ONE skip line for all its PostgreSQL tests."""
    (tmp_path / "conftest.py").write_text(
        "from pg_server import postgres_server_fixture, postgres_url_fixture  # noqa: F401\n"
        "from pg_server import pytest_runtest_makereport  # noqa: F401\n"
    )
    test_file = """
        import pytest

        def test_one(postgres_url):
            pass

        @pytest.mark.parametrize("n", [1, 2])
        def test_two(postgres_server, n):
            pass

        def test_without_postgres():
            pass
        """
    (tmp_path / "test_a.py").write_text(textwrap.dedent(test_file))
    (tmp_path / "test_b.py").write_text(textwrap.dedent(test_file))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "PAPERBOY_POSTGRES_BINDIR": "",
    }
    env.pop("PAPERBOY_REQUIRE_POSTGRES", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", str(tmp_path)]
    cmd += ["-p", "no:asyncio", "-W", "ignore::DeprecationWarning"]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=50
        )

    done = run()
    assert done.returncode == 0, done.stdout + done.stderr
    skip_lines = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skip_lines) == 1, done.stdout
    assert skip_lines[0].startswith("SKIPPED [6] ")
    assert skip_lines[0].endswith(f"pg_server.py: {NOT_INSTALLED}")
    assert "2 passed, 6 skipped" in done.stdout

    env["PAPERBOY_REQUIRE_POSTGRES"] = "1"  # CI: no silent skips
    done = run()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PAPERBOY_REQUIRE_POSTGRES=1: PostgreSQL tests must run" in done.stdout
    assert "2 passed, 6 errors" in done.stdout
