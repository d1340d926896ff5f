"""Settings from the environment and an optional `.env` file: one typed, validated object.

Nothing here runs at import time: `main()` calls `load_settings()` once and hands the result to
whatever needs it. Real environment variables win over `.env` (python-dotenv never overrides
them), and an empty value means "not set", so `.env.example` copied as-is gives the defaults.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

__all__ = ["ENV_VARS", "LOG_LEVELS", "ConfigError", "Settings", "load_settings"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_HTTP_RETRIES = 10
SUMMARY_PROVIDERS = ("abstract", "hf", "openai")  # bot.summaries.providers.PROVIDERS
SUMMARY_SOURCES = ("abstract", "fulltext")  # what a model is given about a paper
MIN_FULLTEXT_TOKENS = 100
MAX_FULLTEXT_TOKENS = 100_000
MAX_LLM_CONCURRENCY = 64
MAX_SUMMARY_BULLETS = 10
MAX_SUMMARY_REQUESTS_PER_HOUR = 1000
MAX_GRACE_MINUTES = 1440
SECRETS = ("discord_token", "llm_api_key", "database_url")  # never printed, logged or put in a repr

# Settings field -> environment variable. `.env.example` and the README list every one of them.
ENV_VARS = {
    "discord_token": "DISCORD_TOKEN",
    "database_path": "PAPERBOY_DB",
    "database_url": "DATABASE_URL",
    "hf_api_base": "HF_API_BASE",
    "arxiv_api_base": "ARXIV_API_BASE",
    "dev_guild_id": "DEV_GUILD_ID",
    "discord_api_base": "DISCORD_API_BASE",
    "discord_gateway_url": "DISCORD_GATEWAY_URL",
    "log_level": "LOG_LEVEL",
    "http_timeout": "HTTP_TIMEOUT",
    "http_retries": "HTTP_RETRIES",
    "ingest_interval": "INGEST_INTERVAL_SECONDS",
    "post_check_interval": "POST_CHECK_SECONDS",
    "discord_requests_per_second": "DISCORD_REQUESTS_PER_SECOND",
    "llm_base_url": "LLM_BASE_URL",
    "llm_api_key": "LLM_API_KEY",
    "llm_model": "LLM_MODEL",
    "llm_timeout": "LLM_TIMEOUT",
    "llm_concurrency": "LLM_CONCURRENCY",
    "llm_max_calls_per_day": "LLM_MAX_CALLS_PER_DAY",
    "summary_bullets": "SUMMARY_BULLETS",
    "summary_grace_minutes": "SUMMARY_GRACE_MINUTES",
    "summary_provider": "SUMMARY_PROVIDER",
    "summary_requests_per_member_per_hour": "SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR",
    "summary_source": "SUMMARY_SOURCE",
    "summary_fulltext_tokens": "SUMMARY_FULLTEXT_TOKENS",
}


class ConfigError(ValueError):
    """A setting has a value paperboy cannot use; the message names the variable."""


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """Everything paperboy reads from its environment, already checked."""

    discord_token: str | None = None  # secret: never printed, logged or put in a repr
    database_path: Path = Path("paperboy.db")  # relative paths are relative to the working dir
    # PostgreSQL instead of the SQLite file (secret: its password), postgresql://user:pw@host/db
    database_url: str | None = None
    hf_api_base: str = "https://huggingface.co"
    arxiv_api_base: str = "https://export.arxiv.org"
    dev_guild_id: int | None = None  # sync slash commands to this server only (development)
    discord_api_base: str | None = None  # None = Discord's own REST API
    discord_gateway_url: str | None = None  # None = the gateway Discord hands out
    log_level: str = "INFO"
    http_timeout: float = 20.0  # seconds, per request
    http_retries: int = 3  # extra attempts after a timeout, 5xx or 429
    ingest_interval: float = 1800.0  # seconds between polls of today's and yesterday's lists
    post_check_interval: float = 60.0  # seconds between checks for digests that are due
    # Channel messages the bot sends per second at most (Discord's global limit is 50/s; the
    # rest is headroom for other requests). Slash-command answers are not counted by Discord.
    discord_requests_per_second: float = 45.0
    # Summaries (bot.summaries). An OpenAI-compatible Chat Completions API base, with its /v1;
    # None = no model.
    llm_base_url: str | None = None
    llm_api_key: str | None = None  # secret: never printed, logged or put in a repr
    llm_model: str | None = None  # required with llm_base_url (unless another provider is forced)
    llm_timeout: float = 120.0  # seconds per request: a local 7-8B model on a CPU can need over 60
    llm_concurrency: int = 2  # model requests in flight at most
    llm_max_calls_per_day: int = 1000  # model requests per UTC day at most; 0 = no limit
    summary_bullets: int = 5  # bullets asked for per paper
    summary_grace_minutes: float = 10.0  # how long a digest may wait for summaries past its time
    summary_provider: str | None = None  # forced provider; None = summary_provider_name decides
    # "Summarize in …" clicks on /paper show cards per member per hour (kept in memory per
    # process); 0 = the button is not offered.
    summary_requests_per_member_per_hour: int = 5
    # What the model is given: "abstract" (title, abstract, Hugging Face's summary and keywords)
    # or "fulltext" (that and the start of the paper's text from Hugging Face's markdown view,
    # bot.summaries.fulltext), cut to about summary_fulltext_tokens tokens. The tokens are an
    # estimate without a tokenizer: 4 ASCII characters, or any other character, per token.
    summary_source: str = "abstract"
    summary_fulltext_tokens: int = 3000

    @property
    def summary_provider_name(self) -> str:
        """The summary provider to run: SUMMARY_PROVIDER when set, else "openai" with a model
        configured (LLM_BASE_URL), else "abstract"."""
        if self.summary_provider:
            return self.summary_provider
        return "openai" if self.llm_base_url else "abstract"

    @property
    def store_target(self) -> Path | str:
        """What storage.open_store opens: the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def store_location(self) -> str:
        """The store for messages: the SQLite path, or the URL without its password."""
        from storage.postgres import redact

        return redact(self.database_url) if self.database_url else str(self.database_path)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRETS:
                parts.append(f"{f.name}={'<set>' if value else None}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Build Settings from `environ` (default: the process environment) and `env_file`.

    Values in `environ` win over the file's; a missing file is fine, `env_file=None` skips it.
    Raises ConfigError, one sentence naming the variable, for a value that cannot be used.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.exists():
        if not env_file.is_file():
            raise ConfigError(f"the settings file {env_file} is not a file.")
        try:
            from_file = dotenv_values(env_file, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"could not read the settings file {env_file}: {exc}.") from exc
        values.update({key: value for key, value in from_file.items() if value is not None})
    values.update(os.environ if environ is None else environ)

    def get(field_name: str) -> str | None:
        value = values.get(ENV_VARS[field_name], "").strip()
        return value or None  # an empty value means "not set"

    defaults = Settings()
    database = get("database_path")
    return Settings(
        discord_token=get("discord_token"),
        database_path=Path(database).expanduser() if database else defaults.database_path,
        database_url=_database_url(get("database_url")),
        hf_api_base=_http_url("HF_API_BASE", get("hf_api_base")) or defaults.hf_api_base,
        arxiv_api_base=_http_url("ARXIV_API_BASE", get("arxiv_api_base"))
        or defaults.arxiv_api_base,
        dev_guild_id=_guild_id(get("dev_guild_id")),
        discord_api_base=_http_url("DISCORD_API_BASE", get("discord_api_base")),
        discord_gateway_url=_gateway_url(get("discord_gateway_url")),
        log_level=_log_level(get("log_level")) or defaults.log_level,
        http_timeout=_positive("HTTP_TIMEOUT", get("http_timeout"), defaults.http_timeout, "20"),
        http_retries=_retries(get("http_retries"), defaults.http_retries),
        ingest_interval=_positive(
            "INGEST_INTERVAL_SECONDS", get("ingest_interval"), defaults.ingest_interval, "1800"
        ),
        post_check_interval=_positive(
            "POST_CHECK_SECONDS", get("post_check_interval"), defaults.post_check_interval, "60"
        ),
        discord_requests_per_second=_positive(
            "DISCORD_REQUESTS_PER_SECOND",
            get("discord_requests_per_second"),
            defaults.discord_requests_per_second,
            "45",
            "number of requests",
        ),
        **_summary_settings(get, defaults),
    )


def _summary_settings(get: Callable[[str], str | None], defaults: Settings) -> dict[str, Any]:
    base_url = get("llm_base_url")
    if base_url is not None and (
        not base_url.startswith(("http://", "https://")) or len(base_url) <= len("https://")
    ):
        # The value is not shown: a URL may carry credentials (https://user:key@host/v1).
        raise ConfigError(
            "LLM_BASE_URL must be an http:// or https:// URL such as http://localhost:11434/v1."
        )
    provider = get("summary_provider")
    if provider is not None:
        provider = provider.casefold()
        if provider not in SUMMARY_PROVIDERS:
            raise ConfigError(
                f"SUMMARY_PROVIDER must be one of {', '.join(SUMMARY_PROVIDERS)}, "
                f"not {_show(provider)}."
            )
        if provider == "openai" and base_url is None:
            raise ConfigError("SUMMARY_PROVIDER is openai but LLM_BASE_URL is not set.")
    model = get("llm_model")
    uses_model = provider == "openai" or (provider is None and base_url is not None)
    if uses_model and model is None:
        raise ConfigError(
            "LLM_MODEL must name the model to use when LLM_BASE_URL is set (such as qwen3:8b)."
        )
    source = (get("summary_source") or defaults.summary_source).casefold()
    if source not in SUMMARY_SOURCES:
        raise ConfigError(
            f"SUMMARY_SOURCE must be one of {', '.join(SUMMARY_SOURCES)}, not {_show(source)}."
        )
    return {
        "llm_base_url": base_url.rstrip("/") if base_url else None,
        "llm_api_key": get("llm_api_key"),
        "llm_model": model,
        "llm_timeout": _positive("LLM_TIMEOUT", get("llm_timeout"), defaults.llm_timeout, "120"),
        "llm_concurrency": _whole(
            "LLM_CONCURRENCY",
            get("llm_concurrency"),
            defaults.llm_concurrency,
            1,
            MAX_LLM_CONCURRENCY,
        ),
        "llm_max_calls_per_day": _whole(
            "LLM_MAX_CALLS_PER_DAY",
            get("llm_max_calls_per_day"),
            defaults.llm_max_calls_per_day,
            0,
            None,
        ),
        "summary_bullets": _whole(
            "SUMMARY_BULLETS",
            get("summary_bullets"),
            defaults.summary_bullets,
            1,
            MAX_SUMMARY_BULLETS,
        ),
        "summary_grace_minutes": _minutes(
            "SUMMARY_GRACE_MINUTES", get("summary_grace_minutes"), defaults.summary_grace_minutes
        ),
        "summary_provider": provider,
        "summary_requests_per_member_per_hour": _whole(
            "SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR",
            get("summary_requests_per_member_per_hour"),
            defaults.summary_requests_per_member_per_hour,
            0,
            MAX_SUMMARY_REQUESTS_PER_HOUR,
        ),
        "summary_source": source,
        "summary_fulltext_tokens": _whole(
            "SUMMARY_FULLTEXT_TOKENS",
            get("summary_fulltext_tokens"),
            defaults.summary_fulltext_tokens,
            MIN_FULLTEXT_TOKENS,
            MAX_FULLTEXT_TOKENS,
        ),
    }


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:39] + "…")


