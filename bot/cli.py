"""The `paperboy` command: run the bot, fill the store, and look papers up from a terminal.

`main(argv)` parses the arguments, loads the settings, sets up logging and runs one command,
each in its own `asyncio.run`, with the store and the HTTP client opened by the command and
closed when it ends. It returns the exit code:

    0    done (a search without results is still a success)
    1    the command failed: a source or network error, a broken digest, a paper or day that
         cannot be found, a database problem; for fetch and import, at least one day or file;
         for summarize, at least one summary fell back or the model could not be reached
    2    bad usage or configuration: arguments, dates, paper ids, queries, settings, no token
    130  interrupted (Ctrl-C)

Errors are one line on stderr, "paperboy: error: ...", never a traceback; `--verbose` adds the
traceback and the debug logs. Results go to stdout: rich tables and cards (not wrapped when
stdout is not a terminal), or JSON with --json.

The commands that only read (search, author, top, export, db info, and show for a stored paper)
open the database read-only: they write nothing, not even -wal/-shm files, so they work in a
folder the user cannot write, and they refuse a file without paperboy's schema or with an older
one (`db migrate` upgrades it). Each command imports the libraries it uses when it runs.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import sys
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import version
from bot.errors import UserError
from bot.logging_setup import cli_log_level, logging_to_stderr

# Only what every command needs is imported above: a command imports its own libraries
# (discord, httpx, aiosqlite, rich...) when it runs, so `paperboy --help` or a search does not
# pay for the bot's start-up (tests/test_cli.py checks which modules each one loads).
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from bot.config import Settings
    from bot.models import Paper
    from bot.sources.huggingface import HuggingFaceClient
    from storage.db import Store
    from storage.papers import SaveStats

log = logging.getLogger(__name__)

PROG = "paperboy"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

MAX_FETCH_DAYS = 366  # one request per day: a typo in --to should not mean years of requests
MAX_TOP_DAYS = 3660
MAX_CHART_DAYS = 365  # bot.charts.MAX_DAYS, for the parser (--help imports no storage code)
MAX_LIMIT = 100
SHOWN_AUTHORS = 3  # authors named in a table row before "+N more"
DIGEST_HEADING = "## Daily Papers"
# Rich wraps at the terminal's width, and at 80 columns when stdout is not a terminal; piped
# output (grep, a file) gets no width limit instead: one table row per line.
PIPED_WIDTH = 1_000_000
SUGGEST_CUTOFF = 0.7  # difflib similarity for "did you mean": --limt -> --limit, not --days -> --db


class _UsageError(Exception):
    """argparse found a problem with the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as one line (the caller prints it) instead of usage,
    with a "did you mean" for a mistyped option or command (Python 3.11 has no suggest_on_error).
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{_with_choice_suggestion(message)} (see '{self.prog} --help')")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        # Each command's parser reports its own unknown options, so the suggestion comes from
        # that command's options (and the help named is that command's).
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            known = self._option_string_actions  # every option string (argparse has no public list)
            self.error(
                f"unrecognized arguments: {' '.join(extras)}" + _option_suggestions(extras, known)
            )
        return namespace, extras


def _option_suggestions(extras: Sequence[str], known: Iterable[str]) -> str:
    """The "; did you mean --limit?" for unknown options close to a known one, else ""."""
    options = [option for option in known if option.startswith("--")]
    pairs = []
    for extra in extras:
        name = extra.split("=", 1)[0]
        if not name.startswith("-") or name == "-" or _is_number(name):
            continue
        match = difflib.get_close_matches(name, options, n=1, cutoff=SUGGEST_CUTOFF)
        if match:
            pairs.append((name, match[0]))
    if not pairs:
        return ""
    if len(pairs) == 1:
        return f"; did you mean {pairs[0][1]}?"
    return "; did you mean " + ", ".join(f"{good} for {bad}" for bad, good in pairs) + "?"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_INVALID_CHOICE = re.compile(
    r"invalid choice: (?P<value>'[^']*'|\S+) \(choose from (?P<choices>.*)\)"
)


def _with_choice_suggestion(message: str) -> str:
    """argparse's "invalid choice: 'serch' (choose from ...)" with "did you mean search?"."""
    found = _INVALID_CHOICE.search(message)
    if not found or "maybe you meant" in message:  # newer Pythons may suggest on their own
        return message
    value = found["value"].strip("'")
    choices = re.findall(r"'([^']*)'", found["choices"]) or found["choices"].split(", ")
    match = difflib.get_close_matches(value, choices, n=1, cutoff=SUGGEST_CUTOFF)
    if not match:
        return message
    return (
        f"{message[: found.end('value')]}; did you mean {match[0]}?{message[found.end('value') :]}"
    )


class Context:
    """What a command gets: its arguments, the settings and where to write."""

    __slots__ = ("_out", "args", "json", "settings", "verbose")

    def __init__(
        self, args: argparse.Namespace, settings: Settings, *, json: bool, verbose: bool
    ) -> None:
        self.args = args
        self.settings = settings
        self.json = json
        self.verbose = verbose
        self._out: Console | None = None

    @property
    def out(self) -> Console:
        """Rich output on stdout, made on first use (--json output never loads rich)."""
        if self._out is None:
            self._out = _console()
        return self._out


def _console() -> Console:
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=PIPED_WIDTH, file=_Unpadded(sys.stdout))  # type: ignore[arg-type]


