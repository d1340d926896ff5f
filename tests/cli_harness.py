"""What the CLI test modules share: a result of `paperboy ...` run in-process, and a clean
working directory and environment (no real .env, no real network)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from bot.cli import main
from bot.config import ENV_VARS


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def isolate(tmp_path, monkeypatch) -> None:
    """Work in `tmp_path` with none of paperboy's settings from outside; sources point at a
    port nothing listens on, so a test that forgets its fake server fails fast."""
    monkeypatch.chdir(tmp_path)
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERBOY_DB", str(tmp_path / "paperboy.db"))
    monkeypatch.setenv("HTTP_RETRIES", "0")
    monkeypatch.setenv("HTTP_TIMEOUT", "2")
    monkeypatch.setenv("HF_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("ARXIV_API_BASE", "http://127.0.0.1:9")


async def run_in_thread(capsys, *args: object) -> Result:
    """`paperboy ARGS...` from an async test: main() runs in a thread with its own event loop."""
    code = await asyncio.to_thread(main, [str(arg) for arg in args])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
