-- paperboy's schema on PostgreSQL: the same tables and columns as the SQLite migrations
-- (0001-0007 there) reach, so storage/ runs the same statements on both. Times are ISO 8601
-- UTC text and JSON is text, as there; every text column sorts and compares by bytes
-- (COLLATE "C", SQLite's BINARY), whatever the database's locale. The full-text tables keep
-- SQLite's names and their `rowid` column; their tsvector columns (the `simple` configuration: no stemming, no stop
-- words) are built from the folded tokens paperboy stores (storage/dialects.py), with GIN
-- indexes, and titles have a pg_trgm index for substrings.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE papers (
    pk             BIGINT  PRIMARY KEY,
    id             TEXT COLLATE "C"    NOT NULL,
    title          TEXT COLLATE "C"    NOT NULL,
    abstract       TEXT COLLATE "C"    NOT NULL DEFAULT '',
    published_at   TEXT COLLATE "C",
    image_url      TEXT COLLATE "C",
    video_url      TEXT COLLATE "C",
    github_repo    TEXT COLLATE "C",
    github_stars   BIGINT,
    project_page   TEXT COLLATE "C",
    ai_summary     TEXT COLLATE "C",
    ai_keywords    TEXT COLLATE "C"    NOT NULL DEFAULT '[]',
    num_comments   BIGINT,
    organization   TEXT COLLATE "C",
    upvotes        BIGINT,
    upvotes_at     TEXT COLLATE "C",
    updated_at     TEXT COLLATE "C"    NOT NULL
);

