-- A hold may name the order it pays part of: the checkout offset cap is
-- enforced over the order's holds, and a refund of the order returns the
-- captured points in proportion.
ALTER TABLE holds ADD COLUMN order_id TEXT;
ALTER TABLE holds ADD COLUMN order_amount INTEGER;
CREATE INDEX holds_order ON holds (program_id, order_id);
