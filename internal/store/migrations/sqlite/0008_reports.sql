-- Reports read a programme's ledger by time: lot moves (expiries by the
-- lot's issuer) and events (active members) get an index on their time.
CREATE INDEX lot_moves_program_time ON lot_moves (program_id, created_at);
CREATE INDEX events_program_time ON events (program_id, created_at);
CREATE INDEX members_program_created ON members (program_id, created_at);
