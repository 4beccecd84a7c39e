package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// BirthdayResult is what a birthday run did.
type BirthdayResult struct {
	Members int64 `json:"members"`
	Events  int64 `json:"events"`
}

// Birthdays posts a member.birthday event for every active member whose
// birthday is the program-local date of asOf. The event id is
// birthday:<member>:<year>, so each member gets one a year however often
// the job runs. Members born on 29 February celebrate on 28 February in
// other years.
func (s *Service) Birthdays(ctx context.Context, p program.Program, asOf time.Time) (BirthdayResult, error) {
	var res BirthdayResult
	local := asOf.In(p.Location)
	days := []string{local.Format("01-02")}
	if local.Month() == time.February && local.Day() == 28 && !leap(local.Year()) {
		days = append(days, "02-29")
	}
	after := ""
	for {
		ids, err := s.db.Read().MembersBornOn(ctx, p.ID, days, after, 500)
		if err != nil {
			return res, err
		}
		for _, mid := range ids {
			res.Members++
			at := asOf.Format(time.RFC3339Nano)
			in := Input{ID: fmt.Sprintf("birthday:%s:%d", mid, local.Year()), Type: MemberBirthday, Member: mid, OccurredAt: &at}
			var posted Posted
			err := s.db.Write(ctx, mid, func(ctx context.Context, tx *store.Tx) (err error) {
				posted, err = s.Post(ctx, tx, auth.System(p.ID), in)
				return err
			})
			if failure.KindOf(err) == failure.Conflict {
				continue // frozen since the list was read
			}
			if err != nil && !errors.Is(err, store.ErrRace) {
				return res, fmt.Errorf("birthday of %s: %w", mid, err)
			}
			if err == nil && !posted.Replay {
				res.Events++
			}
		}
		if len(ids) < 500 {
			return res, nil
		}
		after = ids[len(ids)-1]
	}
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }
