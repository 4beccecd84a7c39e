-- Issue 18: encryption at rest.

-- A birthday is sealed with the other personal fields; its month and day
-- stay clear here, for the birthday triggers.
ALTER TABLE members ADD COLUMN birthday_md TEXT;
UPDATE members SET birthday_md = substr(birthday, 6, 5) WHERE birthday IS NOT NULL AND length(birthday) = 10;
CREATE INDEX members_birthday_md ON members (program_id, birthday_md) WHERE birthday_md IS NOT NULL;

-- Every data key that has sealed a value, recorded before its first use:
-- serve refuses to start without one of them, and rotate-data-key
-- removes a key once no value is left under it.
CREATE TABLE data_keys (
    kid        TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
