-- Daily digests: which channels get them, which days are complete, what was posted where, and
-- the votes members cast on the posted cards.

-- A channel that gets the daily digest at a local time. One subscription per channel.
CREATE TABLE subscriptions (
    channel_id   INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    post_time    TEXT    NOT NULL,               -- HH:MM, local to `timezone`
    timezone     TEXT    NOT NULL,               -- IANA name, e.g. Asia/Seoul
    top          INTEGER,                        -- at most this many papers (NULL: all)
    min_votes    INTEGER NOT NULL DEFAULT 0,     -- only papers with at least this many upvotes
    language     TEXT,                           -- summary language wanted (NULL: any)
    format       TEXT    NOT NULL DEFAULT 'cards' CHECK (format IN ('cards', 'compact')),
    created_at   TEXT    NOT NULL,               -- ISO 8601 UTC; the first post is at a later slot
    created_by   INTEGER,                        -- Discord user id of the admin
    failed_at    TEXT,                           -- set when Discord refused a post (403/404):
    failure      TEXT                            -- paused until the next slot after failed_at
);
CREATE INDEX subscriptions_by_guild ON subscriptions(guild_id);

-- What the ingest job saw of a day's Hugging Face list. A day is complete once it is over in
-- UTC and two consecutive polls after that returned the same paper set.
CREATE TABLE day_polls (
    day           TEXT PRIMARY KEY,              -- YYYY-MM-DD
    paper_set     TEXT NOT NULL,                 -- hash of the sorted paper ids last polled
    papers        INTEGER NOT NULL,              -- how many that poll returned
    stable_polls  INTEGER NOT NULL,              -- consecutive polls after the day's end with that set
    polled_at     TEXT NOT NULL,
    complete_at   TEXT                           -- when it became complete (NULL: not yet)
) WITHOUT ROWID;

-- One row per (channel, day) being posted or posted: the guard against posting a day twice.
-- `plan` fixes which papers go in which message, so an interrupted post resumes identically.
CREATE TABLE posts (
    channel_id   INTEGER NOT NULL,
    day          TEXT    NOT NULL,
    guild_id     INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('posting', 'posted', 'failed')),
    plan         TEXT    NOT NULL,               -- JSON: {"format", "language", "parts": [[ids]...]}
    error        TEXT,                           -- why it failed (state = failed)
    attempts     INTEGER NOT NULL DEFAULT 0,     -- failed attempts so far (transient errors)
    retry_at     TEXT,                           -- a transient failure is retried after this
    started_at   TEXT    NOT NULL,
    finished_at  TEXT,
    PRIMARY KEY (channel_id, day)
) WITHOUT ROWID;
CREATE INDEX posts_by_state ON posts(state, finished_at);

-- The Discord messages of a post, recorded one by one as each is sent (part 0 = the header).
CREATE TABLE post_messages (
    channel_id   INTEGER NOT NULL,
    day          TEXT    NOT NULL,
    part         INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    shown        TEXT    NOT NULL DEFAULT '',    -- the counts last rendered (skip unchanged edits)
    PRIMARY KEY (channel_id, day, part),
    FOREIGN KEY (channel_id, day) REFERENCES posts(channel_id, day) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX post_messages_by_message ON post_messages(message_id);

-- A member's current vote on a paper in a server (+1 / -1); withdrawing deletes the row.
CREATE TABLE member_votes (
    guild_id   INTEGER NOT NULL,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    vote       INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, paper_pk, user_id)
) WITHOUT ROWID;

-- Every vote change, append-only (0 = withdrawn): the member half of the vote history.
CREATE TABLE member_vote_log (
    guild_id   INTEGER NOT NULL,
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    vote       INTEGER NOT NULL CHECK (vote IN (-1, 0, 1)),
    voted_at   TEXT    NOT NULL
);
CREATE INDEX member_vote_log_by_paper ON member_vote_log(guild_id, paper_pk, voted_at);
