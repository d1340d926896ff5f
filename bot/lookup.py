"""Find a paper the store does not have: Hugging Face first, then arXiv."""

from __future__ import annotations

import logging

from bot.models import Paper
from bot.sources import NotFound, SourceError
from bot.sources.arxiv import ArxivClient
from bot.sources.huggingface import HuggingFaceClient

log = logging.getLogger(__name__)


async def find_paper(hf: HuggingFaceClient, arxiv: ArxivClient, paper_id: str) -> Paper:
    """The paper from Hugging Face, else from arXiv.

    NotFound when neither knows it; SourceError, saying what each source answered, when a
    source could not be asked and the other did not have it.
    """
    hf_problem: SourceError | None = None
    try:
        return await hf.paper(paper_id)
    except NotFound:
        pass
    except SourceError as exc:  # Hugging Face is down: arXiv may still know the paper
        hf_problem = exc
    try:
        paper = await arxiv.paper(paper_id)
    except NotFound:
        if hf_problem is None:
            raise NotFound(f"paper {paper_id} was not found on Hugging Face or arXiv") from None
        raise SourceError(
            f"paper {paper_id} is not on arXiv and Hugging Face could not be asked: {hf_problem}"
        ) from None
    except SourceError as exc:
        if hf_problem is None:
            raise
        raise SourceError(
            f"neither Hugging Face nor arXiv could be asked about {paper_id}: {hf_problem}; {exc}"
        ) from None
    if hf_problem is not None:
        log.warning(
            "showing %s from arXiv: Hugging Face could not be asked (%s)", paper_id, hf_problem
        )
    return paper
