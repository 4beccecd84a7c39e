package store

import "sync"

// Signals a committed transaction gives about a member.
const (
	SignalJoined      = "joined"       // a member was created
	SignalTierChanged = "tier_changed" // a member's tier changed
)

// signals are the functions subscribed to what transactions tell.
type signals struct {
	mu  sync.RWMutex
	fns map[string][]func(programID, memberID string)
}

// Subscribe runs fn after each transaction that signals kind commits
// (campaigns fire on joins and tier changes this way). fn runs on the
// writer's goroutine: it must only hand the work on.
func (db *DB) Subscribe(kind string, fn func(programID, memberID string)) {
	db.signals.mu.Lock()
	defer db.signals.mu.Unlock()
	if db.signals.fns == nil {
		db.signals.fns = map[string][]func(string, string){}
	}
	db.signals.fns[kind] = append(db.signals.fns[kind], fn)
}

// signal tells kind's subscribers of a member once tx commits.
func (tx *Tx) signal(kind, programID, memberID string) {
	if tx.sig == nil {
		return
	}
	tx.sig.mu.RLock()
	fns := tx.sig.fns[kind]
	tx.sig.mu.RUnlock()
	for _, fn := range fns {
		tx.After(func() { fn(programID, memberID) })
	}
}
