"""Fixtures shared by the test modules."""

from __future__ import annotations

import httpx
import pytest
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
