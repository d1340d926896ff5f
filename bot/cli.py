"""The `paperboy` command: run the bot, fill the store, and look papers up from a terminal.

`main(argv)` parses the arguments, loads the settings, sets up logging and runs one command,
each in its own `asyncio.run`, with the store and the HTTP client opened by the command and
closed when it ends. It returns the exit code:

    0    done (a search without results is still a success)
    1    the command failed: a source or network error, a broken digest, a paper or day that
         cannot be found, a database problem; for fetch and import, at least one day or file
    2    bad usage or configuration: arguments, dates, paper ids, queries, settings, no token
    130  interrupted (Ctrl-C)

Errors are one line on stderr, "paperboy: error: ...", never a traceback; `--verbose` adds the
traceback and the debug logs. Results go to stdout: rich tables and cards, or JSON with --json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import discord
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot.app import run_bot
from bot.config import ConfigError, Settings, load_settings
from bot.errors import UserError
from bot.logging_setup import cli_log_level, logging_to_stderr
from bot.lookup import Sources, fetch_and_store, http_client, version
from bot.models import DailyList, InvalidPaperId, Paper, normalize_arxiv_id, parse_day
from bot.sources import SourceError
from bot.sources.digest_md import DigestFormatError, parse_digest_file, render_digest
from bot.sources.huggingface import HuggingFaceClient
from storage.db import DatabaseTooNew, Store, open_store
from storage.papers import (
    SaveStats,
    get_paper,
    latest_day,
    papers_on_day,
    save_daily_list,
    store_info,
    top_papers,
)
from storage.search import QueryHasNoWords, papers_by_author, search_papers

log = logging.getLogger(__name__)

PROG = "paperboy"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

MAX_FETCH_DAYS = 366  # one request per day: a typo in --to should not mean years of requests
MAX_TOP_DAYS = 3660
MAX_LIMIT = 100
SHOWN_AUTHORS = 3  # authors named in a table row before "+N more"
DIGEST_HEADING = "## Daily Papers"


class _UsageError(Exception):
    """argparse found a problem with the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as one line (the caller prints it) instead of usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


@dataclass(slots=True)
class Context:
    """What a command gets: its arguments, the settings and where to write."""

    args: argparse.Namespace
    settings: Settings
    json: bool
    verbose: bool
    out: Console


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
    verbose = getattr(args, "verbose", False)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if db := getattr(args, "db", None):
        settings = dataclasses.replace(settings, database_path=db)

    context = Context(
        args=args,
        settings=settings,
        json=getattr(args, "json", False),
        verbose=verbose,
        out=Console(highlight=False),
    )
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
    if isinstance(exc, UserError):
        return str(exc), exc.exit_code
    if isinstance(exc, ConfigError | InvalidPaperId | QueryHasNoWords):
        return str(exc), EXIT_USAGE
    if isinstance(exc, SourceError | DatabaseTooNew):
        return str(exc), EXIT_FAILED
    if isinstance(exc, sqlite3.Error):  # not a database, locked, unreadable, disk full ...
        return f"database {settings.database_path}: {exc}", EXIT_FAILED
    if isinstance(exc, OSError):
        return _os_error(exc), EXIT_FAILED
    return None


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
    common = argparse.ArgumentParser(add_help=False)
    options = common.add_argument_group("common options")
    # SUPPRESS: a subcommand's default must not overwrite a value given before the subcommand.
    options.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the SQLite database (default: PAPERBOY_DB or paperboy.db); its folder is created",
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
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

    export = command("export", _export, "write a stored day as a markdown digest or JSON")
    export.add_argument("--date", type=_day, required=True, metavar="DAY", help=_DAY_HELP)
    export.add_argument(
        "--format", choices=("markdown", "json"), help="default: markdown (json with --json)"
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
    return parser


_DAY_HELP = "YYYY-MM-DD, 'today' or 'yesterday' (UTC)"


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", type=_bounded_int(1, MAX_LIMIT), default=10, metavar="N", help="per page (10)"
    )
    parser.add_argument(
        "--page", type=_bounded_int(1, 1_000_000), default=1, metavar="N", help="page (1)"
    )


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def _async(command: Callable[[Context], Awaitable[int]]) -> Callable[[Context], int]:
    """A command that runs in its own event loop."""

    def run(context: Context) -> int:
        return asyncio.run(command(context))

    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


