-- Papers, authors, daily lists, vote history, summaries, and the full-text indexes.

-- pk is derived from the arXiv id so that a larger pk is a newer paper: full-text queries walk
-- rowids downwards and stop early instead of ranking every match (see storage/search.py).
CREATE TABLE papers (
    pk             INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,             -- versionless arXiv id (unique: pk derives from it)
    title          TEXT    NOT NULL,
    abstract       TEXT    NOT NULL DEFAULT '',
    published_at   TEXT,                         -- ISO 8601 UTC
    image_url      TEXT,
    video_url      TEXT,
    github_repo    TEXT,
    github_stars   INTEGER,
    project_page   TEXT,
    ai_summary     TEXT,
    ai_keywords    TEXT    NOT NULL DEFAULT '[]', -- JSON list
    num_comments   INTEGER,
    organization   TEXT,
    upvotes        INTEGER,                      -- latest observed Hugging Face count (NULL: never seen)
    upvotes_at     TEXT,                         -- when that count was observed
    updated_at     TEXT    NOT NULL
);

CREATE TABLE authors (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

-- author_id has no REFERENCES clause: checking it costs a random B-tree probe per link during
-- bulk ingest, and authors are only ever added by storage/papers.py, never deleted.
CREATE TABLE paper_authors (
    paper_pk   INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    PRIMARY KEY (paper_pk, position)
) WITHOUT ROWID;

CREATE TABLE daily_entries (
    day       TEXT    NOT NULL,                  -- YYYY-MM-DD
    paper_pk  INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    rank      INTEGER NOT NULL,                  -- 0 = first on that day's list
    PRIMARY KEY (day, paper_pk)
) WITHOUT ROWID;
CREATE INDEX daily_entries_by_paper ON daily_entries(paper_pk, day);

-- Append-only: a row is added only when a paper's upvote count differs from the previous one.
CREATE TABLE vote_snapshots (
    paper_pk     INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    observed_at  TEXT    NOT NULL,               -- ISO 8601 UTC
    upvotes      INTEGER NOT NULL,
    PRIMARY KEY (paper_pk, observed_at)
) WITHOUT ROWID;
CREATE INDEX vote_snapshots_by_time ON vote_snapshots(observed_at);

CREATE TABLE summaries (
    paper_pk  INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    language  TEXT    NOT NULL,
    source    TEXT    NOT NULL,                  -- digest | hf_ai | abstract | ...
    bullets   TEXT    NOT NULL,                  -- JSON list of strings
    observed_at TEXT  NOT NULL,                  -- an older observation never replaces a newer one
    PRIMARY KEY (paper_pk, language, source)
) WITHOUT ROWID;

-- Prefix indexes for 1..8 characters: a prefix query ("model"*, "m"*) then reads one doclist
-- newest-first and stops at the LIMIT, where without one FTS5 merges the doclists of every
-- matching term in full (50-130x slower for common prefixes at 1M papers; ingest pays ~10 us
-- a paper). Longer prefixes match few terms, so merging them stays cheap.
-- Search text is folded in Python before it is stored here (lower case, accents removed,
-- CJK ideographs and kana split into one token each), so the tokenizer only splits on spaces
-- and punctuation. rowid = papers.pk / authors.id.
CREATE VIRTUAL TABLE paper_fts USING fts5(
    title, summary, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2 3 4 5 6 7 8'
);
-- Substring matches inside words ("regressive" in "autoregressive"); 3+ characters.
CREATE VIRTUAL TABLE title_trigrams USING fts5(title, tokenize = 'trigram', detail = 'none');
-- Papers of an author: the paper's author ids as tokens ("a17 a2045"), rowid = papers.pk.
-- An inverted index is built in memory and written in sorted runs, where a B-tree index on
-- (author_id, paper_pk) takes a random page write per link; it also lists newest papers first.
CREATE VIRTUAL TABLE author_papers USING fts5(author_ids, tokenize = 'unicode61', detail = 'none');
CREATE VIRTUAL TABLE author_fts USING fts5(
    name, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2 3 4 5 6 7 8'
);
