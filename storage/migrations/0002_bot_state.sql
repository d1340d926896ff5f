-- Small facts the bot keeps between runs, e.g. the hash of the slash commands last synced.
CREATE TABLE bot_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
