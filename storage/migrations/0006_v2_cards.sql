-- Components V2 cards (one container per paper, its buttons inside it) become the `cards`
-- format, the default for new subscriptions. The embed cards that subscriptions and posts used
-- until now keep their look under the name `embeds`: existing channels are not switched.

CREATE TABLE subscriptions_v2 (
    channel_id   INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    post_time    TEXT    NOT NULL,               -- HH:MM, local to `timezone`
    timezone     TEXT    NOT NULL,               -- IANA name, e.g. Asia/Seoul
    top          INTEGER,                        -- at most this many papers (NULL: all)
    min_votes    INTEGER NOT NULL DEFAULT 0,     -- only papers with at least this many upvotes
    language     TEXT,                           -- summary language wanted (NULL: any)
    format       TEXT    NOT NULL DEFAULT 'cards'
                 CHECK (format IN ('cards', 'embeds', 'compact')),
    created_at   TEXT    NOT NULL,               -- ISO 8601 UTC; the first post is at a later slot
    created_by   INTEGER,                        -- Discord user id of the admin
    failed_at    TEXT,                           -- set when Discord refused a post (403/404):
    failure      TEXT                            -- paused until the next slot after failed_at
);

INSERT INTO subscriptions_v2
SELECT channel_id, guild_id, post_time, timezone, top, min_votes, language,
       CASE format WHEN 'cards' THEN 'embeds' ELSE format END,
       created_at, created_by, failed_at, failure
FROM subscriptions;

DROP TABLE subscriptions;
ALTER TABLE subscriptions_v2 RENAME TO subscriptions;
CREATE INDEX subscriptions_by_guild ON subscriptions(guild_id);

-- Posted and interrupted digests are edited and resumed with the look they were posted with.
UPDATE posts SET plan = json_set(plan, '$.format', 'embeds')
WHERE json_extract(plan, '$.format') = 'cards';
