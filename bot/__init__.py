"""paperboy: Hugging Face Daily Papers for Discord."""


def version() -> str:
    """paperboy's installed version (here, so that `paperboy --version` imports nothing else)."""
    from importlib import metadata

    try:
        return metadata.version("paperboy")
    except metadata.PackageNotFoundError:
        return "(not installed)"
