"""Summaries written by a provider (a model, Hugging Face) and the attempts that fell back.

A model's summary is stored in the ``summaries`` table like an imported one, its ``source``
naming the model and the prompt version (``model_source``): ``model:qwen3:8b:p1``. So a
restart, a second channel, ``/paper show`` and ``export`` reuse it, and a new model or prompt
makes new ones (the old ones stay; cards show the newest summary of a language).

An attempt that fell back is kept in ``summary_attempts`` (paper, language, source, UTC day,
reason): a paper is asked for at most once per (language, source) and UTC day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from storage.interface import Reader, Writer
from storage.papers import _select_in, _summary_text
from storage.votes import to_iso

MODEL_PREFIX = "model:"
HF_SOURCE = "hf_ai"  # as bot.sources names Hugging Face's ai_summary
# The reason recorded when a model's answers failed the checks (bot/summaries/providers.py);
# cards say so apart from other failures (bot/digest.py).
CHECKS_FAILED = "the answer failed the checks"


def model_source(model: str, prompt_version: int) -> str:
    """The summaries' source of `model` asked with prompt `prompt_version`."""
    return f"{MODEL_PREFIX}{model}:p{prompt_version}"


def model_of_source(source: str) -> str | None:
    """The model named by a ``model_source`` string, else None."""
    if not source.startswith(MODEL_PREFIX):
        return None
    model, sep, version = source[len(MODEL_PREFIX) :].rpartition(":p")
    if not sep or not version.isdigit() or not model:
        return None
    return model


async def save_summary(
    conn: Writer,
    paper_pk: int,
    language: str,
    source: str,
    bullets: Sequence[str],
    observed_at: datetime,
) -> None:
    """Store (or replace) one summary and refresh the paper's summary text in the search index
    (inside the caller's write transaction)."""
    await conn.execute(
        "INSERT INTO summaries (paper_pk, language, source, bullets, observed_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_pk, language, source)"
        " DO UPDATE SET bullets = excluded.bullets, observed_at = excluded.observed_at",
        (paper_pk, language, source, json.dumps(list(bullets), ensure_ascii=False),
         to_iso(observed_at)),
    )  # fmt: skip
    rows = await conn.execute_fetchall(
        "SELECT language, source, bullets FROM summaries WHERE paper_pk = ?"
        " ORDER BY language, source",
        (paper_pk,),
    )
    await conn.execute(
        "UPDATE paper_fts SET summary = ? WHERE rowid = ?", (_summary_text(rows), paper_pk)
    )


async def record_attempt(
    conn: Writer,
    paper_pk: int,
    language: str,
    source: str,
    at: datetime,
    reason: str,
) -> None:
    """Record that `source` did not write the summary of `paper_pk` in `language` at `at`."""
    await conn.execute(
        "INSERT INTO summary_attempts (paper_pk, language, source, day, attempted_at, reason)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (paper_pk, language, source, day)"
        " DO UPDATE SET attempted_at = excluded.attempted_at, reason = excluded.reason",
        (paper_pk, language, source, utc_day(at).isoformat(), to_iso(at), reason[:200]),
    )


async def attempted(
    db: Reader, paper_pks: Iterable[int], source: str, day: date
) -> dict[tuple[int, str], str]:
    """{(paper_pk, language): reason} of `paper_pks` that `source` fell back on during UTC
    `day` (the latest reason: one attempt is kept per day)."""
    rows = await _select_in(
        db,
        "SELECT paper_pk, language, reason FROM summary_attempts WHERE source = ? AND day = ?"
        " AND paper_pk IN",
        sorted(set(paper_pks)),
        prefix=(source, day.isoformat()),
    )
    return {(pk, language): reason for pk, language, reason in rows}


async def attempts_of(db: Reader, paper_pk: int) -> list[tuple[str, str, str, str]]:
    """(language, source, attempted_at, reason) of a paper's recorded attempts, oldest first."""
    rows = await db.execute_fetchall(
        "SELECT language, source, attempted_at, reason FROM summary_attempts"
        " WHERE paper_pk = ? ORDER BY attempted_at",
        (paper_pk,),
    )
    return [tuple(row) for row in rows]


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()
