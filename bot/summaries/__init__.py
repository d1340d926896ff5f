"""Summaries of papers in a channel's language: providers, the model's request, and checks.

- ``text``: pure helpers shared with rendering and the digest parser (sentences of an abstract,
  script counts, ``detect_language``).
- ``prompt``: what a model is asked (grounded in the paper's own text) and how its answer is read.
- ``checks``: what an answer must pass before it is used (count, length, language, numbers, URLs,
  no pings or masked links).
- ``providers``: the ``SummaryProvider`` protocol, the ``abstract``, ``hf`` and ``openai``
  providers, the daily budget, and ``make_provider(settings)``.

This package imports nothing heavy at import time: ``bot.render`` uses ``bot.summaries.text``.
"""
