-- The write path, slimmer: a member's tags travel with its row (member_tags
-- stays for filtering by tag), and postings lose an index nothing reads
-- (verify scans them whole).
ALTER TABLE members ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE members SET tags = COALESCE((SELECT json_group_array(tag) FROM (SELECT tag FROM member_tags t
    WHERE t.member_id = members.id ORDER BY tag)), '[]');
DROP INDEX postings_member;
