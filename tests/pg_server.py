"""A real, throw-away PostgreSQL server for the tests that need one.

`PostgresServer` finds the PostgreSQL binaries (initdb, pg_ctl, postgres), runs initdb in a
temporary folder (in /dev/shm when there is room: no disk I/O) and starts a server that listens
only on 127.0.0.1 (on a free port) and on a unix socket inside that folder, tuned for speed rather
than durability (fsync, synchronous_commit and full_page_writes off). PostgreSQL refuses to run
as root, so when the tests run as root the server runs as the `postgres` user (else `nobody`, or
$PAPERBOY_POSTGRES_OS_USER), started through
runuser, setpriv or su, whichever works; as a normal user it simply runs as that user.

Two roles: the superuser `postgres` (trust on the unix socket, password over TCP; `admin_url`)
and `paperboy`, a plain role with CREATEDB that owns the test databases and logs in with a
generated password over TCP (scram-sha-256), so `url` looks like production:
postgresql://paperboy:PASSWORD@127.0.0.1:PORT/paperboy. unaccent and pg_trgm are trusted
extensions (PostgreSQL 13+), so that plain role can create them in its own databases.

Where no binaries exist, `postgres_or_skip()` skips with one line (`NOT_INSTALLED`), unless
PAPERBOY_REQUIRE_POSTGRES=1 (set in CI) turns that into a failure. PAPERBOY_POSTGRES_BINDIR names
the folder to use (an empty value: search nowhere, i.e. pretend PostgreSQL is not installed).

Fixtures for a conftest or a test module (import the functions; the fixtures' names differ):
  postgres_server  (postgres_server_fixture) session scope: the running `PostgresServer`
  postgres_url     (postgres_url_fixture) function scope: URL of a fresh, empty database
and the hook `pytest_runtest_makereport`, which folds the skips into one line (see below).

The password is never printed: `repr()` and `str()` mask it, and initdb reads it from a file.

PYTEST_DONT_REWRITE: this helper has no test asserts, and the marker lets a test module register
it as a plugin (pytest_plugins) after importing it, without pytest's "already imported" warning.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import itertools
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

try:  # the project's PostgreSQL driver; a missing one skips (or fails) like missing binaries
    import asyncpg
except ImportError:  # pragma: no cover - depends on the environment
    asyncpg = None

REQUIRE_ENV = "PAPERBOY_REQUIRE_POSTGRES"
BINDIR_ENV = "PAPERBOY_POSTGRES_BINDIR"
OS_USER_ENV = "PAPERBOY_POSTGRES_OS_USER"
TMPDIR_ENV = "PAPERBOY_POSTGRES_TMPDIR"

NOT_INSTALLED = "PostgreSQL not installed (no initdb found): PostgreSQL tests skipped"
NO_DRIVER = "asyncpg not installed (pip install asyncpg): PostgreSQL tests skipped"

EXTENSIONS = ("unaccent", "pg_trgm")
APP_ROLE = "paperboy"
ADMIN_ROLE = "postgres"

_TOOLS = ("initdb", "pg_ctl", "postgres")
# Where distributions put the binaries; each pattern's matches are tried newest version first.
_GLOBS = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # PGDG RPMs (RHEL, Fedora)
    "/usr/local/pgsql/bin",  # built from source
    "/opt/homebrew/opt/postgresql*/bin",  # Homebrew (Apple silicon)
    "/usr/local/opt/postgresql*/bin",  # Homebrew (Intel)
    "/usr/local/lib/postgresql/*/bin",
)
# Locales tried in turn for initdb: a UTF-8 ctype makes lower(), ILIKE and pg_trgm handle "ö".
_LOCALES = ("C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8", "C")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SOCKET_PATH_MAX = 100  # sun_path is 104-108 bytes; the socket is DIR/.s.PGSQL.PORT
_SHM_FREE_MIN = 1 << 30  # use /dev/shm only with this much room (Docker's default is 64 MB)

T = TypeVar("T")


class PostgresError(RuntimeError):
    """The server could not be set up or started (the message says why, without the password)."""


# -- finding the binaries ----------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    """(15,) for /usr/lib/postgresql/15/bin, (16,) for .../postgresql@16/bin, () for none."""
    found = re.findall(r"\d+(?:\.\d+)*", path)
    return tuple(int(n) for n in found[-1].split(".")) if found else ()


def candidate_bindirs(search_path: str | None = None) -> list[Path]:
    """The folders to look for initdb in, in order.

    `search_path` (os.pathsep-separated) replaces the search, as does $PAPERBOY_POSTGRES_BINDIR;
    an empty one searches nowhere. Otherwise: `pg_config --bindir`, $PATH, then the usual
    installation folders, newest version first.
    """
    if search_path is None:
        search_path = os.environ.get(BINDIR_ENV)
    if search_path is not None:
        return [Path(p) for p in search_path.split(os.pathsep) if p]
    dirs: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                dirs.append(Path(out))
    dirs += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    for pattern in _GLOBS:
        dirs += [Path(p) for p in sorted(glob.glob(pattern), key=_version_key, reverse=True)]
    return dirs


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_bindir(search_path: str | None = None) -> Path | None:
    """The first folder holding initdb, pg_ctl and postgres (symlinks followed), or None."""
    for folder in candidate_bindirs(search_path):
        initdb = folder / "initdb"
        if not _executable(initdb):
            continue
        # /usr/local/bin/initdb may be a symlink into the real folder, which holds the rest.
        for real in (initdb.resolve().parent, folder):
            if all(_executable(real / tool) for tool in _TOOLS):
                return real
    return None


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """pytest.skip(reason), or pytest.fail where PAPERBOY_REQUIRE_POSTGRES=1 (CI)."""
    if _required():
        what = reason.split(":")[0]
        pytest.fail(f"{what}, but {REQUIRE_ENV}=1: PostgreSQL tests must run", pytrace=False)
    pytest.skip(reason)


def missing_reason(search_path: str | None = None) -> str | None:
    """Why PostgreSQL tests cannot run here (`NOT_INSTALLED`, `NO_DRIVER`), or None."""
    if find_bindir(search_path) is None:
        return NOT_INSTALLED
    if asyncpg is None:
        return NO_DRIVER
    return None


def postgres_or_skip(search_path: str | None = None) -> Path:
    """The binaries' folder; skips the test with one line (or fails, in CI) where there is none."""
    bindir = find_bindir(search_path)
    if bindir is None:
        skip_or_fail(NOT_INSTALLED)
    if asyncpg is None:
        skip_or_fail(NO_DRIVER)
    assert bindir is not None
    return bindir


