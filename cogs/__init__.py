"""Discord cogs (slash commands). Built in the bot issue; empty until then."""
