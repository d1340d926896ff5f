"""Settings: defaults, .env versus the environment, validation, secrets, and the documentation."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from bot.config import ENV_VARS, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README_TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest -q"
)
README_RUN_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/paperboy run"


def test_defaults_without_environment_or_file():
    settings = load_settings(environ={}, env_file=None)
    assert settings == Settings()
    assert settings.discord_token is None
    assert settings.database_path == Path("paperboy.db")
    assert settings.hf_api_base == "https://huggingface.co"
    assert settings.arxiv_api_base == "https://export.arxiv.org"
    assert settings.dev_guild_id is None
    assert settings.discord_api_base is None
    assert settings.discord_gateway_url is None
    assert settings.log_level == "INFO"
    assert settings.http_timeout == 20.0
    assert settings.http_retries == 3
    assert settings.llm_base_url is None and settings.llm_api_key is None
    assert settings.llm_model is None
    assert settings.llm_timeout == 120.0
    assert settings.llm_concurrency == 2
    assert settings.llm_max_calls_per_day == 1000
    assert settings.summary_bullets == 5
    assert settings.summary_grace_minutes == 10.0
    assert settings.summary_provider is None
    assert settings.summary_provider_name == "abstract"
    assert settings.summary_requests_per_member_per_hour == 5


def test_every_variable_is_read():
    settings = load_settings(
        environ={
            "DISCORD_TOKEN": "  token-value  ",
            "PAPERBOY_DB": "data/papers.db",
            "HF_API_BASE": "http://127.0.0.1:8000/",
            "ARXIV_API_BASE": "http://127.0.0.1:8001",
            "DEV_GUILD_ID": "123456789012345678",
            "DISCORD_API_BASE": "http://127.0.0.1:8002/api/v10",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8003",
            "LOG_LEVEL": "debug",
            "HTTP_TIMEOUT": "2.5",
            "HTTP_RETRIES": "0",
            "LLM_BASE_URL": "http://127.0.0.1:11434/v1/",
            "LLM_API_KEY": " sk-key ",
            "LLM_MODEL": "qwen3:8b",
            "LLM_TIMEOUT": "90",
            "LLM_CONCURRENCY": "4",
            "LLM_MAX_CALLS_PER_DAY": "0",
            "SUMMARY_BULLETS": "7",
            "SUMMARY_GRACE_MINUTES": "0",
            "SUMMARY_PROVIDER": "OpenAI",
            "SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR": "0",
        },
        env_file=None,
    )
    assert settings == Settings(
        discord_token="token-value",
        database_path=Path("data/papers.db"),
        hf_api_base="http://127.0.0.1:8000",  # trailing slash dropped
        arxiv_api_base="http://127.0.0.1:8001",
        dev_guild_id=123456789012345678,
        discord_api_base="http://127.0.0.1:8002/api/v10",
        discord_gateway_url="ws://127.0.0.1:8003",
        log_level="DEBUG",
        http_timeout=2.5,
        http_retries=0,
        llm_base_url="http://127.0.0.1:11434/v1",
        llm_api_key="sk-key",
        llm_model="qwen3:8b",
        llm_timeout=90.0,
        llm_concurrency=4,
        llm_max_calls_per_day=0,
        summary_bullets=7,
        summary_grace_minutes=0.0,
        summary_provider="openai",
        summary_requests_per_member_per_hour=0,
    )


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DISCORD_TOKEN=from-file\nLOG_LEVEL=WARNING\nHTTP_TIMEOUT=5\n"
        "# a comment\nDEV_GUILD_ID=42\n",
        encoding="utf-8",
    )
    settings = load_settings(environ={"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.discord_token == "from-file"
    assert settings.log_level == "ERROR"  # the real environment is not overridden by .env
    assert settings.http_timeout == 5.0
    assert settings.dev_guild_id == 42


def test_loading_does_not_touch_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\n", encoding="utf-8")
    assert load_settings(environ=None, env_file=env_file).discord_token == "from-file"
    assert "DISCORD_TOKEN" not in os.environ


def test_missing_env_file_is_fine(tmp_path):
    assert load_settings(environ={}, env_file=tmp_path / "absent.env") == Settings()


def test_empty_values_mean_unset(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PAPERBOY_DB=elsewhere.db\nHTTP_RETRIES=7\n", encoding="utf-8")
    blank = {name: "" for name in ENV_VARS.values()}
    blank["DEV_GUILD_ID"] = "   "
    assert load_settings(environ=blank, env_file=env_file) == Settings()


def test_an_env_file_that_cannot_be_read_is_a_config_error(tmp_path):
    folder = tmp_path / "dot-env-folder"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is not a file"):
        load_settings(environ={}, env_file=folder)
    latin1 = tmp_path / ".env"
    latin1.write_bytes(b"LOG_LEVEL=INFO\n# caf\xe9\n")
    with pytest.raises(ConfigError, match="could not read the settings file"):
        load_settings(environ={}, env_file=latin1)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEV_GUILD_ID", "abc", "positive whole number"),
        ("DEV_GUILD_ID", "-5", "positive whole number"),
        ("DEV_GUILD_ID", "12.5", "positive whole number"),
        ("DEV_GUILD_ID", "0", "positive whole number"),
        ("DEV_GUILD_ID", "١٢٣", "positive whole number"),  # Arabic-Indic digits are not an id
        ("LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("HTTP_TIMEOUT", "-1", "positive number of seconds"),
        ("HTTP_TIMEOUT", "0", "positive number of seconds"),
        ("HTTP_TIMEOUT", "soon", "positive number of seconds"),
        ("HTTP_TIMEOUT", "nan", "positive number of seconds"),
        ("HTTP_TIMEOUT", "inf", "positive number of seconds"),
        ("HTTP_RETRIES", "-1", "whole number from 0 to 10"),
        ("HTTP_RETRIES", "11", "whole number from 0 to 10"),
        ("HF_API_BASE", "huggingface.co", "http:// or https:// URL"),
        ("ARXIV_API_BASE", "ftp://export.example", "http:// or https:// URL"),
        ("DISCORD_API_BASE", "https://", "http:// or https:// URL"),
        ("DISCORD_GATEWAY_URL", "https://gateway.example", "ws:// or wss:// URL"),
        ("LLM_BASE_URL", "localhost:11434/v1", "http:// or https:// URL"),
        ("LLM_TIMEOUT", "0", "positive number of seconds"),
        ("LLM_CONCURRENCY", "0", "whole number from 1 to 64"),
        ("LLM_CONCURRENCY", "65", "whole number from 1 to 64"),
        ("LLM_CONCURRENCY", "two", "whole number from 1 to 64"),
        ("LLM_MAX_CALLS_PER_DAY", "-1", "whole number of at least 0"),
        ("LLM_MAX_CALLS_PER_DAY", "1e3", "whole number of at least 0"),
        ("SUMMARY_BULLETS", "0", "whole number from 1 to 10"),
        ("SUMMARY_BULLETS", "11", "whole number from 1 to 10"),
        ("SUMMARY_GRACE_MINUTES", "-1", "number of minutes from 0 to 1440"),
        ("SUMMARY_GRACE_MINUTES", "nan", "number of minutes from 0 to 1440"),
        ("SUMMARY_GRACE_MINUTES", "1441", "number of minutes from 0 to 1440"),
        ("SUMMARY_PROVIDER", "gemini", "abstract, hf, openai"),
        ("SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR", "-1", "whole number from 0 to 1000"),
        ("SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR", "1001", "whole number from 0 to 1000"),
        ("SUMMARY_PROVIDER", "openai", "LLM_BASE_URL is not set"),
    ],
)
def test_invalid_values_name_the_variable(name, value, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={name: value}, env_file=None)
    message = str(caught.value)
    assert message.startswith(name)
    assert expected in message
    assert "\n" not in message and message.endswith(".")


def test_the_summary_provider_follows_the_model_settings():
    with_model = {"LLM_BASE_URL": "http://127.0.0.1:8080/v1", "LLM_MODEL": "m"}
    assert load_settings(environ=with_model, env_file=None).summary_provider_name == "openai"
    forced = load_settings(environ={**with_model, "SUMMARY_PROVIDER": "hf"}, env_file=None)
    assert forced.summary_provider_name == "hf"
    assert Settings(summary_provider="hf").summary_provider_name == "hf"


def test_a_model_url_needs_a_model_name():
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LLM_BASE_URL": "http://127.0.0.1:8080/v1"}, env_file=None)
    assert str(caught.value).startswith("LLM_MODEL must name the model")
    # Not needed when another provider is forced.
    settings = load_settings(
        environ={"LLM_BASE_URL": "http://127.0.0.1:8080/v1", "SUMMARY_PROVIDER": "abstract"},
        env_file=None,
    )
    assert settings.summary_provider_name == "abstract"


def test_a_bad_model_url_is_not_echoed():
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LLM_BASE_URL": "user:sk-secret@host/v1"}, env_file=None)
    assert "sk-secret" not in str(caught.value)


def test_long_invalid_values_are_shortened():
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LOG_LEVEL": "x" * 500}, env_file=None)
    assert len(str(caught.value)) < 200


def test_repr_hides_the_token_and_the_model_key():
    settings = load_settings(
        environ={
            "DISCORD_TOKEN": "super-secret-token",
            "LLM_API_KEY": "sk-secret-model-key",
            "LLM_BASE_URL": "http://127.0.0.1:8080/v1",
            "LLM_MODEL": "m",
        },
        env_file=None,
    )
    for text in (repr(settings), str(settings), f"{settings}"):
        assert "super-secret-token" not in text and "sk-secret-model-key" not in text
        assert "discord_token=<set>" in text and "llm_api_key=<set>" in text
    assert "discord_token=None" in repr(Settings())
    assert "llm_api_key=None" in repr(Settings())
    assert "paperboy.db" in repr(Settings())


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().log_level = "DEBUG"  # type: ignore[misc]


# Documentation of the settings --------------------------------------------------------------


def _env_example() -> list[str]:
    return (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()


def test_env_example_lists_every_setting_with_a_comment():
    lines = _env_example()
    assignments = {}
    for index, line in enumerate(lines):
        if match := re.fullmatch(r"([A-Z_]+)=(.*)", line):
            assignments[match.group(1)] = match.group(2)
            assert lines[index - 1].startswith("# "), f"{match.group(1)} has no comment above it"
    assert set(assignments) == set(ENV_VARS.values())
    assert assignments["DISCORD_TOKEN"] == ""


def test_env_example_gives_the_defaults(tmp_path):
    assert load_settings(environ={}, env_file=ROOT / ".env.example") == Settings()


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ENV_VARS.values():
        assert f"`{name}`" in readme, f"README does not document {name}"


def test_readme_opens_with_the_two_commands():
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line]
    assert lines[0].startswith("# ")
    head = "\n".join(lines[:12])
    assert README_RUN_COMMAND in head
    assert README_TEST_COMMAND in head
    assert head.index(README_RUN_COMMAND) < head.index(README_TEST_COMMAND)


def test_ci_runs_exactly_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    text = script.read_text(encoding="utf-8")
    assert README_TEST_COMMAND in text
    assert "set -euo pipefail" in text
    assert "ruff check ." in text
    assert os.access(script, os.X_OK)


def test_the_summary_source_and_its_token_budget():
    defaults = load_settings(environ={}, env_file=None)
    assert defaults.summary_source == "abstract"
    assert defaults.summary_fulltext_tokens == 3000
    settings = load_settings(
        environ={"SUMMARY_SOURCE": " FullText ", "SUMMARY_FULLTEXT_TOKENS": "1500"},
        env_file=None,
    )
    assert settings == Settings(summary_source="fulltext", summary_fulltext_tokens=1500)
    assert load_settings(environ={"SUMMARY_SOURCE": "abstract"}, env_file=None) == Settings()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SUMMARY_SOURCE", "pdf", "abstract, fulltext"),
        ("SUMMARY_SOURCE", "full text", "abstract, fulltext"),
        ("SUMMARY_FULLTEXT_TOKENS", "0", "whole number from 100 to 100000"),
        ("SUMMARY_FULLTEXT_TOKENS", "99", "whole number from 100 to 100000"),
        ("SUMMARY_FULLTEXT_TOKENS", "100001", "whole number from 100 to 100000"),
        ("SUMMARY_FULLTEXT_TOKENS", "3k", "whole number from 100 to 100000"),
        ("SUMMARY_FULLTEXT_TOKENS", "-5", "whole number from 100 to 100000"),
    ],
)
def test_invalid_summary_source_values_name_the_variable(name, value, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={name: value}, env_file=None)
    message = str(caught.value)
    assert message.startswith(name) and expected in message
    assert "\n" not in message and message.endswith(".")
