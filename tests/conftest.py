"""Fixtures shared by the test modules."""

from __future__ import annotations

import discord
import httpx
import pytest
from fake_openai import FakeOpenAI
from http_fixture_server import FixtureServer
from pg_server import (  # noqa: F401 - fixtures, and the hook folding PostgreSQL skips into one line
    postgres_server_fixture,
    postgres_url_fixture,
    pytest_runtest_makereport,
)


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, tmp_path):
    """Where a test's store lives, once per backend: a SQLite file, or a fresh PostgreSQL
    database (skipped, in one line, where PostgreSQL is not installed)."""
    if request.param == "sqlite":
        return tmp_path / "paperboy.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def server():
    """The loopback fixture server, standing in for Hugging Face and arXiv."""
    async with FixtureServer() as running:
        yield running


@pytest.fixture
async def http():
    """An httpx client with short timeouts for talking to the fixture server."""
    # Plain HTTP on loopback: verify=False only skips loading CA certificates, which is slow.
    async with httpx.AsyncClient(timeout=0.3, verify=False) as client:
        yield client


@pytest.fixture
async def http_client():
    """An httpx client for the loopback servers, with a 2 s timeout (a model's answer)."""
    async with httpx.AsyncClient(timeout=2.0, verify=False) as client:
        yield client


@pytest.fixture
async def fake():
    """The fake OpenAI-compatible model server (tests/fake_openai.py), answering a script."""
    async with FakeOpenAI() as running:
        yield running


@pytest.fixture
def discord_endpoints(monkeypatch):
    """configure_endpoints changes discord.py class attributes; put them back afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
