package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ProgramID  string
	ID         string
	At         time.Time
	ActorKind  string
	ActorID    string
	ActorName  string
	Action     string
	TargetType string
	TargetID   string
	Method     string
	Route      string
	RequestID  string
	IP         string
	Status     int
	Summary    string // JSON
}

const auditColumns = `id, at, actor_kind, actor_id, actor_name, action, target_type, target_id, method, route, request_id, ip, status, summary`

// InsertAudit adds an entry; entries are never changed. It is written with
// the batch's other deferred rows (deferred.go).
func (tx *Tx) InsertAudit(ctx context.Context, e AuditEntry) error {
	tx.pend.cur.audit = append(tx.pend.cur.audit,
		e.ProgramID, e.ID, ms(e.At), e.ActorKind, e.ActorID, e.ActorName, e.Action, e.TargetType, e.TargetID, e.Method, e.Route,
		e.RequestID, e.IP, e.Status, tx.seal("audit_log", "summary", e.Summary, e.ProgramID, e.ID))
	return nil
}

// AuditFilter narrows a programme's audit log; empty fields do not.
type AuditFilter struct {
	ActorID, Action, TargetType, TargetID, RequestID string
	From, To                                         *time.Time // [From, To)
}

// AuditEntries lists a programme's entries newest first (IDs are time
// ordered), a page at a time.
func (c *Conn) AuditEntries(ctx context.Context, programID string, f AuditFilter, p Page) ([]AuditEntry, string, error) {
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE program_id = ?`
	args := []any{programID}
	for _, w := range []struct{ col, v string }{{"actor_id", f.ActorID}, {"action", f.Action}, {"target_type", f.TargetType},
		{"target_id", f.TargetID}, {"request_id", f.RequestID}} {
		if w.v != "" {
			q += ` AND ` + w.col + ` = ?`
			args = append(args, w.v)
		}
	}
	if f.From != nil {
		q += ` AND at >= ?`
		args = append(args, ms(*f.From))
	}
	if f.To != nil {
		q += ` AND at < ?`
		args = append(args, ms(*f.To))
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", classify(fmt.Errorf("audit entries: %w", err))
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := c.scanAudit(rows, programID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	out, cursor := next(out, p.Limit, func(e AuditEntry) string { return e.ID })
	return out, cursor, nil
}

// AuditEntryByID reads one entry of the programme.
func (c *Conn) AuditEntryByID(ctx context.Context, programID, id string) (AuditEntry, error) {
	e, err := c.scanAudit(c.queryRow(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE program_id = ? AND id = ?`, programID, id), programID)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditEntry{}, failure.New(failure.NotFound, "audit entry %s not found", id)
	}
	if err != nil {
		return AuditEntry{}, classify(fmt.Errorf("audit entry %s: %w", id, err))
	}
	return e, nil
}

// scanAudit reads an entry of the programme; its summary is sealed.
func (c *Conn) scanAudit(row interface{ Scan(...any) error }, programID string) (AuditEntry, error) {
	e := AuditEntry{ProgramID: programID}
	var at int64
	if err := row.Scan(&e.ID, &at, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Action, &e.TargetType, &e.TargetID, &e.Method,
		&e.Route, &e.RequestID, &e.IP, &e.Status, &e.Summary); err != nil {
		return e, err
	}
	e.At = fromMS(at)
	return e, c.open("audit_log", "summary", &e.Summary, programID, e.ID)
}
