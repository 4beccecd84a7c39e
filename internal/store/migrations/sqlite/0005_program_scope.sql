-- Every table of programme data is scoped by program_id, in its key too, so
-- that every statement can say which program it means. member_tags,
-- rule_usage and task_progress had the column outside their keys;
-- coupon_daily had none. The program is taken from the parent row (the
-- member's, the rule's, the task's, the coupon template's). SQLite cannot
-- change a primary key, so each table is rebuilt.
CREATE TABLE member_tags_new (
    program_id TEXT NOT NULL,
    member_id  TEXT NOT NULL REFERENCES members (id),
    tag        TEXT NOT NULL,
    PRIMARY KEY (program_id, member_id, tag)
);
INSERT INTO member_tags_new (program_id, member_id, tag)
    SELECT COALESCE(m.program_id, t.program_id), t.member_id, t.tag
    FROM member_tags t LEFT JOIN members m ON m.id = t.member_id;
DROP TABLE member_tags;
ALTER TABLE member_tags_new RENAME TO member_tags;
CREATE INDEX member_tags_tag ON member_tags (program_id, tag, member_id);

CREATE TABLE rule_usage_new (
    program_id TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    period     TEXT NOT NULL,
    points     INTEGER NOT NULL,
    PRIMARY KEY (program_id, rule_id, member_id, period)
) WITHOUT ROWID;
INSERT INTO rule_usage_new (program_id, rule_id, member_id, period, points)
    SELECT COALESCE(r.program_id, u.program_id), u.rule_id, u.member_id, u.period, u.points
    FROM rule_usage u LEFT JOIN rules r ON r.id = u.rule_id;
DROP TABLE rule_usage;
ALTER TABLE rule_usage_new RENAME TO rule_usage;

CREATE TABLE task_progress_new (
    program_id     TEXT NOT NULL,
    task_id        TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    period         TEXT NOT NULL, -- once, day:YYYY-MM-DD, week:YYYY-Www
    progress       INTEGER NOT NULL,
    completed_at   INTEGER,
    transaction_id TEXT,
    PRIMARY KEY (program_id, task_id, member_id, period)
) WITHOUT ROWID;
INSERT INTO task_progress_new (program_id, task_id, member_id, period, progress, completed_at, transaction_id)
    SELECT COALESCE(k.program_id, p.program_id), p.task_id, p.member_id, p.period, p.progress, p.completed_at, p.transaction_id
    FROM task_progress p LEFT JOIN tasks k ON k.id = p.task_id;
DROP TABLE task_progress;
ALTER TABLE task_progress_new RENAME TO task_progress;
CREATE INDEX task_progress_member ON task_progress (program_id, member_id, period);

-- A count whose template is gone belongs to no program and is dropped.
CREATE TABLE coupon_daily_new (
    program_id  TEXT NOT NULL,
    template_id TEXT NOT NULL,
    date        TEXT NOT NULL,
    claimed     INTEGER NOT NULL,
    PRIMARY KEY (program_id, template_id, date)
) WITHOUT ROWID;
INSERT INTO coupon_daily_new (program_id, template_id, date, claimed)
    SELECT t.program_id, d.template_id, d.date, d.claimed
    FROM coupon_daily d JOIN coupon_templates t ON t.id = d.template_id;
DROP TABLE coupon_daily;
ALTER TABLE coupon_daily_new RENAME TO coupon_daily;
