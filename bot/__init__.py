"""paperboy: Hugging Face Daily Papers for Discord."""
