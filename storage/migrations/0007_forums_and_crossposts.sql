-- Forum and announcement channels can be subscribed (bot/digest.py posts a forum's digest as
-- one forum post a day). `crosspost`: publish each digest message of an announcement channel to
-- the servers that follow it. `forum_tag`: the tag a forum post gets: NULL picks the forum's
-- tag named like the digest, if it has one; '' applies none; anything else is a tag's name.
ALTER TABLE subscriptions ADD COLUMN crosspost INTEGER NOT NULL DEFAULT 0
    CHECK (crosspost IN (0, 1));
ALTER TABLE subscriptions ADD COLUMN forum_tag TEXT;
