package audit

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/store"
)

// Service reads the audit log.
type Service struct{ db *store.DB }

// NewService returns the audit log's reader.
func NewService(db *store.DB) *Service { return &Service{db: db} }

// Filter narrows a list; empty fields do not.
type Filter struct {
	ActorID, Action, TargetType, TargetID, RequestID string
	From, To                                         *time.Time
}

func entryOf(e store.AuditEntry) Entry {
	return Entry{ID: e.ID, At: e.At, Actor: Actor{Kind: e.ActorKind, ID: e.ActorID, Name: e.ActorName}, Action: e.Action,
		Target: Target{Type: e.TargetType, ID: e.TargetID}, Method: e.Method, Route: e.Route, RequestID: e.RequestID,
		IP: e.IP, Status: e.Status, Summary: Decode(e.Summary)}
}

// List lists the programme's entries, newest first.
func (s *Service) List(ctx context.Context, a auth.Actor, f Filter, pg store.Page) ([]Entry, string, error) {
	rows, next, err := s.db.Replica().AuditEntries(ctx, a.ProgramID, store.AuditFilter{ActorID: f.ActorID, Action: f.Action,
		TargetType: f.TargetType, TargetID: f.TargetID, RequestID: f.RequestID, From: f.From, To: f.To}, pg)
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		out = append(out, entryOf(r))
	}
	return out, next, err
}

// Get reads one entry.
func (s *Service) Get(ctx context.Context, a auth.Actor, id string) (Entry, error) {
	e, err := s.db.Read().AuditEntryByID(ctx, a.ProgramID, id)
	return entryOf(e), err
}
