package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
)

// Checkin is one day's check-in of a member.
type Checkin struct {
	MemberID      string
	Date          string
	Streak        int64
	Points        int64
	TransactionID null.String
	CreatedAt     time.Time
}

// CheckinOn reads a member's check-in of a program-local date.
func (c *Conn) CheckinOn(ctx context.Context, programID, memberID, date string) (Checkin, bool, error) {
	ch := Checkin{MemberID: memberID, Date: date}
	var at int64
	err := c.queryRow(ctx, `SELECT streak, points, transaction_id, created_at FROM checkins WHERE member_id = ? AND date = ? AND program_id = ?`,
		memberID, date, programID).Scan(&ch.Streak, &ch.Points, &ch.TransactionID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkin{}, false, nil
	}
	if err != nil {
		return Checkin{}, false, classify(fmt.Errorf("check-in: %w", err))
	}
	ch.CreatedAt = fromMS(at)
	return ch, true, nil
}

// InsertCheckin records a check-in; false when the member already checked
// in that day.
func (tx *Tx) InsertCheckin(ctx context.Context, programID string, ch Checkin) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO checkins (member_id, date, program_id, streak, points, transaction_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ch.MemberID, ch.Date, programID, ch.Streak, ch.Points, ch.TransactionID, ms(ch.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert check-in: %w", err)
	}
	return affected(res) == 1, nil
}

// Checkins lists a member's check-ins, latest date first.
func (c *Conn) Checkins(ctx context.Context, programID, memberID string, limit int) ([]Checkin, error) {
	rows, err := c.query(ctx, `SELECT date, streak, points, transaction_id, created_at FROM checkins
		WHERE member_id = ? AND program_id = ? ORDER BY date DESC LIMIT ?`, memberID, programID, limit)
	if err != nil {
		return nil, fmt.Errorf("check-ins: %w", err)
	}
	defer rows.Close()
	var out []Checkin
	for rows.Next() {
		ch := Checkin{MemberID: memberID}
		var at int64
		if err := rows.Scan(&ch.Date, &ch.Streak, &ch.Points, &ch.TransactionID, &at); err != nil {
			return nil, err
		}
		ch.CreatedAt = fromMS(at)
		out = append(out, ch)
	}
	return out, classify(rows.Err())
}

// Task is a stored task; Reward is JSON.
type Task struct {
	ID        string
	ProgramID string
	Name      string
	EventType string
	Target    int64
	Period    string
	Reward    []byte
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const taskColumns = `id, program_id, name, event_type, target, period, reward, status, created_at, updated_at`

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var reward string
	var created, updated int64
	err := row.Scan(&t.ID, &t.ProgramID, &t.Name, &t.EventType, &t.Target, &t.Period, &reward, &t.Status, &created, &updated)
	t.Reward, t.CreatedAt, t.UpdatedAt = []byte(reward), fromMS(created), fromMS(updated)
	return t, err
}

// SaveTask inserts or updates a task.
func (tx *Tx) SaveTask(ctx context.Context, t Task) error {
	_, err := tx.exec(ctx, `INSERT INTO tasks (`+taskColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, event_type = excluded.event_type, target = excluded.target,
		period = excluded.period, reward = excluded.reward, status = excluded.status, updated_at = excluded.updated_at`,
		t.ID, t.ProgramID, t.Name, t.EventType, t.Target, t.Period, string(t.Reward), t.Status, ms(t.CreatedAt), ms(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save task: %w", err)
	}
	return nil
}

// Task reads a task of the program.
func (c *Conn) Task(ctx context.Context, programID, id string) (Task, error) {
	t, err := scanTask(c.queryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ? AND program_id = ?`, id, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, failure.New(failure.NotFound, "task %s not found", id)
	}
	if err != nil {
		return Task{}, classify(fmt.Errorf("task %s: %w", id, err))
	}
	return t, nil
}

// Tasks lists a program's tasks, oldest first; with eventType, only
// active tasks of that type.
func (c *Conn) Tasks(ctx context.Context, programID, eventType string) ([]Task, error) {
	q := `SELECT ` + taskColumns + ` FROM tasks WHERE program_id = ? AND status <> 'deleted'`
	args := []any{programID}
	if eventType != "" {
		q += ` AND event_type = ? AND status = 'active'`
		args = append(args, eventType)
	}
	rows, err := c.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	defer rows.Close()
	var out []Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, classify(rows.Err())
}

// TaskProgress is a member's progress on a task in one period.
type TaskProgress struct {
	TaskID        string
	MemberID      string
	Period        string
	Progress      int64
	CompletedAt   *time.Time
	TransactionID null.String
}

// Progress reads a member's progress on tasks in the given (task, period)
// pairs; missing pairs have none.
func (c *Conn) Progress(ctx context.Context, programID, memberID string, taskPeriods map[string]string) (map[string]TaskProgress, error) {
	out := make(map[string]TaskProgress, len(taskPeriods))
	for taskID, period := range taskPeriods {
		tp := TaskProgress{TaskID: taskID, MemberID: memberID, Period: period}
		var done sql.NullInt64
		err := c.queryRow(ctx, `SELECT progress, completed_at, transaction_id FROM task_progress
			WHERE program_id = ? AND task_id = ? AND member_id = ? AND period = ?`,
			programID, taskID, memberID, period).Scan(&tp.Progress, &done, &tp.TransactionID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, classify(fmt.Errorf("task progress: %w", err))
		}
		tp.CompletedAt = fromOptMS(done)
		out[taskID] = tp
	}
	return out, nil
}

