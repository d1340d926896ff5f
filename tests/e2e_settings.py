"""Settings for the real bot in the e2e tests: the fake Discord, the loopback Hugging Face and
arXiv server, a database in the test's folder, and no retries of the sources."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings, load_settings

TOKEN = "fake-token-not-secret"


def e2e_settings(tmp_path: Path, fake, sources, **extra: str) -> Settings:
    """`extra`: more settings (DEV_GUILD_ID, job intervals...) over the common ones."""
    return load_settings(
        {
            "DISCORD_TOKEN": TOKEN,
            "PAPERBOY_DB": str(tmp_path / "bot.db"),
            "HF_API_BASE": sources.url,
            "ARXIV_API_BASE": sources.url,
            "DISCORD_API_BASE": f"{fake.url}/api/v10",
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "HTTP_RETRIES": "0",
            "HTTP_TIMEOUT": "2",
            **extra,
        },
        env_file=None,
    )


def digest_settings(tmp_path: Path, fake, sources, guild, **extra: str) -> Settings:
    """For digest tests: commands synced to `guild`, and the jobs scheduled far apart (they run
    once at start-up; the tests run further rounds themselves)."""
    defaults = {
        "DEV_GUILD_ID": str(guild.id),
        "INGEST_INTERVAL_SECONDS": "3600",
        "POST_CHECK_SECONDS": "3600",
        "DISCORD_REQUESTS_PER_SECOND": "500",
    }
    return e2e_settings(tmp_path, fake, sources, **{**defaults, **extra})
