-- Report rollups: a programme's ledger figures per quarter hour, merchant
-- and currency, written by Apply in the same transaction as the ledger
-- rows they sum (store/rollup.go), so reports read a few thousand rows
-- instead of millions and verify checks they agree. A quarter hour is the
-- greatest common step of the world's UTC offsets, so any programme's
-- local day is a whole number of buckets. shard is the writer lane that
-- wrote the row, numbered per node: lanes, and nodes, do not wait on each
-- other's row locks; readers sum the shards.
CREATE TABLE report_rollups (
	program_id  TEXT NOT NULL,
	currency    TEXT NOT NULL,
	merchant_id TEXT NOT NULL,   -- '' for the programme's own
	bucket      BIGINT NOT NULL, -- created_at (Unix ms) / 900000
	shard       INTEGER NOT NULL,
	issued      BIGINT NOT NULL DEFAULT 0, -- earns (by the issuing merchant)
	spent       BIGINT NOT NULL DEFAULT 0, -- spends and captures (where they happened)
	refunded    BIGINT NOT NULL DEFAULT 0, -- reversals of spends and captures
	reversed    BIGINT NOT NULL DEFAULT 0, -- reversals of earns (clawed back)
	adjusted    BIGINT NOT NULL DEFAULT 0, -- adjustments, with their sign
	expired     BIGINT NOT NULL DEFAULT 0, -- expired points (by the lot's issuer)
	PRIMARY KEY (program_id, currency, merchant_id, bucket, shard)
);

-- The ledger so far, summed once.
INSERT INTO report_rollups (program_id, currency, merchant_id, bucket, shard, issued, spent, refunded, reversed, adjusted, expired)
SELECT program_id, currency, merchant_id, bucket, 0, SUM(issued), SUM(spent), SUM(refunded), SUM(reversed), SUM(adjusted), SUM(expired)
FROM (
	SELECT t.program_id AS program_id, t.currency AS currency, COALESCE(t.merchant_id, '') AS merchant_id,
		t.created_at / 900000 AS bucket,
		CASE WHEN t.type = 'earn' THEN t.points ELSE 0 END AS issued,
		CASE WHEN t.type IN ('spend', 'capture') THEN t.points ELSE 0 END AS spent,
		CASE WHEN t.type = 'reverse' AND EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id
			AND p.account = 'redemption') THEN t.points ELSE 0 END AS refunded,
		CASE WHEN t.type = 'reverse' AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id
			AND p.account IN ('redemption', 'adjustment')) THEN t.points ELSE 0 END AS reversed,
		CASE WHEN t.type = 'adjust' THEN t.points ELSE 0 END AS adjusted,
		0 AS expired
	FROM transactions t WHERE t.type IN ('earn', 'spend', 'capture', 'reverse', 'adjust')
	UNION ALL
	SELECT m.program_id, l.currency, COALESCE(m.issuer_merchant_id, ''), m.created_at / 900000, 0, 0, 0, 0, 0, -m.points
	FROM lot_moves m JOIN lots l ON l.id = m.lot_id WHERE m.kind = 'expire'
) x
GROUP BY program_id, currency, merchant_id, bucket;
