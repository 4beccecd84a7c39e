// Package audit is the audit log: who changed what, when, from where and
// with what outcome. An entry is written in the transaction of the change
// it records (httpapi's write path calls Record), so a change and its
// entry commit or roll back together; no route alters an entry.
package audit

import (
	"context"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/store"
)

// Actor kinds an entry names (auth's kinds, and a public caller).
const (
	ActorAPIKey   = "api_key"
	ActorOperator = "operator"
	ActorMember   = "member"
	ActorPublic   = "public"
	ActorSystem   = "system"
)

// Entry is one audit entry as the API shows it.
type Entry struct {
	ID        string         `json:"id"`
	At        time.Time      `json:"at"`
	Actor     Actor          `json:"actor"`
	Action    string         `json:"action" doc:"<resource>.<verb>, e.g. points.earn"`
	Target    Target         `json:"target"`
	Method    string         `json:"method"`
	Route     string         `json:"route" doc:"the route's pattern, never the raw path"`
	RequestID string         `json:"request_id"`
	IP        string         `json:"ip"`
	Status    int            `json:"status"`
	Summary   map[string]any `json:"summary" doc:"the request body: personal values \"[redacted]\", secrets, passwords, codes and tokens left out"`
}

// Actor is who made the request.
type Actor struct {
	Kind string `json:"kind" enum:"api_key,operator,member,public,system"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Target is what the request acted on.
type Target struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Request is what the write path knows of a request to record.
type Request struct {
	Actor     auth.Actor
	Public    bool // no key: the join routes, console login
	Action    string
	Target    Target
	Method    string
	Route     string
	RequestID string
	IP        string
	Status    int
	Body      []byte
	// Summary, when set, is Summary(Body, Target.Type) computed already
	// (before the write, outside the writer's serialized section).
	Summary string
}

// Record writes the entry of a request in tx, the transaction of the
// change it records.
func Record(ctx context.Context, tx *store.Tx, now time.Time, r Request) error {
	if r.Summary == "" {
		r.Summary = Summary(r.Body, r.Target.Type)
	}
	return tx.InsertAudit(ctx, store.AuditEntry{
		ProgramID: r.Actor.ProgramID, ID: id.New("aud"), At: now,
		ActorKind: actorKind(r.Actor, r.Public), ActorID: r.Actor.ID, ActorName: r.Actor.Name,
		Action: r.Action, TargetType: r.Target.Type, TargetID: r.Target.ID,
		Method: r.Method, Route: r.Route, RequestID: r.RequestID, IP: r.IP, Status: r.Status,
		Summary: r.Summary,
	})
}

func actorKind(a auth.Actor, public bool) string {
	switch {
	case public || a.Kind == ActorPublic:
		return ActorPublic
	case a.Kind == "operator":
		return ActorOperator
	case a.IsMember():
		return ActorMember
	case a.Kind == auth.KindSystem:
		return ActorSystem
	}
	return ActorAPIKey
}
