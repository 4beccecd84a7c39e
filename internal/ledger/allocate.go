package ledger

import (
	"cmp"
	"slices"
	"time"

	"github.com/jifen/jifen/internal/failure"
)

// Take is how many points one move draws from (or puts back into) a lot.
type Take struct {
	LotID  string
	Points int64
}

// fifoCompare orders lots the way spends take them: soonest expiry first,
// lots that never expire last, then oldest first, then by ID.
func fifoCompare(a, b Lot) int {
	switch {
	case a.ExpiresAt == nil && b.ExpiresAt != nil:
		return 1
	case a.ExpiresAt != nil && b.ExpiresAt == nil:
		return -1
	case a.ExpiresAt != nil && b.ExpiresAt != nil:
		if c := a.ExpiresAt.Compare(*b.ExpiresAt); c != 0 {
			return c
		}
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// SortFIFO sorts lots into the order spends take them.
func SortFIFO(lots []Lot) { slices.SortStableFunc(lots, fifoCompare) }

// Allocate draws amount points from lots, soonest-expiring first. It does
// not change lots. It fails with InsufficientPoints when they hold less.
func Allocate(lots []Lot, amount int64) ([]Take, error) {
	if amount <= 0 {
		return nil, nil
	}
	sorted := slices.Clone(lots)
	SortFIFO(sorted)
	var takes []Take
	left := amount
	for _, l := range sorted {
		if left == 0 {
			break
		}
		if l.Remaining <= 0 {
			continue
		}
		t := min(l.Remaining, left)
		takes = append(takes, Take{l.ID, t})
		left -= t
	}
	if left > 0 {
		return nil, failure.New(failure.InsufficientPoints, "%d points are needed, %d are available", amount, amount-left)
	}
	return takes, nil
}

// ClawPlan is how a reversal of an earn takes its points back.
type ClawPlan struct {
	Own      int64  // from the earn's own lot
	Others   []Take // from the member's other available lots, FIFO
	Debt     int64  // past zero, owed (negative_balance allow)
	Forgiven int64  // past zero, dropped (negative_balance floor)
}

// Claw plans taking amount points back for a reversed earn: first from the
// earn's own lot (pending or available), then from the member's other
// available lots soonest-expiring first, and what is still missing becomes
// debt when allowDebt, else is forgiven.
func Claw(own Lot, others []Lot, amount int64, allowDebt bool) ClawPlan {
	var p ClawPlan
	p.Own = min(max(own.Remaining, 0), amount)
	left := amount - p.Own
	sorted := slices.Clone(others)
	SortFIFO(sorted)
	for _, l := range sorted {
		if left == 0 {
			break
		}
		if l.ID == own.ID || l.Remaining <= 0 {
			continue
		}
		t := min(l.Remaining, left)
		p.Others = append(p.Others, Take{l.ID, t})
		left -= t
	}
	if allowDebt {
		p.Debt = left
	} else {
		p.Forgiven = left
	}
	return p
}

// Refill plans putting amount points back into the lots they were taken
// from. taken maps each lot to the points still out of it; the lots that
// expire last are refilled first, so a partial reversal gives back the
// longest-lived points. It fails with LimitExceeded when taken holds less
// than amount.
func Refill(lots []Lot, taken map[string]int64, amount int64) ([]Take, error) {
	sorted := slices.Clone(lots)
	SortFIFO(sorted)
	slices.Reverse(sorted)
	var takes []Take
	left := amount
	for _, l := range sorted {
		if left == 0 {
			break
		}
		t := min(taken[l.ID], left)
		if t <= 0 {
			continue
		}
		takes = append(takes, Take{l.ID, t})
		left -= t
	}
	if left > 0 {
		return nil, failure.New(failure.LimitExceeded, "only %d points can be returned", amount-left)
	}
	return takes, nil
}

// splitDue separates lots that have expired at now from the rest.
func splitDue(lots []Lot, now time.Time) (due, live []Lot) {
	for _, l := range lots {
		if l.ExpiresAt != nil && !l.ExpiresAt.After(now) {
			due = append(due, l)
		} else {
			live = append(live, l)
		}
	}
	return due, live
}
