"""Where papers come from: Hugging Face, arXiv, markdown digests."""


class SourceError(Exception):
    """A source could not give an answer; the message is meant for the user."""


class NotFound(SourceError):
    """The source answered, and the thing asked for does not exist."""
