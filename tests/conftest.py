"""Fixtures shared by the test modules."""

from __future__ import annotations

import discord
import httpx
import pytest
from fake_openai import FakeOpenAI
from http_fixture_server import FixtureServer


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
