-- Every table of programme data is scoped by program_id, in its key too, so
-- that every statement can say which program it means. member_tags,
-- rule_usage and task_progress had the column outside their keys;
-- coupon_daily had none. The program is taken from the parent row (the
-- member's, the rule's, the task's, the coupon template's).
UPDATE member_tags t SET program_id = m.program_id FROM members m
    WHERE m.id = t.member_id AND t.program_id <> m.program_id;
ALTER TABLE member_tags DROP CONSTRAINT member_tags_pkey,
    ADD PRIMARY KEY (program_id, member_id, tag);

UPDATE rule_usage u SET program_id = r.program_id FROM rules r
    WHERE r.id = u.rule_id AND u.program_id <> r.program_id;
ALTER TABLE rule_usage DROP CONSTRAINT rule_usage_pkey,
    ADD PRIMARY KEY (program_id, rule_id, member_id, period);

UPDATE task_progress p SET program_id = k.program_id FROM tasks k
    WHERE k.id = p.task_id AND p.program_id <> k.program_id;
ALTER TABLE task_progress DROP CONSTRAINT task_progress_pkey,
    ADD PRIMARY KEY (program_id, task_id, member_id, period);
DROP INDEX task_progress_member;
CREATE INDEX task_progress_member ON task_progress (program_id, member_id, period);

-- A count whose template is gone belongs to no program and is dropped.
ALTER TABLE coupon_daily ADD COLUMN program_id TEXT;
UPDATE coupon_daily d SET program_id = t.program_id FROM coupon_templates t WHERE t.id = d.template_id;
DELETE FROM coupon_daily WHERE program_id IS NULL;
ALTER TABLE coupon_daily ALTER COLUMN program_id SET NOT NULL,
    DROP CONSTRAINT coupon_daily_pkey,
    ADD PRIMARY KEY (program_id, template_id, date);