@asynccontextmanager
async def _store(settings: Settings, *, create: bool) -> AsyncIterator[Store]:
    """The store at the configured path; read-only commands refuse to create an empty one."""
    path = settings.database_path
    if not create and not path.exists():
        raise UserError(
            f"there is no database at {path} yet; run 'paperboy fetch' or 'paperboy import' first"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot create the folder of the database {path}: {reason}") from exc
    async with open_store(path) as store:
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


def _counts_table(title: str, first_column: str) -> Table:
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(first_column, overflow="fold")
    for name in ("papers", "new", "updated", "vote rows"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("status", min_width=6)
    return table


class _Steps:
    """A progress bar on stderr for a multi-step command, or nothing at all."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._progress: Progress | None = None
        if enabled:
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
    args, settings = context.args, context.settings
    first, last = args.date, args.to or args.date
    if last < first:
        raise UserError(f"--to {last} is before --date {first}", EXIT_USAGE)
    count = (last - first).days + 1
    if count > MAX_FETCH_DAYS:
        raise UserError(
            f"{first} to {last} is {count} days; fetch at most {MAX_FETCH_DAYS} at a time",
            EXIT_USAGE,
        )
    days = [first + timedelta(days=n) for n in range(count)]
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
    for row in failed:
        _error_line(f"{row['day']}: {row['error']}")
    if failed and count > 1:
        _error_line(f"{len(failed)} of {count} days failed; the others are stored")
    return EXIT_FAILED if failed else EXIT_OK


async def _fetch_day(store: Store, hf: HuggingFaceClient, day: date) -> dict[str, Any]:
    """Fetch and save one day; a source failure becomes the row's error, not an exception."""
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
    row: dict[str, Any] = {"file": str(path), "days": [], "papers": 0}
    row |= _stats_json(SaveStats())
    row["error"] = None
    row.update(values)
    return row


async def _import_file(store: Store, path: Path) -> dict[str, Any]:
    """Parse the whole file, then save all its days in one transaction."""
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
    args = context.args
    fmt = args.format or ("json" if context.json else "markdown")
    async with _store(context.settings, create=False) as store:
        papers = await papers_on_day(store.reader, args.date)
    if not papers:
        raise UserError(f"no papers stored for {args.date}")
    if fmt == "json":
        text = json.dumps([paper_json(p) for p in papers], ensure_ascii=False, indent=2) + "\n"
    else:
        digest = DailyList(day=args.date, papers=[_digest_summary_first(p) for p in papers])
        try:
            text = render_digest([digest])
        except ValueError as exc:
            raise UserError(f"cannot write {args.date} as a markdown digest: {exc}") from exc
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return EXIT_OK
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"{PROG}: wrote {len(papers)} papers of {args.date} to {args.output}", file=sys.stderr)
    return EXIT_OK


def _digest_summary_first(paper: Paper) -> Paper:
    """The paper with a digest's own bullets first: render_digest writes the first summary."""
    ordered = sorted(paper.summaries, key=lambda s: s.source != "digest")
    return dataclasses.replace(paper, summaries=ordered)


@_async
async def _search(context: Context) -> int:
    """Papers matching words of their title or summary, best first."""
    args = context.args
    text = " ".join(args.text)
    offset = (args.page - 1) * args.limit
    async with _store(context.settings, create=False) as store:
        page = await search_papers(store.reader, text, limit=args.limit, offset=offset)
    _print_papers(
        context,
        page.papers,
        heading=f"Search {_quoted(text)} (page {args.page})",
        first_rank=offset + 1,
        more=page.more,
        empty=f"No stored papers match {_quoted(text)}.",
    )
    return EXIT_OK


@_async
async def _author(context: Context) -> int:
    """Papers by an author, newest first."""
    args = context.args
    name = " ".join(args.name)
    offset = (args.page - 1) * args.limit
    async with _store(context.settings, create=False) as store:
        page = await papers_by_author(store.reader, name, limit=args.limit, offset=offset)
    _print_papers(
        context,
        page.papers,
        heading=f"Papers by {_quoted(name)} (page {args.page})",
        first_rank=offset + 1,
        more=page.more,
        empty=f"No stored papers by {_quoted(name)}.",
    )
    return EXIT_OK


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _quoted(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@_async
async def _top(context: Context) -> int:
    """The most upvoted papers of the last N stored days."""
    args = context.args
    offset = (args.page - 1) * args.limit
    async with _store(context.settings, create=False) as store:
        last = await latest_day(store.reader)
        papers: list[Paper] = []
        if last is not None:
            first = last - timedelta(days=args.days - 1)
            papers = await top_papers(
                store.reader, first, last, limit=args.limit + 1, offset=offset
            )
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
        else "No papers on this page.",
    )
    return EXIT_OK


@_async
async def _show(context: Context) -> int:
    """One paper; one not stored yet is fetched (Hugging Face, then arXiv) and stored."""
    paper_id = normalize_arxiv_id(context.args.id)
    settings = context.settings
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
async def _db_info(context: Context) -> int:
    """Where the database is, its schema version and what it holds."""
    async with _store(context.settings, create=False) as store:
        info = await store_info(store.reader)
    data: dict[str, Any] = {"path": str(context.settings.database_path)}
    for name, value in dataclasses.asdict(info).items():
        data[name] = value.isoformat() if isinstance(value, date) else value
    if context.json:
        _print_json(data)
        return EXIT_OK
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for name, value in data.items():
        table.add_row(name.replace("_", " "), Text("–" if value is None else str(value)))
    context.out.print(table)
    return EXIT_OK