class _Unpadded:
    """stdout for a pipe or a file: rich pads a table's rows to the table's width, and those
    trailing spaces would only get in the way of grep, cut and diff."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.partial = ""

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.stream.write(line.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


# ---------------------------------------------------------------------------------------------
# Entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `paperboy` command and return its exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except SystemExit as exc:  # --help and --version print and "exit"
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    import dataclasses

    from bot.config import ConfigError, load_settings

    verbose = getattr(args, "verbose", False)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if db := getattr(args, "db", None):
        from storage.db import is_database_url

        if is_database_url(str(db)):
            settings = dataclasses.replace(settings, database_url=str(db))
        else:  # a file given on the command line wins over DATABASE_URL too
            settings = dataclasses.replace(settings, database_path=Path(db), database_url=None)

    context = Context(args, settings, json=getattr(args, "json", False), verbose=verbose)
    if args.handler is _run:  # the bot logs like a service: LOG_LEVEL, with timestamps
        level = logging.DEBUG if verbose else logging.getLevelName(settings.log_level)
        detailed = True
    else:
        level, detailed = cli_log_level(settings.log_level, verbose), verbose
    with logging_to_stderr(level, detailed=detailed):
        try:
            return args.handler(context)
        except KeyboardInterrupt:
            return _fail("interrupted", EXIT_INTERRUPTED)
        except Exception as exc:  # every failure becomes one line and an exit code
            return _report(exc, context)


def _report(exc: Exception, context: Context) -> int:
    """Turn an exception from a command into one line on stderr and an exit code."""
    known = _known_error(exc, context.settings)
    if known is not None:
        if context.verbose:  # the one line is what the user needs; the traceback is for debugging
            log.debug("details of the error below", exc_info=exc)
        return _fail(*known)
    if context.verbose:
        log.error("unexpected error", exc_info=exc)
        hint = " (traceback above)"
    else:
        hint = "; run with --verbose for details"
    return _fail(f"unexpected error: {type(exc).__name__}: {exc}{hint}", EXIT_FAILED)


def _known_error(exc: Exception, settings: Settings) -> tuple[str, int] | None:
    """(message, exit code) for the failures a user can act on; None for a bug."""
    from storage.postgres import redact

    path = redact(settings.database_url) if settings.database_url else settings.database_path
    if isinstance(exc, ConnectionError) and settings.database_url:
        return str(exc), EXIT_FAILED
    if isinstance(exc, UserError):
        return str(exc), exc.exit_code
    if isinstance(exc, _loaded(("storage.db", "DatabaseNeedsMigration"))):
        return (
            f"the database {path} is at schema version {getattr(exc, 'version', '?')} and this "
            f"paperboy uses {getattr(exc, 'latest', '?')}; run 'paperboy db migrate' to upgrade "
            "it (the commands that only read never change the database)",
            EXIT_FAILED,
        )
    usage = _loaded(
        ("bot.config", "ConfigError"),
        ("bot.models", "InvalidPaperId"),
        ("storage.search", "QueryHasNoWords"),
    )
    if isinstance(exc, usage):
        return str(exc), EXIT_USAGE
    failed = _loaded(
        ("bot.sources", "SourceError"),
        ("storage.db", "DatabaseTooNew"),
        ("storage.db", "NotAPaperboyDatabase"),
    )
    if isinstance(exc, failed):
        return str(exc), EXIT_FAILED
    if isinstance(exc, _loaded(("sqlite3", "Error"))):  # not a database, locked, disk full ...
        hint = " (the file or its folder is not writable)" if "readonly" in str(exc) else ""
        return f"database {path}: {exc}{hint}", EXIT_FAILED
    if isinstance(exc, OSError):
        return _os_error(exc), EXIT_FAILED
    return None


def _loaded(*classes: tuple[str, str]) -> tuple[type, ...]:
    """The (module, class name) classes whose module is imported: if a module was never
    imported, nothing raised its exceptions (and the error path need not import it)."""
    found = []
    for module_name, name in classes:
        module = sys.modules.get(module_name)
        if module is not None:
            found.append(getattr(module, name))
    return tuple(found)


def _fail(message: str, code: int) -> int:
    _error_line(message)
    return code


def _error_line(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr, flush=True)


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


# ---------------------------------------------------------------------------------------------
# Arguments


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--db`, `--json` and `--verbose` work before or after a command."""
    common = _Parser(add_help=False)
    options = common.add_argument_group("common options")
    # SUPPRESS: a subcommand's default must not overwrite a value given before the subcommand.
    options.add_argument(
        "--db",
        metavar="PATH|URL",
        default=argparse.SUPPRESS,
        help="the SQLite database file or a postgresql:// URL (default: DATABASE_URL, else "
        "PAPERBOY_DB, else paperboy.db)",
    )
    options.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON instead"
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show debug logs and tracebacks",
    )

    parser = _Parser(
        prog=PROG,
        parents=[common],
        description="Hugging Face Daily Papers: a Discord bot and a command line.",
        epilog=(
            "examples:\n"
            "  paperboy fetch --date 2025-10-03\n"
            "  paperboy import digests/\n"
            "  paperboy search diffusion transformer\n"
            "  paperboy show 2401.08541 --json\n"
            "settings come from the environment and .env (see .env.example)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    commands.required = True

    def command(name: str, handler: Callable[[Context], int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    command("run", _run, "start the Discord bot (needs DISCORD_TOKEN)")

    fetch = command("fetch", _fetch, "store the Hugging Face Daily Papers lists of a day or range")
    fetch.add_argument("--date", type=_day, required=True, metavar="DAY", help=_DAY_HELP)
    fetch.add_argument("--to", type=_day, metavar="DAY", help="last day of a range (inclusive)")

    imp = command("import", _import, "store markdown digests (files, or folders searched for .md)")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    summarize = command(
        "summarize",
        _summarize,
        "write the summaries of stored days with the configured model (LLM_BASE_URL)",
    )
    summarize.add_argument("--date", type=_day, required=True, metavar="DAY", help=_DAY_HELP)
    summarize.add_argument("--to", type=_day, metavar="DAY", help="last day of a range (inclusive)")
    summarize.add_argument(
        "--lang",
        type=_language,
        action="append",
        required=True,
        metavar="CODE",
        help="language of the summaries (en, ko, zh-tw...); repeat for several",
    )
    summarize.add_argument(
        "--force",
        action="store_true",
        help="ask again for summaries already stored or tried today",
    )

    export = command("export", _export, "write a stored day as a markdown digest or JSON")
    export.add_argument("--date", type=_day, required=True, metavar="DAY", help=_DAY_HELP)
    export.add_argument(
        "--format", choices=("markdown", "json"), help="default: markdown (json with --json)"
    )
    export.add_argument(
        "--lang",
        type=_language,
        metavar="CODE",
        help="the bullets of this language (the newest summary in it); default: the digest's own",
    )
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="default: stdout")

    search = command("search", _search, "find stored papers by words of their title or summary")
    search.add_argument("text", nargs="+", metavar="TEXT")
    _paging(search)

    author = command("author", _author, "stored papers by an author, newest first")
    author.add_argument("name", nargs="+", metavar="NAME")
    _paging(author)

    show = command("show", _show, "one paper (id or URL); fetched and stored when not stored yet")
    show.add_argument("id", metavar="ID")

    chart = command(
        "chart", _chart, "a PNG chart of a stored paper's upvotes (and a server's votes) over time"
    )
    chart.add_argument("id", metavar="ID")
    chart.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="default: ID-votes.png in this folder"
    )
    chart.add_argument(
        "--days",
        type=_bounded_int(1, MAX_CHART_DAYS),
        default=30,
        metavar="N",
        help=f"the last N days (1-{MAX_CHART_DAYS}, default 30)",
    )
    chart.add_argument(
        "--guild",
        type=_bounded_int(1, 2**63 - 1),
        metavar="ID",
        help="also the 👍/👎 of this Discord server's members (its id)",
    )

    top = command("top", _top, "the most upvoted papers of the latest stored days")
    top.add_argument(
        "--days",
        type=_bounded_int(1, MAX_TOP_DAYS),
        default=1,
        metavar="N",
        help="N days ending at the latest stored day (default 1: that day)",
    )
    _paging(top)

    db = commands.add_parser("db", parents=[common], help="the database", description="database")
    db_commands = db.add_subparsers(title="commands", dest="db_command", metavar="COMMAND")
    db_commands.required = True
    info = db_commands.add_parser("info", parents=[common], help="what is stored, and where")
    info.set_defaults(handler=_db_info)
    migrate = db_commands.add_parser(
        "migrate",
        parents=[common],
        help="upgrade the database to this paperboy's schema (reading commands never do)",
    )
    migrate.set_defaults(handler=_db_migrate)
    copy = db_commands.add_parser(
        "copy",
        parents=[common],
        help="copy a store into a PostgreSQL database (run it again to resume)",
        description="Copy every table of a store (a SQLite file, or a PostgreSQL database) "
        "into a PostgreSQL database, migrating it first, and compare the row counts at the "
        "end. Rows already there are skipped, so an interrupted copy is resumed by running "
        "it again.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="PATH|URL")
    copy.add_argument("--to", dest="target", required=True, metavar="URL")
    copy.set_defaults(handler=_db_copy)
    return parser


class _Version(argparse.Action):
    """--version: the installed version, looked up only when asked (importlib.metadata is slow
    to import, and every other command would pay for it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: Any) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show the version and exit",
        )

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        sys.stdout.write(f"{parser.prog} {version()}\n")
        sys.stdout.flush()
        parser.exit()


_DAY_HELP = "YYYY-MM-DD, 'today' or 'yesterday' (UTC)"


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", type=_bounded_int(1, MAX_LIMIT), default=10, metavar="N", help="per page (10)"
    )
    parser.add_argument(
        "--page", type=_bounded_int(1, 1_000_000), default=1, metavar="N", help="page (1)"
    )


def _day(text: str) -> date:
    from bot.models import parse_day

    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _language(text: str) -> str:
    from storage.subscriptions import LANGUAGE

    cleaned = text.strip().lower().replace("_", "-")
    if not LANGUAGE.fullmatch(cleaned):
        raise argparse.ArgumentTypeError(f"{text!r} is not a language code such as en, ko or zh-tw")
    return cleaned


def _day_range(args: argparse.Namespace, verb: str) -> list[date]:
    """The days from --date to --to (inclusive), at most MAX_FETCH_DAYS of them."""
    first, last = args.date, args.to or args.date
    if last < first:
        raise UserError(f"--to {last} is before --date {first}", EXIT_USAGE)
    count = (last - first).days + 1
    if count > MAX_FETCH_DAYS:
        raise UserError(
            f"{first} to {last} is {count} days; {verb} at most {MAX_FETCH_DAYS} at a time",
            EXIT_USAGE,
        )
    return [first + timedelta(days=n) for n in range(count)]


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}")
        return value

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


# ---------------------------------------------------------------------------------------------
# Shared resources


def _async(command: Callable[[Context], Coroutine[Any, Any, int]]) -> Callable[[Context], int]:
    """A command that runs in its own event loop."""

    def run(context: Context) -> int:
        import asyncio

        return asyncio.run(command(context))

    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


@asynccontextmanager
async def _store(
    settings: Settings, *, write: bool = False, create: bool = False
) -> AsyncIterator[Store]:
    """The store at the configured path.

    By default read-only: the database must exist and is opened so that nothing is written
    (not even -wal/-shm files), which also works in a folder the user cannot write. `write`
    opens it read-write, migrating it; `create` also creates it, and its folder, if missing.
    """
    from storage.db import open_store

    if settings.database_url:  # PostgreSQL: the server says what is missing
        async with open_store(
            settings.database_url, readers=1, read_only=not (write or create)
        ) as store:
            yield store
        return
    path = settings.database_path
    if path.is_dir():
        raise UserError(
            f"the database {path} is a folder; give the path of a file, such as "
            f"{path / 'paperboy.db'}",
            EXIT_USAGE,
        )
    if not create and not path.exists():
        raise UserError(
            f"there is no database at {path} yet; run 'paperboy fetch' or 'paperboy import' first"
        )
    if not (write or create):
        async with open_store(path, readers=1, read_only=True) as store:
            yield store
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot create the folder of the database {path}: {reason}") from exc
    async with open_store(path, readers=1) as store:  # a command reads one thing at a time
        yield store


def end_of_day(day: date) -> datetime:
    """When a digest's votes count as observed: the last microsecond of its day, in UTC.

    A digest carries no time of its own, and it is written at the end of its day or later, so
    its counts are dated at the day's last moment: a fetch made on a later day counts as newer
    than the digest, one made earlier that day as older, whatever order they are stored in.
    """
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(
        microseconds=1
    )


# ---------------------------------------------------------------------------------------------
# Output


def paper_json(paper: Paper) -> dict[str, Any]:
    """A paper as a JSON object (the --json form of every command that lists papers)."""
    return {
        "id": paper.id,
        "title": paper.title,
        "authors": list(paper.authors),
        "upvotes": paper.upvotes,
        "dates": [day.isoformat() for day in paper.days],
        "abstract": paper.abstract,
        "url": paper.arxiv_url,
        "pdf_url": paper.pdf_url,
        "hf_url": paper.hf_url,
        "image_url": paper.image_url,
        "video_url": paper.video_url,
        "summaries": [
            {"language": s.language, "source": s.source, "bullets": list(s.bullets)}
            for s in paper.summaries
        ],
        "published_at": paper.published_at.isoformat() if paper.published_at else None,
        "github_repo": paper.github_repo,
        "github_stars": paper.github_stars,
        "project_page": paper.project_page,
        "ai_summary": paper.ai_summary,
        "ai_keywords": list(paper.ai_keywords),
        "num_comments": paper.num_comments,
        "organization": paper.organization,
    }


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def short_authors(names: Sequence[str], shown: int = SHOWN_AUTHORS) -> str:
    """'A, B, C +2 more' — the first authors of a paper for a table cell."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} +{len(names) - shown} more"


def _votes(paper: Paper) -> str:
    return "–" if paper.upvotes is None else str(paper.upvotes)


def _print_papers(
    context: Context,
    papers: list[Paper],
    *,
    heading: str,
    first_rank: int = 1,
    more: bool = False,
    empty: str,
) -> None:
    if context.json:
        _print_json([paper_json(paper) for paper in papers])
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if not papers:
        context.out.print(Text(empty))
        return
    table = Table(title=Text(heading), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("votes", justify="right", no_wrap=True)
    table.add_column("title", ratio=3)
    table.add_column("authors", ratio=2)
    for rank, paper in enumerate(papers, start=first_rank):
        table.add_row(
            str(rank),
            Text(paper.id),
            _votes(paper),
            Text(paper.title),
            Text(short_authors(paper.authors)),
        )
    context.out.print(table)
    if more:
        page = getattr(context.args, "page", 1)
        context.out.print(Text(f"More results: add --page {page + 1}."))


def _print_card(context: Context, paper: Paper) -> None:
    """A paper in full: title, links, votes, authors, days listed, summaries, abstract."""
    from rich.table import Table
    from rich.text import Text

    out = context.out
    out.print(Text(paper.title, style="bold"))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column()
    rows: list[tuple[str, str | None]] = [
        ("id", paper.id),
        ("upvotes", _votes(paper)),
        ("arXiv", paper.arxiv_url),
        ("PDF", paper.pdf_url),
        ("Hugging Face", paper.hf_url),
        ("published", paper.published_at.date().isoformat() if paper.published_at else None),
        ("code", _with_stars(paper)),
        ("project", paper.project_page),
        ("image", paper.image_url),
        ("video", paper.video_url),
        ("organization", paper.organization),
        ("authors", ", ".join(paper.authors) or None),
        (
            "listed on",
            ", ".join(day.isoformat() for day in paper.days) or "no stored Daily Papers list",
        ),
    ]
    for name, value in rows:
        if value:
            facts.add_row(name, Text(value))
    out.print(facts)
    for summary in paper.summaries:
        out.print()
        out.print(Text(f"Summary ({summary.language}, {summary.source})", style="bold"))
        for bullet in summary.bullets:
            out.print(Text(f"  • {bullet}"))
    if paper.ai_summary:
        out.print()
        out.print(Text("AI summary (Hugging Face)", style="bold"))
        out.print(Text(f"  {paper.ai_summary}"))
    if paper.abstract:
        out.print()
        out.print(Text("Abstract", style="bold"))
        out.print(Text(paper.abstract))


def _with_stars(paper: Paper) -> str | None:
    if not paper.github_repo:
        return None
    stars = paper.github_stars
    if stars is None:
        return paper.github_repo
    return f"{paper.github_repo} ({stars} {'star' if stars == 1 else 'stars'})"


def _stats_json(stats: SaveStats) -> dict[str, int]:
    return {
        "new": stats.new,
        "updated": stats.updated,
        "unchanged": stats.unchanged,
        "vote_rows": stats.vote_rows,
    }


def _totals(rows: Sequence[dict[str, Any]], unit: str) -> str:
    """One line under a counts table: what the whole command did."""
    done = [row for row in rows if not row["error"]]
    papers, new, updated, votes = (
        sum(row[key] for row in done) for key in ("papers", "new", "updated", "vote_rows")
    )
    failed = len(rows) - len(done)
    return (
        f"{_plural(len(rows), unit)}: {papers:,} papers listed, {new:,} new, {updated:,} updated,"
        f" {votes:,} vote rows" + (f"; {failed:,} failed" if failed else "")
    )


def _counts_table(title: str, first_column: str) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(first_column, overflow="fold")
    for name in ("papers", "new", "updated", "vote rows"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("status", min_width=6)
    return table


class _Steps:
    """A progress bar on stderr for a multi-step command, or nothing at all."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._progress: Any = None  # a rich Progress
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
                redirect_stdout=False,  # stdout may be a file or pipe while stderr is the terminal
            )
            self._task = self._progress.add_task("", total=total)

    @contextmanager
    def running(self) -> Iterator[_Steps]:
        if self._progress is None:
            yield self
            return
        with self._progress:
            yield self

    def begin(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)


# ---------------------------------------------------------------------------------------------
# Commands


def _run(context: Context) -> int:
    """Start the Discord bot and run until stopped (Ctrl-C)."""
    settings = context.settings
    if not settings.discord_token:
        raise UserError(
            "DISCORD_TOKEN is not set; set it in the environment or in .env (see .env.example).",
            EXIT_USAGE,
        )
    import asyncio

    import discord

    from bot.app import run_bot

    try:
        asyncio.run(run_bot(settings))
    except discord.LoginFailure:
        raise UserError(
            "Discord refused DISCORD_TOKEN; copy the bot token again from the Developer Portal."
        ) from None
    return EXIT_OK


@_async
async def _fetch(context: Context) -> int:
    """Store each day's Hugging Face list in [--date, --to], one transaction per day."""
    settings = context.settings
    days = _day_range(context.args, "fetch")
    count = len(days)
    from rich.text import Text

    from bot.lookup import Sources, http_client

    rows: list[dict[str, Any]] = []
    steps = _Steps(count, enabled=count > 1 and not context.json and sys.stderr.isatty())
    async with _store(settings, create=True) as store, http_client(settings) as http:
        hf = Sources.create(http, settings).huggingface
        with steps.running():
            for day in days:
                steps.begin(f"Fetching {day}")
                rows.append(await _fetch_day(store, hf, day))
                steps.done()

    failed = [row for row in rows if row["error"]]
    if context.json:
        _print_json(rows)
    else:
        table = _counts_table("Hugging Face Daily Papers", "day")
        for row in rows:
            if row["error"]:
                table.add_row(row["day"], "", "", "", "", Text("failed", style="red"))
            else:
                table.add_row(
                    row["day"],
                    *(str(row[key]) for key in ("papers", "new", "updated", "vote_rows")),
                    "ok" if row["papers"] else "no papers listed",
                )
        context.out.print(table)
        if len(rows) > 1:
            context.out.print(_totals(rows, "day"))
    for row in failed:
        _error_line(f"{row['day']}: {row['error']}")
    if count > 1 and len(failed) == count:
        _error_line(f"all {count} days failed; nothing was stored")
    elif failed and count > 1:
        _error_line(f"{len(failed)} of {count} days failed; the others are stored")
    return EXIT_FAILED if failed else EXIT_OK


async def _fetch_day(store: Store, hf: HuggingFaceClient, day: date) -> dict[str, Any]:
    """Fetch and save one day; a source failure becomes the row's error, not an exception."""
    from bot.sources import SourceError
    from storage.papers import SaveStats, save_daily_list

    try:
        daily = await hf.daily_papers(day)
    except SourceError as exc:
        log.debug("fetching %s failed", day, exc_info=True)
        return _fetch_row(day, 0, SaveStats(), error=_one_line(str(exc)))
    async with store.write() as conn:
        stats = await save_daily_list(conn, daily, datetime.now(UTC))
    return _fetch_row(day, len(daily.papers), stats)


def _fetch_row(day: date, papers: int, stats: SaveStats, error: str | None = None) -> dict:
    return {"day": day.isoformat(), "papers": papers, **_stats_json(stats), "error": error}


@_async
async def _import(context: Context) -> int:
    """Store markdown digests; a broken file is reported with its line and imports nothing."""
    from rich.text import Text

    files, rows = _digest_files(context.args.paths)
    async with _store(context.settings, create=True) as store:
        for path in files:
            rows.append(await _import_file(store, path))

    failed = [row for row in rows if row["error"]]
    if context.json:
        _print_json(rows)
    else:
        table = _counts_table("Imported digests", "file")
        for row in rows:
            if row["error"]:
                table.add_row(Text(row["file"]), "", "", "", "", Text("failed", style="red"))
            else:
                counts = (str(row[key]) for key in ("papers", "new", "updated", "vote_rows"))
                table.add_row(Text(row["file"]), *counts, _plural(len(row["days"]), "day"))
        context.out.print(table)
        if len(rows) > 1:
            context.out.print(_totals(rows, "file"))
    for row in failed:
        _error_line(row["error"])
    return EXIT_FAILED if failed else EXIT_OK


def _digest_files(paths: Sequence[Path]) -> tuple[list[Path], list[dict[str, Any]]]:
    """(digest files to import, rows for paths that failed already).

    Named files are always imported. Folders are searched for `*.md` (recursively, sorted) and
    only files that start with a "## Daily Papers" heading count, so a README or SOURCES.md
    beside the digests is skipped rather than reported as broken.
    """
    files: list[Path] = []
    failures: list[dict[str, Any]] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        if path.is_dir():
            found = [p for p in sorted(path.rglob("*.md")) if p.is_file() and _looks_like_digest(p)]
            if not found:
                failures.append(
                    _import_row(
                        path,
                        error=f"{path}: no digests found (*.md starting with "
                        f"'{DIGEST_HEADING} (YYYY-MM-DD)')",
                    )
                )
            for file in found:
                add(file)
        elif path.exists():
            add(path)
        else:
            failures.append(_import_row(path, error=f"{path}: no such file or folder"))
    return files, failures


def _looks_like_digest(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return True  # let the import report why it cannot be read
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first.startswith(DIGEST_HEADING):
        log.info("skipping %s: not a digest (does not start with '%s')", path, DIGEST_HEADING)
        return False
    return True


def _import_row(path: Path, **values: Any) -> dict[str, Any]:
    from storage.papers import SaveStats

    row: dict[str, Any] = {"file": str(path), "days": [], "papers": 0}
    row |= _stats_json(SaveStats())
    row["error"] = None
    row.update(values)
    return row


async def _import_file(store: Store, path: Path) -> dict[str, Any]:
    """Parse the whole file, then save all its days in one transaction."""
    from bot.sources.digest_md import DigestFormatError, parse_digest_file
    from storage.papers import SaveStats, save_daily_list

    try:
        lists = parse_digest_file(path)
    except DigestFormatError as exc:
        return _import_row(
            path, error=f"{path}:{exc.line}: expected {exc.expected}, found {exc.found}"
        )
    except OSError as exc:
        return _import_row(path, error=f"{path}: {exc.strerror or exc}")
    stats = SaveStats()
    async with store.write() as conn:
        for daily in lists:
            stats += await save_daily_list(conn, daily, end_of_day(daily.day))
    return _import_row(
        path,
        days=[daily.day.isoformat() for daily in lists],
        papers=sum(len(daily.papers) for daily in lists),
        **_stats_json(stats),
    )


@_async
async def _export(context: Context) -> int:
    """Write a stored day as a digest (markdown) or a JSON list of papers."""
    from bot.models import DailyList
    from bot.sources.digest_md import render_digest
    from storage.papers import papers_on_day

    args = context.args
    fmt = args.format or ("json" if context.json else "markdown")
    async with _store(context.settings) as store:
        papers = await papers_on_day(store.reader, args.date)
    if not papers:
        raise UserError(f"no papers stored for {args.date}")
    language = args.lang
    without = 0
    if language is not None:
        import dataclasses

        from bot.sources.digest_md import summary_in

        chosen = [summary_in(paper, language) for paper in papers]
        without = chosen.count(None)
        # Only that language's newest summary: the JSON says what the digest would hold.
        papers = [
            dataclasses.replace(paper, summaries=[summary] if summary else [])
            for paper, summary in zip(papers, chosen, strict=True)
        ]
    if fmt == "json":
        text = json.dumps([paper_json(p) for p in papers], ensure_ascii=False, indent=2) + "\n"
    else:
        if language is None:
            papers = [_digest_summary_first(p) for p in papers]
        digest = DailyList(day=args.date, papers=papers)
        try:
            text = render_digest([digest], language=language)
        except ValueError as exc:
            raise UserError(f"cannot write {args.date} as a markdown digest: {exc}") from exc
    if without:
        print(
            f"{PROG}: {without} of {_plural(len(papers), 'paper')} of {args.date} have no "
            f"{language} summary and are written without bullets "
            f"(see 'paperboy summarize --help')",
            file=sys.stderr,
        )
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return EXIT_OK
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"{PROG}: wrote {len(papers)} papers of {args.date} to {args.output}", file=sys.stderr)
    return EXIT_OK


SUMMARY_STATUSES = ("made", "cached", "skipped", "fallback")


@_async
async def _summarize(context: Context) -> int:
    """Write the summaries of the papers stored for [--date, --to] in each --lang, with the
    provider the settings choose; stored and tried-today pairs are skipped unless --force."""
    args, settings = context.args, context.settings
    days = _day_range(args, "summarize")
    languages = list(dict.fromkeys(args.lang))
    if settings.summary_provider_name == "abstract":
        raise UserError(
            "no summary model is configured: set LLM_BASE_URL and LLM_MODEL "
            "(the abstract provider writes no summaries)",
            EXIT_USAGE,
        )
    import asyncio

    from bot.summaries.providers import make_provider
    from bot.summaries.service import (
        UNREACHABLE,
        SortedPairs,
        provider_source,
        sort_pairs,
        summarize_and_store,
    )
    from storage.papers import paper_key, papers_on_day
    from storage.summaries import attempts_of, utc_day

    span = f"on {days[0]}" if len(days) == 1 else f"from {days[0]} to {days[-1]}"
    results: dict[tuple[str, str], dict[str, Any]] = {}
    first_day: dict[str, date] = {}  # a paper listed on several days counts on the first
    async with _store(settings, write=True) as store:
        listed = {day: await papers_on_day(store.reader, day) for day in days}
        if not any(listed.values()):
            raise UserError(
                f"no papers stored {span}; run 'paperboy fetch' or 'paperboy import' first"
            )
        pairs: list[tuple[Paper, str]] = []
        for day, papers in listed.items():
            for paper in papers:
                if paper.id not in first_day:
                    first_day[paper.id] = day
                    pairs += [(paper, language) for language in languages]
        provider = make_provider(settings)
        source = provider_source(provider)
        assert source is not None  # not the abstract provider
        now = datetime.now(UTC)
        if args.force:
            sorted_pairs = SortedPairs(list(pairs), [], [])
        else:
            sorted_pairs = await sort_pairs(store.reader, pairs, source, utc_day(now))
        for paper, language in sorted_pairs.cached:
            results[paper.id, language] = _summary_row("cached", source)
        for paper, language in sorted_pairs.tried:
            reasons = [
                reason
                for lang, src, at, reason in await attempts_of(store.reader, paper_key(paper.id))
                if lang == language and src == source and at.startswith(utc_day(now).isoformat())
            ]
            why = f"fell back earlier today ({reasons[-1]})" if reasons else "tried earlier today"
            results[paper.id, language] = _summary_row(
                "skipped", source, f"{why}; --force asks again"
            )

        todo = sorted_pairs.todo
        limit = asyncio.Semaphore(max(1, settings.llm_concurrency))
        down = asyncio.Event()
        steps = _Steps(
            len(todo), enabled=len(todo) > 1 and not context.json and sys.stderr.isatty()
        )

        async def one(paper: Paper, language: str) -> None:
            async with limit:
                if down.is_set():
                    results[paper.id, language] = _summary_row(
                        "skipped", source, "not asked: the model could not be reached"
                    )
                else:
                    steps.begin(f"Summarizing {paper.id} in {language}")
                    result = await summarize_and_store(
                        store,
                        provider,
                        source,
                        paper,
                        language,
                        settings.summary_bullets,
                        lambda: datetime.now(UTC),
                    )
                    if result.fallback_reason == UNREACHABLE:
                        down.set()
                    status = "fallback" if result.is_fallback else "made"
                    results[paper.id, language] = _summary_row(
                        status, source, result.fallback_reason, result.calls
                    )
            steps.done()

        try:
            with steps.running():
                await asyncio.gather(*(one(paper, language) for paper, language in todo))
        finally:
            if (close := getattr(provider, "aclose", None)) is not None:
                await close()

    rows = [
        {"day": first_day[paper.id].isoformat(), "id": paper.id, "language": language}
        | results[paper.id, language]
        for paper, language in pairs
    ]
    fell_back = [row for row in rows if row["status"] == "fallback"]
    if context.json:
        _print_json(rows)
    else:
        _print_summary_table(context, rows, listed, first_day, source)
    if down.is_set():
        _error_line(
            "could not connect to the model (LLM_BASE_URL); what was not asked is asked "
            "the next time"
        )
    elif fell_back:
        _error_line(
            f"{len(fell_back)} of {len(rows)} summaries fell back and were not "
            "stored" + ("" if context.verbose or context.json else "; --verbose says why")
        )
    return EXIT_FAILED if fell_back or down.is_set() else EXIT_OK


def _summary_row(
    status: str, source: str, reason: str | None = None, calls: int = 0
) -> dict[str, Any]:
    return {"status": status, "source": source, "reason": reason, "calls": calls}


def _print_summary_table(
    context: Context,
    rows: list[dict[str, Any]],
    listed: dict[date, list[Paper]],
    first_day: dict[str, date],
    source: str,
) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"Summaries ({source})"), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("day", no_wrap=True)
    for name in ("papers", *SUMMARY_STATUSES):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("status", min_width=6)
    for day, papers in listed.items():
        key = day.isoformat()
        counts = {status: 0 for status in SUMMARY_STATUSES}
        for row in rows:
            if row["day"] == key:
                counts[row["status"]] += 1
        own = sum(1 for paper in papers if first_day.get(paper.id) == day)
        if not papers:
            status = Text("no papers stored", style="dim")
        elif counts["fallback"]:
            status = Text(f"{counts['fallback']} fell back", style="yellow")
        else:
            status = Text("ok")
        shown = f"{own}" if own == len(papers) else f"{own} (+{len(papers) - own} earlier)"
        table.add_row(key, shown, *(str(counts[name]) for name in SUMMARY_STATUSES), status)
    context.out.print(table)
    totals = {
        status: sum(1 for row in rows if row["status"] == status) for status in SUMMARY_STATUSES
    }
    calls = sum(row["calls"] for row in rows)
    languages = sorted({row["language"] for row in rows})
    context.out.print(
        Text(
            f"{_plural(len(listed), 'day')}, {len(first_day):,} papers × "
            f"{_plural(len(languages), 'language')} ({', '.join(languages)}): "
            + ", ".join(f"{totals[name]:,} {name}" for name in SUMMARY_STATUSES)
            + f"; {_plural(calls, 'model call')}"
        )
    )
    if context.verbose:
        for row in rows:
            if row["status"] in ("fallback", "skipped"):
                context.out.print(
                    Text(f"  {row['id']} {row['language']}: {row['status']}: {row['reason']}")
                )


def _digest_summary_first(paper: Paper) -> Paper:
    """The paper with a digest's own bullets first: render_digest writes the first summary."""
    import dataclasses

    ordered = sorted(paper.summaries, key=lambda s: s.source != "digest")
    return dataclasses.replace(paper, summaries=ordered)


@_async
async def _search(context: Context) -> int:
    """Papers matching words of their title or summary, best first."""
    from storage.search import search_papers

    args = context.args
    text = " ".join(args.text)
    offset = (args.page - 1) * args.limit
    past_end = None
    async with _store(context.settings) as store:
        page = await search_papers(store.reader, text, limit=args.limit, offset=offset)
        if _needs_count(context, page.papers):

            async def found_at(start: int) -> bool:
                return bool((await search_papers(store.reader, text, limit=1, offset=start)).papers)

            total = await _count(found_at, offset)
            past_end = _past_the_end(
                context, total, f"{_plural(total, 'result')} for {_quoted(text)}"
            )
    _print_papers(
        context,
        page.papers,
        heading=f"Search {_quoted(text)} (page {args.page})",
        first_rank=offset + 1,
        more=page.more,
        empty=past_end or f"No stored papers match {_quoted(text)}.",
    )
    return EXIT_OK


@_async
async def _author(context: Context) -> int:
    """Papers by an author, newest first."""
    from storage.search import papers_by_author

    args = context.args
    name = " ".join(args.name)
    offset = (args.page - 1) * args.limit
    past_end = None
    async with _store(context.settings) as store:
        page = await papers_by_author(store.reader, name, limit=args.limit, offset=offset)
        if _needs_count(context, page.papers):

            async def found_at(start: int) -> bool:
                found = await papers_by_author(store.reader, name, limit=1, offset=start)
                return bool(found.papers)

            total = await _count(found_at, offset)
            past_end = _past_the_end(
                context, total, f"{_plural(total, 'paper')} by {_quoted(name)}"
            )
    _print_papers(
        context,
        page.papers,
        heading=f"Papers by {_quoted(name)} (page {args.page})",
        first_rank=offset + 1,
        more=page.more,
        empty=past_end or f"No stored papers by {_quoted(name)}.",
    )
    return EXIT_OK


def _needs_count(context: Context, papers: list[Paper]) -> bool:
    """An empty page after the first, in a table: say how many results there are instead."""
    return not papers and context.args.page > 1 and not context.json


async def _count(found_at: Callable[[int], Awaitable[bool]], end: int) -> int:
    """How many results a paged query has, knowing none starts at offset `end`: the first
    offset without a result, found by bisection (each probe asks for one result)."""
    low, high = 0, end
    while low < high:
        middle = (low + high) // 2
        if await found_at(middle):
            low = middle + 1
        else:
            high = middle
    return low


def _past_the_end(context: Context, total: int, what: str) -> str | None:
    """The line for a page past the end, such as "Page 9 is past the end: 3 results for 'x',
    in 1 page of 10."; None when there are no results at all."""
    if not total:
        return None
    limit = context.args.limit
    pages = -(-total // limit)
    return (
        f"Page {context.args.page} is past the end: {what}, in {_plural(pages, 'page')} of {limit}."
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _quoted(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@_async
async def _top(context: Context) -> int:
    """The most upvoted papers of the last N stored days."""
    from storage.papers import latest_day, top_papers

    args = context.args
    offset = (args.page - 1) * args.limit
    past_end = None
    async with _store(context.settings) as store:
        last = await latest_day(store.reader)
        papers: list[Paper] = []
        if last is not None:
            first = last - timedelta(days=args.days - 1)
            papers = await top_papers(
                store.reader, first, last, limit=args.limit + 1, offset=offset
            )
            if _needs_count(context, papers):

                async def found_at(start: int) -> bool:
                    return bool(await top_papers(store.reader, first, last, limit=1, offset=start))

                total = await _count(found_at, offset)
                span = f"on {last}" if args.days == 1 else f"from {first} to {last}"
                past_end = _past_the_end(context, total, f"{_plural(total, 'paper')} listed {span}")
    if last is None:
        heading = "Top papers"
    elif args.days == 1:
        heading = f"Top papers of {last}"
    else:
        heading = f"Top papers of {first} to {last}"
    _print_papers(
        context,
        papers[: args.limit],
        heading=f"{heading} (page {args.page})",
        first_rank=offset + 1,
        more=len(papers) > args.limit,
        empty="No Daily Papers lists stored yet; run 'paperboy fetch' or 'paperboy import'."
        if last is None
        else past_end or "No papers on this page.",
    )
    return EXIT_OK


@_async
async def _show(context: Context) -> int:
    """One paper; one not stored yet is fetched (Hugging Face, then arXiv) and stored."""
    from bot.models import normalize_arxiv_id
    from storage.db import DatabaseNeedsMigration
    from storage.papers import get_paper

    paper_id = normalize_arxiv_id(context.args.id)
    settings = context.settings
    paper = None
    if settings.database_path.exists():  # a stored paper is shown without writing anything
        try:
            async with _store(settings) as store:
                paper = await get_paper(store.reader, paper_id)
        except DatabaseNeedsMigration:
            pass  # the read-write open below migrates it
    if paper is None:
        from bot.lookup import Sources, fetch_and_store, http_client

        async with _store(settings, create=True) as store, http_client(settings) as http:
            paper = await get_paper(store.reader, paper_id) or await fetch_and_store(
                store, Sources.create(http, settings), paper_id, datetime.now(UTC)
            )
    if context.json:
        _print_json(paper_json(paper))
    else:
        _print_card(context, paper)
    return EXIT_OK


@_async
async def _chart(context: Context) -> int:
    """Draw a stored paper's vote history as a PNG (the chart `/paper votes` answers with)."""
    from bot.charts import file_name, load_history, render_png
    from bot.models import normalize_arxiv_id
    from storage.papers import get_paper

    args = context.args
    paper_id = normalize_arxiv_id(args.id)
    async with _store(context.settings) as store:
        paper = await get_paper(store.reader, paper_id)
        if paper is None:
            raise UserError(
                f"paper {paper_id} is not stored, so it has no vote history; "
                f"'paperboy show {paper_id}' fetches it"
            )
        history = await load_history(store.reader, paper, args.guild, args.days, datetime.now(UTC))
    if history.empty:
        raise UserError(
            f"{paper_id} has no vote history yet (no upvote snapshot"
            + (f" and no vote of server {args.guild}" if args.guild else "")
            + "); nothing was written"
        )
    png = render_png(history)
    path = args.output or Path(file_name(paper_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    if context.json:
        _print_json(
            {
                "id": paper_id,
                "path": str(path),
                "bytes": len(png),
                "days": args.days,
                "guild": args.guild,
                "snapshots": history.snapshots,
                "server_votes": history.server_changes if args.guild else None,
            }
        )
    else:
        print(f"wrote {path} ({len(png) / 1024:.1f} KB, the last {_plural(args.days, 'day')})")
    return EXIT_OK


@_async
async def _db_info(context: Context) -> int:
    """Where the database is, its schema version and what it holds."""
    import dataclasses

    from storage.papers import store_info

    async with _store(context.settings) as store:
        info = await store_info(store.reader)
    data: dict[str, Any] = {"path": context.settings.store_location}
    for name, value in dataclasses.asdict(info).items():
        data[name] = value.isoformat() if isinstance(value, date) else value
    if context.json:
        _print_json(data)
        return EXIT_OK
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for name, value in data.items():
        table.add_row(name.replace("_", " "), Text("–" if value is None else str(value)))
    context.out.print(table)
    return EXIT_OK


@_async
async def _db_copy(context: Context) -> int:
    """`db copy --from PATH|URL --to URL`: every table, resumable, counts compared."""
    import dataclasses

    from storage.copy import TABLES, copy_store
    from storage.db import is_database_url

    args, settings = context.args, context.settings
    if not is_database_url(args.target):
        raise UserError(
            f"--to must be a postgresql:// URL (copying into SQLite is not supported), not "
            f"{args.target!r}",
            EXIT_USAGE,
        )
    if is_database_url(args.source):
        source_settings = dataclasses.replace(settings, database_url=args.source)
    else:
        source_settings = dataclasses.replace(
            settings, database_path=Path(args.source), database_url=None
        )
    target_settings = dataclasses.replace(settings, database_url=args.target)
    steps = _Steps(len(TABLES), enabled=not context.json and sys.stderr.isatty())
    async with _store(source_settings) as source, _store(target_settings, write=True) as target:
        with steps.running():
            results = await copy_store(
                source,
                target,
                begin=lambda table, rows: steps.begin(f"{table.name} ({rows:,} rows)"),
                done=lambda table: steps.done(),
            )
    mismatched = [r for r in results if not r.matches]
    if context.json:
        _print_json(
            {
                "from": source_settings.store_location,
                "to": target_settings.store_location,
                "tables": [dataclasses.asdict(r) for r in results],
                "verified": not mismatched,
            }
        )
    else:
        for result in results:
            mark = "ok" if result.matches else "MISMATCH"
            print(f"{result.table:<18} {result.source_rows:>10,} {result.target_rows:>10,}  {mark}")
        print(
            f"copied {source_settings.store_location} to {target_settings.store_location}: "
            + ("every table's row count matches" if not mismatched else
               f"{len(mismatched)} table(s) differ (the target held other rows?)")
        )  # fmt: skip
    return EXIT_OK if not mismatched else EXIT_FAILED


@_async
async def _db_migrate(context: Context) -> int:
    """Apply the schema migrations a database made by an older paperboy still needs."""
    from storage.db import DatabaseNeedsMigration, NotAPaperboyDatabase
    from storage.papers import store_info

    settings = context.settings
    try:
        async with _store(settings) as store:  # read-only: is there anything to do?
            before = after = (await store_info(store.reader)).schema_version
    except (DatabaseNeedsMigration, NotAPaperboyDatabase) as exc:
        if isinstance(exc, NotAPaperboyDatabase) and not settings.database_url:
            raise  # a SQLite file that is not paperboy's is left alone
        before = getattr(exc, "version", 0)  # an empty PostgreSQL database gets the schema
        async with _store(settings, write=True) as store:
            after = (await store_info(store.reader)).schema_version
    path = settings.store_location
    if context.json:
        _print_json({"path": str(path), "schema_version": after, "previous_version": before})
    elif after == before:
        print(f"{path}: schema version {after}, up to date")
    else:
        print(f"{path}: schema version {before} -> {after}")
    return EXIT_OK