// SaveProgress writes a member's progress on a task in a period.
func (tx *Tx) SaveProgress(ctx context.Context, programID string, tp TaskProgress) error {
	_, err := tx.exec(ctx, `INSERT INTO task_progress (task_id, member_id, period, program_id, progress, completed_at, transaction_id)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, task_id, member_id, period) DO UPDATE SET progress = excluded.progress,
		completed_at = excluded.completed_at, transaction_id = excluded.transaction_id`,
		tp.TaskID, tp.MemberID, tp.Period, programID, tp.Progress, optMS(tp.CompletedAt), tp.TransactionID)
	if err != nil {
		return fmt.Errorf("save task progress: %w", err)
	}
	return nil
}

// Referral is an invitation that brought a member.
type Referral struct {
	InviteeID    string
	InviterID    string
	Status       string
	InviterTxnID null.String
	InviteeTxnID null.String
	CreatedAt    time.Time
	RewardedAt   *time.Time
}

// InsertReferral records that inviter brought invitee; false when the
// invitee already has a referral.
func (tx *Tx) InsertReferral(ctx context.Context, programID string, r Referral) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO referrals (invitee_id, program_id, inviter_id, status, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, r.InviteeID, programID, r.InviterID, r.Status, ms(r.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert referral: %w", err)
	}
	return affected(res) == 1, nil
}

// ReferralOf reads the referral that brought a member.
func (c *Conn) ReferralOf(ctx context.Context, programID, inviteeID string) (Referral, bool, error) {
	r := Referral{InviteeID: inviteeID}
	var created int64
	var rewarded sql.NullInt64
	err := c.queryRow(ctx, `SELECT inviter_id, status, inviter_txn_id, invitee_txn_id, created_at, rewarded_at FROM referrals
		WHERE invitee_id = ? AND program_id = ?`, inviteeID, programID).
		Scan(&r.InviterID, &r.Status, &r.InviterTxnID, &r.InviteeTxnID, &created, &rewarded)
	if errors.Is(err, sql.ErrNoRows) {
		return Referral{}, false, nil
	}
	if err != nil {
		return Referral{}, false, classify(fmt.Errorf("referral: %w", err))
	}
	r.CreatedAt, r.RewardedAt = fromMS(created), fromOptMS(rewarded)
	return r, true, nil
}

// UpdateReferral writes a referral's outcome.
func (tx *Tx) UpdateReferral(ctx context.Context, programID string, r Referral) error {
	_, err := tx.exec(ctx, `UPDATE referrals SET status = ?, inviter_txn_id = ?, invitee_txn_id = ?, rewarded_at = ?
		WHERE invitee_id = ? AND program_id = ?`, r.Status, r.InviterTxnID, r.InviteeTxnID, optMS(r.RewardedAt), r.InviteeID, programID)
	if err != nil {
		return fmt.Errorf("update referral: %w", err)
	}
	return nil
}

// CountRewardedReferrals counts an inviter's rewarded referrals.
func (tx *Tx) CountRewardedReferrals(ctx context.Context, programID, inviterID string) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM referrals WHERE inviter_id = ? AND program_id = ? AND status = 'rewarded'`,
		inviterID, programID).Scan(&n)
	return n, classify(err)
}

// Referrals lists the referrals a member made, newest first.
func (c *Conn) Referrals(ctx context.Context, programID, inviterID string, limit int) ([]Referral, error) {
	rows, err := c.query(ctx, `SELECT invitee_id, status, inviter_txn_id, invitee_txn_id, created_at, rewarded_at FROM referrals
		WHERE inviter_id = ? AND program_id = ? ORDER BY created_at DESC LIMIT ?`, inviterID, programID, limit)
	if err != nil {
		return nil, fmt.Errorf("referrals: %w", err)
	}
	defer rows.Close()
	var out []Referral
	for rows.Next() {
		r := Referral{InviterID: inviterID}
		var created int64
		var rewarded sql.NullInt64
		if err := rows.Scan(&r.InviteeID, &r.Status, &r.InviterTxnID, &r.InviteeTxnID, &created, &rewarded); err != nil {
			return nil, err
		}
		r.CreatedAt, r.RewardedAt = fromMS(created), fromOptMS(rewarded)
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// MembersBornOn lists the IDs of active members whose birthday is the
// given month and day ("MM-DD"), after cursor: by birthday_md, clear when
// the birthday is sealed.
func (c *Conn) MembersBornOn(ctx context.Context, programID string, monthDays []string, after string, limit int) ([]string, error) {
	args := []any{programID, after}
	for _, md := range monthDays {
		args = append(args, md)
	}
	args = append(args, limit)
	rows, err := c.query(ctx, `SELECT id FROM members WHERE program_id = ? AND status = 'active' AND id > ?
		AND birthday_md IN (`+placeholderList(len(monthDays))+`) ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("birthdays: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, classify(rows.Err())
}
