// Package ledger owns the points ledger: accounts and postings, lots,
// holds, reversals, pending points and expiry. Its pure parts (Allocate,
// Claw, Refill, Policy) decide how points move; its operations (Earn,
// Spend, PlaceHold, Capture, Release, Reverse, Adjust, ExpireDue,
// ActivateDue, Forfeit) run inside one store transaction that the caller
// opens, so an idempotency record, an audit row or an outbox event can
// join the same commit. Every operation locks the member's balance row
// first and checks, then writes, under that lock.
//
// It leaves to others: who the member is (member), what a program is
// (program), and what an event is worth (rules).
package ledger
