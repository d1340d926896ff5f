"""The message catalogues (bot/i18n.py, bot/locales/), the Korean command descriptions
(bot/translator.py) and the localized parts of cards and errors."""

from __future__ import annotations

import re
import string
from datetime import date

import discord
import pytest
from discord import app_commands
from discord.ext import commands

import cogs.digest
import cogs.help
import cogs.papers
from bot import i18n
from bot.app import user_message
from bot.errors import UserError
from bot.models import Paper, Summary
from bot.render import FALLBACKS, paper_card, paper_list_page
from bot.translator import PaperTranslator

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


# --- the catalogues ---------------------------------------------------------------------------


def test_korean_has_exactly_the_english_keys_and_placeholders():
    en, ko = i18n.catalogue("en"), i18n.catalogue("ko")
    assert set(ko) == set(en)
    for key, template in en.items():
        assert placeholders(ko[key]) == placeholders(template), key
        assert ko[key].strip(), key


def test_every_catalogue_string_formats_with_its_placeholders():
    for language in i18n.LANGUAGES:
        for key, template in i18n.catalogue(language).items():
            values = {name: "x" for name in placeholders(template)}
            assert "{" not in template.format(**values), (language, key)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ko", "ko"), ("ko-KR", "ko"), ("KO", "ko"), (" ko_kr ", "ko"),
        (discord.Locale.korean, "ko"), ("en", "en"), ("en-US", "en"),
        (discord.Locale.american_english, "en"), ("ja", "en"), ("zh-TW", "en"), ("", "en"),
        (None, "en"),
    ],
)  # fmt: skip
def test_a_language_reads_its_catalogue_or_english(language, expected):
    assert i18n.catalogue_language(language) == expected


def test_text_fills_values_and_falls_back_to_english(monkeypatch):
    assert i18n.text("ko-KR", "card.authors", count=3) == "저자 (3명)"
    assert i18n.text("fr", "card.authors", count=3) == "Authors (3)"
    assert i18n.text(None, "card.upvotes") == "Upvotes"
    with pytest.raises(KeyError):
        i18n.text("ko", "no.such.key")
    # A key the Korean catalogue lacks is read in English.
    original = i18n.catalogue
    partial = {k: v for k, v in original("ko").items() if k != "card.links"}
    monkeypatch.setattr(i18n, "catalogue", lambda lang: partial if lang == "ko" else original(lang))
    assert i18n.text("ko", "card.links") == "Links"
    assert i18n.text("ko", "card.upvotes") == "추천"


def test_plurals():
    assert i18n.plural("en", "list.total", 1) == "1 paper"
    assert i18n.plural("en", "list.total", 2) == "2 papers"
    assert i18n.plural("en", "list.total", 0) == "0 papers"
    assert i18n.plural("ko", "list.total", 1) == i18n.plural("ko", "list.total", 1) == "논문 1편"
    assert i18n.plural("ko", "digest.header", 2, day="D") == "📰 **Daily Papers — D** · 논문 2편"


def test_language_names_in_each_catalogue():
    assert i18n.language_name("ko", "en") == "Korean"
    assert i18n.language_name("ko", "ko") == "한국어"
    assert i18n.language_name("en", "ko-KR") == "영어"
    assert i18n.language_name("ZH-tw", "ko") == "중국어(번체)"
    assert i18n.language_name("ja-JP", "ko") == "일본어"
    assert i18n.language_name("xx", "ko") == "xx"
    assert set(i18n.KOREAN_NAMES) == set(i18n.LANGUAGE_NAMES)


# --- slash command descriptions ---------------------------------------------------------------


def _cog_commands() -> list[app_commands.Command | app_commands.Group]:
    found = []
    for module in (cogs.papers, cogs.digest, cogs.help):
        for value in vars(module).values():
            cog = isinstance(value, type) and issubclass(value, commands.Cog)
            if cog and value.__module__ == module.__name__:
                found += value.__cog_app_commands__
    return found


def _descriptions(payload: dict) -> list[dict]:
    """Every command, group, subcommand and option of a sync payload (recursively)."""
    found = [payload]
    for option in payload.get("options") or []:
        found += _descriptions(option)
    return found


async def test_every_description_of_the_command_tree_is_in_korean():
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents(guilds=True)))
    translator = PaperTranslator()
    await tree.set_translator(translator)
    top = _cog_commands()
    assert {c.name for c in top} == {"paper", "digest", "help"}
    items = [
        item
        for c in top
        for item in _descriptions(await c.get_translated_payload(tree, translator))
    ]
    assert len(items) > 30
    for item in items:
        korean = item["description_localizations"]
        assert set(korean) == {"ko"}, item["name"]
        assert 1 <= len(korean["ko"]) <= 100 and HANGUL.search(korean["ko"]), item["name"]
        assert not item.get("name_localizations"), item["name"]  # names are not translated
        for choice in item.get("choices") or []:
            assert not choice.get("name_localizations")
    # Nothing in the catalogue is unused (a description renamed in a cog is noticed).
    english = {item["description"] for item in items}
    assert set(i18n.command_translations("ko")) == english
    assert all(len(t) <= 100 for t in i18n.command_translations("ko").values())


