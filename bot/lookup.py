"""The paper sources as one service, and finding a paper the store does not have yet."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import httpx

from bot import version
from bot.config import Settings
from bot.models import Paper
from bot.sources import NotFound, SourceError
from bot.sources.arxiv import ArxivClient
from bot.sources.huggingface import HuggingFaceClient
from storage.db import Store
from storage.papers import save_papers

log = logging.getLogger(__name__)


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The one HTTP client for the sources; the caller closes it (`async with`)."""
    return httpx.AsyncClient(
        timeout=settings.http_timeout,
        follow_redirects=True,
        headers={"User-Agent": f"paperboy/{version()}"},  # arXiv asks clients to say who they are
    )


@dataclass(frozen=True, slots=True)
class Sources:
    """Hugging Face and arXiv, sharing one HTTP client."""

    huggingface: HuggingFaceClient
    arxiv: ArxivClient

    @classmethod
    def create(cls, http: httpx.AsyncClient, settings: Settings) -> Sources:
        retries = settings.http_retries
        return cls(
            huggingface=HuggingFaceClient(http, settings.hf_api_base, max_retries=retries),
            arxiv=ArxivClient(http, settings.arxiv_api_base, max_retries=retries),
        )

    async def find_paper(self, paper_id: str) -> Paper:
        """The paper from Hugging Face, else from arXiv.

        NotFound when neither knows it; SourceError, saying what each source answered, when a
        source could not be asked and the other did not have it.
        """
        hf_problem: SourceError | None = None
        try:
            return await self.huggingface.paper(paper_id)
        except NotFound:
            pass
        except SourceError as exc:  # Hugging Face is down: arXiv may still know the paper
            hf_problem = exc
        try:
            paper = await self.arxiv.paper(paper_id)
        except NotFound:
            if hf_problem is None:
                raise NotFound(f"paper {paper_id} was not found on Hugging Face or arXiv") from None
            raise SourceError(
                f"paper {paper_id} is not on arXiv and Hugging Face could not be asked: "
                f"{hf_problem}"
            ) from None
        except SourceError as exc:
            if hf_problem is None:
                raise
            raise SourceError(
                f"neither Hugging Face nor arXiv could be asked about {paper_id}: "
                f"{hf_problem}; {exc}"
            ) from None
        if hf_problem is not None:
            log.warning(
                "showing %s from arXiv: Hugging Face could not be asked (%s)", paper_id, hf_problem
            )
        return paper


async def fetch_and_store(store: Store, sources: Sources, paper_id: str, now: datetime) -> Paper:
    """Find a paper the store does not have (Hugging Face, else arXiv) and store it."""
    paper = await sources.find_paper(paper_id)
    async with store.write() as conn:
        await save_papers(conn, [paper], now)
    return paper
