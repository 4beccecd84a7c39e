-- Issue 18: erasure. An idempotency record keeps the response it answered,
-- which can show a member's profile; member_id names the member a write
-- was about (NULL for none), so erasing the member finds and scrubs its
-- records in the erase's transaction. Records written before this
-- migration have none and age out with the idempotency retention.
ALTER TABLE idempotency ADD COLUMN member_id TEXT;
CREATE INDEX idempotency_member ON idempotency (program_id, member_id) WHERE member_id IS NOT NULL;

-- A message to no member (a join code to a phone that is not a member's
-- yet) keeps the lookup of its phone, so that erasing the member the
-- phone later belongs to finds it.
ALTER TABLE messages ADD COLUMN to_lookup TEXT;
CREATE INDEX messages_to_lookup ON messages (program_id, to_lookup) WHERE to_lookup IS NOT NULL;