# -- running as an unprivileged user when we are root -------------------------------------------


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def base_tmpdir() -> str:
    """Where the cluster goes: $PAPERBOY_POSTGRES_TMPDIR, else /dev/shm when it is a roomy
    writable tmpfs (no disk I/O: a CREATE DATABASE took 14 ms there against 17-280 ms on this
    machine's ext4), else the usual temporary folder."""
    chosen = os.environ.get(TMPDIR_ENV)
    if chosen:
        return chosen
    shm = "/dev/shm"
    with contextlib.suppress(OSError):
        st = os.statvfs(shm)
        if st.f_bavail * st.f_frsize >= _SHM_FREE_MIN and os.access(shm, os.W_OK | os.X_OK):
            return shm
    return tempfile.gettempdir()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_in_thread(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a fresh event loop in a helper thread.

    Works from sync fixtures and from inside a running loop (an async test) alike, and never
    touches the caller's event loop.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        async def main() -> T:
            return await factory()

        try:
            result["value"] = asyncio.run(main())
        except BaseException as exc:  # handed back to the caller below
            result["error"] = exc

    thread = threading.Thread(target=target, name="pg_server", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder; `start()` it, `stop()` it (also at exit)."""

    def __init__(self, bindir: Path | str | None = None) -> None:
        found = Path(bindir) if bindir is not None else find_bindir()
        if found is None:
            raise PostgresError(NOT_INSTALLED)
        self.bindir = found
        self.host = "127.0.0.1"
        self.port = 0
        self.database = APP_ROLE
        self.user = APP_ROLE
        self.locale = ""
        self.os_user: str | None = None  # whom the server runs as, when we are root
        self.tmpdir: Path | None = None
        self.socket_dir: Path | None = None
        self.extensions_available: dict[str, bool] = {}
        self.server_version = ""
        self.startup_seconds = 0.0
        self._password = secrets.token_urlsafe(18)
        self._admin_password = secrets.token_urlsafe(18)
        self._prefix: list[str] = []
        self._use_su = False
        self._started = False
        self._watchdog: subprocess.Popen[bytes] | None = None

    # -- URLs (the only place the passwords appear) --

    def url_for(self, database: str) -> str:
        """postgresql://paperboy:PASSWORD@127.0.0.1:PORT/DATABASE"""
        return f"postgresql://{self.user}:{self._password}@{self.host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        """The session database `paperboy`, owned by the plain role `paperboy`."""
        return self.url_for(self.database)

    @property
    def admin_url(self) -> str:
        """The superuser over TCP, for tests that really need one."""
        return f"postgresql://{ADMIN_ROLE}:{self._admin_password}@{self.host}:{self.port}/postgres"

    @property
    def password(self) -> str:
        return self._password

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return (
            f"<PostgresServer {state} postgresql://{self.user}:***@{self.host}:{self.port}"
            f"/{self.database} bindir={self.bindir}>"
        )

    __str__ = __repr__

    # -- lifecycle --

    def start(self) -> PostgresServer:
        if self._started:
            return self
        began = time.perf_counter()
        try:
            self._make_tmpdir()
            self._initdb()
            self._configure()
            self._start_server()
            _run_in_thread(self._bootstrap)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """pg_ctl stop -m immediate, then remove the folder. Safe to call twice."""
        tmpdir, self.tmpdir = self.tmpdir, None
        started, self._started = self._started, False
        if tmpdir is None:
            return
        data = tmpdir / "data"
        if started or (data / "postmaster.pid").exists():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self._run(
                    [self._tool("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                    check=False,
                    timeout=30,
                )
        shutil.rmtree(tmpdir, ignore_errors=True)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog.stdin is not None:
            watchdog.stdin.close()  # it wakes up, finds nothing left to do, and exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=5)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases --

    def create_database(self, name: str, *, template: str = "template0") -> str:
        """CREATE DATABASE name OWNER paperboy TEMPLATE template; returns its URL."""
        for ident in (name, template):
            if not _NAME.fullmatch(ident):
                raise ValueError(f"not a plain database name: {ident!r}")

        strategy = " STRATEGY file_copy" if self._major() >= 15 else ""

        async def create() -> None:
            conn = await self._admin_connect()
            try:
                await conn.execute(
                    f'CREATE DATABASE "{name}" OWNER "{APP_ROLE}" TEMPLATE "{template}"{strategy}'
                )
            finally:
                await conn.close()

        _run_in_thread(create)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS name WITH (FORCE): also ends sessions a test left open."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")

        async def drop() -> None:
            conn = await self._admin_connect()
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        _run_in_thread(drop)

    def check_extensions(self, names: tuple[str, ...] = EXTENSIONS) -> dict[str, str | None]:
        """CREATE EXTENSION each as the plain role in a scratch database: {name: error or None}."""
        scratch = f"extcheck_{secrets.token_hex(4)}"
        url = self.create_database(scratch)

        async def check() -> dict[str, str | None]:
            assert asyncpg is not None
            results: dict[str, str | None] = {}
            conn = await asyncpg.connect(url)
            try:
                for ext in names:
                    try:
                        await conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{ext}"')
                        results[ext] = None
                    except asyncpg.PostgresError as exc:
                        results[ext] = f"{type(exc).__name__}: {exc}"
            finally:
                await conn.close()
            return results

        try:
            return _run_in_thread(check)
        finally:
            self.drop_database(scratch)

    # -- internals --

    def _tool(self, name: str) -> str:
        return str(self.bindir / name)

    def _major(self) -> int:
        match = re.match(r"(\d+)", self.server_version)
        return int(match.group(1)) if match else 0

    def _env(self) -> dict[str, str]:
        # The caller's PG* settings (PGHOST, PGDATA, ...) must not leak into initdb or pg_ctl.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_MESSAGES"] = "C"
        return env

    def _run(
        self, cmd: list[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool, as the unprivileged user when we are root."""
        # su takes one shell command; runuser and setpriv take the argument vector.
        full = [*self._prefix, shlex.join(cmd)] if self._use_su else [*self._prefix, *cmd]
        proc = subprocess.run(
            full,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.tmpdir or tempfile.gettempdir(),
            env=self._env(),
            check=False,
        )
        if check and proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            raise PostgresError(
                f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {output[-2000:]}"
            )
        return proc

    def _choose_runner(self) -> None:
        """As root: find an unprivileged user and a way (runuser, setpriv, su) to run as it."""
        if not _is_root():
            return
        import pwd

        wanted = os.environ.get(OS_USER_ENV)
        names = [wanted] if wanted else ["postgres", "nobody"]
        entry = None
        for candidate in names:
            try:
                entry = pwd.getpwnam(candidate)
                break
            except KeyError:
                continue
        if entry is None:
            raise PostgresError(
                f"running as root and no {' or '.join(names)} user to run PostgreSQL as "
                f"(it refuses root); create one or set {OS_USER_ENV}"
            )
        user, uid, gid = entry.pw_name, entry.pw_uid, entry.pw_gid
        prefixes: list[tuple[list[str], bool]] = []
        if shutil.which("runuser"):
            prefixes.append((["runuser", "-u", user, "--"], False))
        if shutil.which("setpriv"):
            prefixes.append(
                (["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"], False)
            )
        if shutil.which("su"):
            prefixes.append((["su", "-s", "/bin/sh", user, "-c"], True))
        errors = []
        for prefix, use_su in prefixes:
            self._prefix, self._use_su = prefix, use_su
            try:
                proc = self._run([self._tool("postgres"), "--version"], check=False, timeout=20)
            except (OSError, subprocess.SubprocessError) as exc:
                errors.append(f"{prefix[0]}: {exc}")
                continue
            if proc.returncode == 0:
                self.os_user = user
                return
            errors.append(f"{prefix[0]}: {(proc.stdout + proc.stderr).strip()[-300:]}")
        self._prefix, self._use_su = [], False
        raise PostgresError(
            f"running as root, could not run {self._tool('postgres')} as {user} "
            f"(tried runuser, setpriv, su): {'; '.join(errors) or 'none of them is installed'}"
        )

    def _make_tmpdir(self) -> None:
        self._choose_runner()
        tmpdir = Path(tempfile.mkdtemp(prefix="paperboy-pg-", dir=base_tmpdir()))
        if self.os_user is not None:
            import pwd

            entry = pwd.getpwnam(self.os_user)
            if not _reachable(tmpdir, entry.pw_uid, entry.pw_gid) and Path("/tmp").is_dir():
                # e.g. TMPDIR=/root/tmp: the postgres user cannot get there; /tmp it can.
                shutil.rmtree(tmpdir, ignore_errors=True)
                tmpdir = Path(tempfile.mkdtemp(prefix="paperboy-pg-", dir="/tmp"))
            os.chown(tmpdir, entry.pw_uid, entry.pw_gid)
        self.tmpdir = tmpdir
        socket_file = f"{tmpdir}/.s.PGSQL.65535"
        self.socket_dir = tmpdir if len(socket_file.encode()) <= _SOCKET_PATH_MAX else None
        atexit.register(self.stop)
        self._start_watchdog()

    def _start_watchdog(self) -> None:
        """A `sh` that waits for this process to end (EOF on its stdin, even after a SIGKILL, when
        atexit never runs), then stops the server and removes the folder: nothing is left behind
        in /dev/shm. Its own session, so a Ctrl-C to the test run doesn't kill it first."""
        assert self.tmpdir is not None
        pg_ctl = [self._tool("pg_ctl"), "-D", str(self.tmpdir / "data"), "-m", "immediate"]
        pg_ctl += ["-w", "stop"]
        stop = [*self._prefix, shlex.join(pg_ctl)] if self._use_su else [*self._prefix, *pg_ctl]
        script = (
            f"cat >/dev/null; if [ -e {shlex.quote(str(self.tmpdir / 'data' / 'postmaster.pid'))} ]"
            f"; then {shlex.join(stop)}; fi; rm -rf {shlex.quote(str(self.tmpdir))}"
        )
        with contextlib.suppress(OSError):
            self._watchdog = subprocess.Popen(
                ["sh", "-c", script],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.tmpdir,
                env=self._env(),
                start_new_session=True,
            )

    def _write(self, path: Path, text: str, mode: str = "w") -> None:
        """Write a file the server (maybe another user) reads; keeps an existing file's owner."""
        existed = path.exists()
        with open(path, mode, encoding="utf-8") as fh:
            fh.write(text)
        if not existed:
            os.chmod(path, 0o600)
            if self.os_user is not None:
                import pwd

                entry = pwd.getpwnam(self.os_user)
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        assert self.tmpdir is not None
        data = self.tmpdir / "data"
        pwfile = self.tmpdir / "pwfile"
        self._write(pwfile, self._admin_password + "\n")
        last = ""
        try:
            for locale in _LOCALES:
                proc = self._run(
                    [
                        self._tool("initdb"),
                        "-D",
                        str(data),
                        f"--username={ADMIN_ROLE}",
                        f"--pwfile={pwfile}",
                        "--encoding=UTF8",
                        f"--locale={locale}",
                        "--auth=trust",  # pg_hba.conf is replaced in _configure
                        "--no-sync",
                    ],
                    check=False,
                )
                if proc.returncode == 0:
                    self.locale = locale
                    return
                last = (proc.stdout + proc.stderr).strip()
                if "locale" not in last.lower():
                    break
                shutil.rmtree(data, ignore_errors=True)  # try the next locale from scratch
        finally:
            pwfile.unlink(missing_ok=True)
        raise PostgresError(f"initdb failed: {last[-2000:]}")

    def _configure(self) -> None:
        assert self.tmpdir is not None
        data = self.tmpdir / "data"
        socket_dirs = str(self.socket_dir) if self.socket_dir else ""
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{socket_dirs}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "password_encryption": "'scram-sha-256'",
            "jit": "off",
            "timezone": "'UTC'",
            "max_connections": "100",
        }
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        self._write(data / "postgresql.conf", "\n# tests/pg_server.py\n" + lines, mode="a")
        self._write(
            data / "pg_hba.conf",
            "# tests/pg_server.py: the socket folder is private (0700); TCP needs the password.\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n",
        )

    def _start_server(self) -> None:
        assert self.tmpdir is not None
        data = self.tmpdir / "data"
        log = self.tmpdir / "postgres.log"
        last = ""
        for _attempt in range(5):  # the free port may be taken between probing and binding
            self.port = _free_port()
            proc = self._run(
                [
                    self._tool("pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    f"-p {self.port}",
                    "-w",
                    "-t",
                    "60",
                    "-s",
                    "start",
                ],
                check=False,
                timeout=90,
            )
            if proc.returncode == 0:
                self._started = True
                return
            last = _tail(log) or (proc.stdout + proc.stderr).strip()
            if "address already in use" not in last.lower():
                break
        raise PostgresError(f"pg_ctl start failed: {last[-2000:]}")

    async def _admin_connect(self, connect_timeout: float = 10) -> Any:
        assert asyncpg is not None
        if self.socket_dir is not None:  # trust on the private socket: no scram round trips
            return await asyncpg.connect(
                host=str(self.socket_dir),
                port=self.port,
                user=ADMIN_ROLE,
                database="postgres",
                timeout=connect_timeout,
            )
        return await asyncpg.connect(self.admin_url, timeout=connect_timeout)

    async def _bootstrap(self) -> None:
        """Wait until it accepts connections; make the role, its database; look for contrib."""
        assert asyncpg is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = await self._admin_connect(connect_timeout=5)
                break
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(f"server does not accept connections: {exc!r}") from exc
                await asyncio.sleep(0.05)
        try:
            self.server_version = await conn.fetchval("SHOW server_version")
            statement = await conn.fetchval(
                "SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', $1::text, $2::text)",
                APP_ROLE,
                self._password,
            )
            await conn.execute(statement)
            await conn.execute(
                f'CREATE DATABASE "{self.database}" OWNER "{APP_ROLE}" TEMPLATE template0'
            )
            rows = await conn.fetch(
                "SELECT name FROM pg_available_extensions WHERE name = ANY($1::text[])",
                list(EXTENSIONS),
            )
            present = {row["name"] for row in rows}
            self.extensions_available = {name: name in present for name in EXTENSIONS}
        finally:
            await conn.close()


def _reachable(path: Path, uid: int, gid: int) -> bool:
    """Can uid:gid walk down to `path` (search permission on every parent)?"""
    for parent in path.resolve().parents:
        st = parent.stat()
        if st.st_uid == uid:
            bit = 0o100
        elif st.st_gid == gid:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- pytest integration ------------------------------------------------------------------------
#
# A skip raised in a fixture is reported at each test's own line, so without PostgreSQL every
# test would print its own "SKIPPED ... test_x.py:LINE: ..." line (marks don't fold either, once
# a test has a decorator such as parametrize). This hook gives those skips one location, this
# file, so pytest -ra folds them into ONE line for the whole run:
#     SKIPPED [N] tests/pg_server.py: PostgreSQL not installed (no initdb found): PostgreSQL ...
# A conftest enables it by importing it (`from pg_server import pytest_runtest_makereport`, with
# a noqa for F401), a test module with `pytest_plugins = ("pg_server",)`.

_SKIP_REASONS = (NOT_INSTALLED, NO_DRIVER)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3:
        message = str(longrepr[2])
        if message.endswith(_SKIP_REASONS):
            report.longrepr = (__file__, None, message)
    return report


# The fixtures' functions have other names than the fixtures, so that a module importing them
# (`from pg_server import postgres_url_fixture`, noqa F401) and taking `postgres_url` as a
# test's argument does not trip ruff's F811 (redefinition of an imported name).

_counter = itertools.count(1)


@pytest.fixture(scope="session", name="postgres_server")
def postgres_server_fixture() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session; skips (fails in CI) where there is none."""
    bindir = postgres_or_skip()
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="postgres_url")
def postgres_url_fixture(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database owned by the plain role; dropped after the test."""
    name = f"test_{next(_counter)}_{secrets.token_hex(3)}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