def _database_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "DATABASE_URL must be a PostgreSQL URL such as postgresql://user:password@host:5432/"
            "paperboy (leave it empty to use the SQLite file PAPERBOY_DB)."
        )
    return value


def _http_url(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ConfigError(f"{name} must be an http:// or https:// URL, not {_show(value)}.")
    return value.rstrip("/")


def _gateway_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("ws://", "wss://")) or len(value) <= len("wss://"):
        raise ConfigError(f"DISCORD_GATEWAY_URL must be a ws:// or wss:// URL, not {_show(value)}.")
    return value.rstrip("/")


def _guild_id(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdecimal() or not value.isascii() or int(value) <= 0:
        raise ConfigError(
            f"DEV_GUILD_ID must be a Discord server id (a positive whole number), "
            f"not {_show(value)}."
        )
    return int(value)


def _log_level(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {_show(value)}.")
    return value.upper()


def _number(value: str) -> float:
    """`value` as a number; NaN (refused by every caller) when it is not one."""
    try:
        return float(value)
    except ValueError:
        return math.nan


def _positive(
    name: str, value: str | None, default: float, example: str, what: str = "number of seconds"
) -> float:
    if value is None:
        return default
    number = _number(value)
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(
            f"{name} must be a positive {what} (such as {example}), not {_show(value)}."
        )
    return number


def _whole(name: str, value: str | None, default: int, low: int, high: int | None) -> int:
    if value is None:
        return default
    if (
        not value.isdecimal()
        or not value.isascii()
        or int(value) < low
        or (high is not None and int(value) > high)
    ):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ConfigError(f"{name} must be a whole number {span}, not {_show(value)}.")
    return int(value)


def _minutes(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    number = _number(value)
    if not math.isfinite(number) or not 0 <= number <= MAX_GRACE_MINUTES:
        raise ConfigError(
            f"{name} must be a number of minutes from 0 to {MAX_GRACE_MINUTES} (such as 10), "
            f"not {_show(value)}."
        )
    return number


def _retries(value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdecimal() or not value.isascii() or int(value) > MAX_HTTP_RETRIES:
        raise ConfigError(
            f"HTTP_RETRIES must be a whole number from 0 to {MAX_HTTP_RETRIES}, not {_show(value)}."
        )
    return int(value)
