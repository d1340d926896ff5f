-- A day's completeness also depends on the largest list any poll of it returned: a poll that
-- returns fewer papers (a partial or failing answer) must not complete the day.
ALTER TABLE day_polls ADD COLUMN most_papers INTEGER NOT NULL DEFAULT 0;
UPDATE day_polls SET most_papers = papers;

-- Follow-ups look up every channel's post of a day.
CREATE INDEX posts_by_day ON posts(day, state);
