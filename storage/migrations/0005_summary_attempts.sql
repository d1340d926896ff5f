-- Summaries a provider was asked for and did not write (its answer failed, the model refused,
-- the budget was used): one row per (paper, language, source) and UTC day, so a paper whose
-- answers fail is asked again the next day at the earliest. `reason` is the short fallback
-- reason shown on the card (never the server's text).
CREATE TABLE summary_attempts (
    paper_pk     INTEGER NOT NULL REFERENCES papers(pk) ON DELETE CASCADE,
    language     TEXT    NOT NULL,
    source       TEXT    NOT NULL,               -- as in summaries.source, e.g. model:qwen3:8b:p1
    day          TEXT    NOT NULL,               -- UTC day of the attempt, YYYY-MM-DD
    attempted_at TEXT    NOT NULL,               -- ISO 8601 UTC
    reason       TEXT    NOT NULL,
    PRIMARY KEY (paper_pk, language, source, day)
) WITHOUT ROWID;