async def test_the_translator_answers_only_korean_descriptions():
    translator = PaperTranslator()
    string_ = app_commands.locale_str("Find papers by title words")
    description = app_commands.TranslationContext(
        app_commands.TranslationContextLocation.command_description, None
    )
    name = app_commands.TranslationContext(
        app_commands.TranslationContextLocation.command_name, None
    )
    assert (
        await translator.translate(string_, discord.Locale.korean, description)
        == "제목 단어로 논문 찾기"
    )
    assert await translator.translate(string_, discord.Locale.japanese, description) is None
    assert await translator.translate(string_, discord.Locale.korean, name) is None
    unknown = app_commands.locale_str("Not a description of ours")
    assert await translator.translate(unknown, discord.Locale.korean, description) is None


# --- cards, lists and errors ------------------------------------------------------------------


def make_paper(**overrides) -> Paper:
    fields = {
        "id": "2401.00101",
        "title": "A paper",
        "authors": ["Ada", "Björn"],
        "upvotes": 12,
        "abstract": "First sentence of it. Second sentence here.",
        "days": [date(2024, 1, 17)],
        **overrides,
    }
    return Paper(**fields)


def test_a_korean_card_names_its_fields_in_korean_and_an_english_one_as_before():
    paper = make_paper(github_repo="o/r")
    korean = paper_card(paper, language="ko", locale="ko")
    assert [f.name for f in korean.fields] == ["추천", "게재일", "저자 (2명)", "링크"]
    assert "[코드](https://github.com/o/r)" in korean.fields[3].value
    assert korean.description.startswith("**초록 발췌**\n• First sentence")
    english = paper_card(paper, language="ko")
    assert [f.name for f in english.fields] == ["Upvotes", "Listed", "Authors (2)", "Links"]
    assert english.description.startswith("**From the abstract**\n")
    one = paper_card(make_paper(authors=["Ada"], days=[]), locale="ko")
    assert one.fields[1].name == "저자"


def test_the_fallback_label_says_why_in_the_card_language():
    paper = make_paper(ai_summary="The AI line.")
    labels = {
        (locale, why): paper_card(
            paper, language="ko", locale=locale, fallback=why
        ).description.split("\n")[0]
        for locale in ("en", "ko")
        for why in (None, *FALLBACKS)
    }
    assert labels[("ko", None)] == "**AI 요약 (Hugging Face)**"
    assert labels[("ko", "pending")] == "**AI 요약 (Hugging Face) · 한국어 요약 준비 중**"
    assert (
        labels[("ko", "checks")]
        == "**AI 요약 (Hugging Face) · 모델의 한국어 요약이 검사를 통과하지 못함**"
    )
    assert labels[("ko", "failed")] == "**AI 요약 (Hugging Face) · 모델이 한국어 요약을 쓰지 못함**"
    assert labels[("en", None)] == "**AI summary (Hugging Face)**"
    assert labels[("en", "pending")] == "**AI summary (Hugging Face) · no Korean summary yet**"
    abstract = paper_card(make_paper(), language="ko", locale="en", fallback="pending")
    assert abstract.description.startswith("**From the abstract · no Korean summary yet**\n")
    # A summary in the language is no fallback, whatever the caller says.
    stored = make_paper(summaries=[Summary("ko", "model:qwen3:8b:p1", ["한국어 항목입니다."])])
    card = paper_card(stored, language="ko", locale="ko", fallback="pending")
    assert card.description.startswith("**요약 (한국어, qwen3:8b 작성)**\n• 한국어 항목입니다.")
    # A language code typed by an admin is data: escaped in the label.
    odd = paper_card(paper, language="x*y_", locale="en", fallback="pending")
    assert odd.description.startswith(r"**AI summary (Hugging Face) · no x\*y\_ summary yet**")


def test_a_korean_list_page_and_counted_bullets():
    page = paper_list_page(
        [make_paper()], title="T", page=1, pages=2, first_rank=1, total=1, locale="ko"
    )
    assert page.footer.text == "1/2쪽 · 논문 1편"
    assert (
        paper_list_page(
            [], title="T", page=3, pages=None, first_rank=1, total=None, locale="ko"
        ).footer.text
        == "3쪽"
    )
    english = paper_list_page([make_paper()], title="T", page=1, pages=2, first_rank=1, total=1)
    assert english.footer.text == "Page 1/2 · 1 paper"
    long = make_paper(summaries=[Summary("ko", "digest", ["가나다라 " * 95] * 12)])
    card = paper_card(long, language="ko", locale="ko")
    assert re.search(r"\n… 외 \d+개 항목$", card.description)
    authors = paper_card(make_paper(authors=[f"Author {n}" for n in range(30)]), locale="ko")
    assert authors.fields[2].value.endswith("… 외 10명")


def test_errors_are_told_in_the_members_language():
    error = UserError.of("errors.paper_gone")
    assert str(error) == "This paper is no longer in paperboy's store."
    assert (
        error.localized(discord.Locale.korean)
        == "이 논문은 더 이상 paperboy에 저장되어 있지 않습니다."
    )
    assert error.localized("ja") == str(error)
    assert user_message(error, "a vote button", "ko") == error.localized("ko")
    assert user_message(UserError("Plain words."), "x", "ko") == "Plain words."
    assert (
        user_message(RuntimeError("boom"), "x", "ko")
        == "저희 쪽에서 문제가 생겼습니다. 기록해 두었습니다."
    )
    assert (
        user_message(RuntimeError("boom"), "x")
        == "Something went wrong on our side; it has been logged."
    )