CREATE TABLE authors (
    id    BIGINT PRIMARY KEY,
    name  TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE paper_authors (
    paper_pk   BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    author_id  BIGINT NOT NULL,
    PRIMARY KEY (paper_pk, position)
);

CREATE TABLE daily_entries (
    day       TEXT COLLATE "C"   NOT NULL,
    paper_pk  BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    rank      BIGINT NOT NULL,
    PRIMARY KEY (day, paper_pk)
);
CREATE INDEX daily_entries_by_paper ON daily_entries(paper_pk, day);

CREATE TABLE vote_snapshots (
    paper_pk     BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    observed_at  TEXT COLLATE "C"   NOT NULL,
    upvotes      BIGINT NOT NULL,
    PRIMARY KEY (paper_pk, observed_at)
);
CREATE INDEX vote_snapshots_by_time ON vote_snapshots(observed_at);

CREATE TABLE summaries (
    paper_pk     BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    language     TEXT COLLATE "C"   NOT NULL,
    source       TEXT COLLATE "C"   NOT NULL,
    bullets      TEXT COLLATE "C"   NOT NULL,
    observed_at  TEXT COLLATE "C"   NOT NULL,
    PRIMARY KEY (paper_pk, language, source)
);

-- Full text. `title` and `summary` hold search_text.index_text: tokens between single spaces.
CREATE TABLE paper_fts (
    rowid      BIGINT PRIMARY KEY,
    title      TEXT COLLATE "C"   NOT NULL DEFAULT '',
    summary    TEXT COLLATE "C"   NOT NULL DEFAULT '',
    title_doc  tsvector GENERATED ALWAYS AS
               (to_tsvector('simple', title)) STORED,
    doc        tsvector GENERATED ALWAYS AS
               (to_tsvector('simple', title || ' ' || summary)) STORED
);
CREATE INDEX paper_fts_title_doc ON paper_fts USING gin (title_doc);
CREATE INDEX paper_fts_doc ON paper_fts USING gin (doc);

CREATE TABLE title_trigrams (
    rowid  BIGINT PRIMARY KEY,
    title  TEXT COLLATE "C"   NOT NULL
);
CREATE INDEX title_trigrams_title ON title_trigrams USING gin (title gin_trgm_ops);

CREATE TABLE author_fts (
    rowid  BIGINT PRIMARY KEY,
    name   TEXT COLLATE "C"   NOT NULL,
    doc    tsvector GENERATED ALWAYS AS
           (to_tsvector('simple', name)) STORED
);
CREATE INDEX author_fts_doc ON author_fts USING gin (doc);
CREATE INDEX author_fts_name ON author_fts (name text_pattern_ops);

CREATE TABLE author_papers (
    rowid       BIGINT PRIMARY KEY,
    author_ids  TEXT COLLATE "C"   NOT NULL,
    doc         tsvector GENERATED ALWAYS AS
                (to_tsvector('simple', author_ids)) STORED
);
CREATE INDEX author_papers_doc ON author_papers USING gin (doc);

CREATE TABLE bot_state (
    key    TEXT COLLATE "C" PRIMARY KEY,
    value  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE day_polls (
    day           TEXT COLLATE "C"   PRIMARY KEY,
    paper_set     TEXT COLLATE "C"   NOT NULL,
    papers        BIGINT NOT NULL,
    stable_polls  BIGINT NOT NULL,
    polled_at     TEXT COLLATE "C"   NOT NULL,
    complete_at   TEXT COLLATE "C",
    most_papers   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE subscriptions (
    channel_id   BIGINT PRIMARY KEY,
    guild_id     BIGINT NOT NULL,
    post_time    TEXT COLLATE "C"   NOT NULL,
    timezone     TEXT COLLATE "C"   NOT NULL,
    top          BIGINT,
    min_votes    BIGINT NOT NULL DEFAULT 0,
    language     TEXT COLLATE "C",
    format       TEXT COLLATE "C"   NOT NULL DEFAULT 'cards'
                 CHECK (format IN ('cards', 'embeds', 'compact')),
    created_at   TEXT COLLATE "C"   NOT NULL,
    created_by   BIGINT,
    failed_at    TEXT COLLATE "C",
    failure      TEXT COLLATE "C",
    crosspost    BIGINT NOT NULL DEFAULT 0 CHECK (crosspost IN (0, 1)),
    forum_tag    TEXT COLLATE "C"
);
CREATE INDEX subscriptions_by_guild ON subscriptions(guild_id);

CREATE TABLE posts (
    channel_id   BIGINT NOT NULL,
    day          TEXT COLLATE "C"   NOT NULL,
    guild_id     BIGINT NOT NULL,
    state        TEXT COLLATE "C"   NOT NULL CHECK (state IN ('posting', 'posted', 'failed')),
    plan         TEXT COLLATE "C"   NOT NULL,
    error        TEXT COLLATE "C",
    attempts     BIGINT NOT NULL DEFAULT 0,
    retry_at     TEXT COLLATE "C",
    started_at   TEXT COLLATE "C"   NOT NULL,
    finished_at  TEXT COLLATE "C",
    PRIMARY KEY (channel_id, day)
);
CREATE INDEX posts_by_state ON posts(state, finished_at);
CREATE INDEX posts_by_day ON posts(day, state);

CREATE TABLE post_messages (
    channel_id   BIGINT NOT NULL,
    day          TEXT COLLATE "C"   NOT NULL,
    part         BIGINT NOT NULL,
    message_id   BIGINT NOT NULL,
    shown        TEXT COLLATE "C"   NOT NULL DEFAULT '',
    PRIMARY KEY (channel_id, day, part),
    FOREIGN KEY (channel_id, day) REFERENCES posts(channel_id, day) ON DELETE CASCADE
);
CREATE INDEX post_messages_by_message ON post_messages(message_id);

CREATE TABLE member_votes (
    guild_id   BIGINT NOT NULL,
    paper_pk   BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL,
    vote       INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at   TEXT COLLATE "C"   NOT NULL,
    PRIMARY KEY (guild_id, paper_pk, user_id)
);

CREATE TABLE member_vote_log (
    rowid      BIGSERIAL PRIMARY KEY,            -- SQLite's implicit rowid: the order of changes
    guild_id   BIGINT NOT NULL,
    paper_pk   BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL,
    vote       INTEGER NOT NULL CHECK (vote IN (-1, 0, 1)),
    voted_at   TEXT COLLATE "C"   NOT NULL
);
CREATE INDEX member_vote_log_by_paper ON member_vote_log(guild_id, paper_pk, voted_at);

CREATE TABLE summary_attempts (
    paper_pk     BIGINT NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    language     TEXT COLLATE "C"   NOT NULL,
    source       TEXT COLLATE "C"   NOT NULL,
    day          TEXT COLLATE "C"   NOT NULL,
    attempted_at TEXT COLLATE "C"   NOT NULL,
    reason       TEXT COLLATE "C"   NOT NULL,
    PRIMARY KEY (paper_pk, language, source, day)
);
