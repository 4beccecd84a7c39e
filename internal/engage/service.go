package engage

import (
	"context"
	"sync"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/identity"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// Service runs the task and referral operations of the API, and keeps
// which event types have tasks, so that an event without tasks costs no
// query for them.
type Service struct {
	db       *store.DB
	programs *program.Service
	clock    clock.Clock
	ttl      time.Duration

	mu    sync.Mutex
	types map[string]taskTypes // by programme: the event types of its active tasks
}

type taskTypes struct {
	types map[string]bool
	at    time.Time
}

// NewService returns the engagement service; the event types with tasks
// it remembers for ttl (a change on this node shows at once).
func NewService(db *store.DB, programs *program.Service, clk clock.Clock, ttl time.Duration) *Service {
	return &Service{db: db, programs: programs, clock: clk, ttl: ttl, types: map[string]taskTypes{}}
}

// CreateTask adds a task; it is active unless the input says paused.
func (s *Service) CreateTask(ctx context.Context, tx *store.Tx, a auth.Actor, in TaskInput) (Task, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Task{}, err
	}
	tx.After(func() { s.forget(p.ID) })
	return CreateTask(ctx, tx, p, in, s.clock.Now())
}

// UpdateTask changes a task; progress already made is kept.
func (s *Service) UpdateTask(ctx context.Context, tx *store.Tx, a auth.Actor, taskID string, in TaskInput) (Task, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return Task{}, err
	}
	tx.After(func() { s.forget(p.ID) })
	return UpdateTask(ctx, tx, p, taskID, in, s.clock.Now())
}

// DeleteTask removes a task; progress rows stay for the record.
func (s *Service) DeleteTask(ctx context.Context, tx *store.Tx, a auth.Actor, taskID string) error {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return err
	}
	tx.After(func() { s.forget(p.ID) })
	return DeleteTask(ctx, tx, p, taskID, s.clock.Now())
}

// GetTask reads a task.
func (s *Service) GetTask(ctx context.Context, a auth.Actor, taskID string) (Task, error) {
	return GetTask(ctx, s.db.Read(), a.ProgramID, taskID)
}

// Tasks lists the programme's tasks, oldest first.
func (s *Service) Tasks(ctx context.Context, a auth.Actor) ([]Task, error) {
	return ListTasks(ctx, s.db.Read(), a.ProgramID)
}

// MemberTasks lists a member's progress on every active task in the
// current period.
func (s *Service) MemberTasks(ctx context.Context, a auth.Actor, ref string) ([]MemberTask, error) {
	p, err := s.programs.Get(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	c := s.db.Read()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return nil, err
	}
	return MemberTasks(ctx, c, p, m.ID, s.clock.Now())
}

// Referral is an invitation that brought a member.
type Referral struct {
	InviteeID    string     `json:"invitee_id"`
	InviterID    string     `json:"inviter_id"`
	Status       string     `json:"status" api:"enum=pending|rewarded|capped"`
	InviterTxnID *string    `json:"inviter_transaction_id"`
	InviteeTxnID *string    `json:"invitee_transaction_id"`
	CreatedAt    time.Time  `json:"created_at"`
	RewardedAt   *time.Time `json:"rewarded_at"`
}

func referralOf(r store.Referral) Referral {
	return Referral{InviteeID: r.InviteeID, InviterID: r.InviterID, Status: r.Status, InviterTxnID: r.InviterTxnID.Ptr(),
		InviteeTxnID: r.InviteeTxnID.Ptr(), CreatedAt: r.CreatedAt, RewardedAt: r.RewardedAt}
}

// Referrals lists the members a member referred.
func (s *Service) Referrals(ctx context.Context, a auth.Actor, ref string) ([]Referral, error) {
	c := s.db.Replica()
	m, err := identity.Resolve(ctx, c, a, ref)
	if err != nil {
		return nil, err
	}
	rows, err := c.Referrals(ctx, a.ProgramID, m.ID, 500)
	out := make([]Referral, len(rows))
	for i, r := range rows {
		out[i] = referralOf(r)
	}
	return out, err
}

// HasTasks says whether an event type advances any active task of the
// programme, from a short-lived cache.
func (s *Service) HasTasks(ctx context.Context, programID, eventType string) bool {
	s.mu.Lock()
	c, ok := s.types[programID]
	s.mu.Unlock()
	if !ok || time.Since(c.at) >= s.ttl {
		rows, err := s.db.Read().Tasks(ctx, programID, "")
		if err != nil {
			return true // let Advance look
		}
		c = taskTypes{types: map[string]bool{}, at: time.Now()}
		for _, r := range rows {
			if r.Status == "active" {
				c.types[r.EventType] = true
			}
		}
		s.mu.Lock()
		s.types[programID] = c
		s.mu.Unlock()
	}
	return c.types[eventType]
}

func (s *Service) forget(programID string) {
	s.mu.Lock()
	delete(s.types, programID)
	s.mu.Unlock()
}
