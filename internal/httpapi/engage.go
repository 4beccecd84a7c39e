package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

// checkinBody is a check-in and what the member.checked_in event it posts
// earned through the rules and tasks.
type checkinBody struct {
	store.Checkin
	Event json.RawMessage `json:"event"`
}

func (s *Server) registerEngage() {
	s.handle(route{method: "PUT", path: "/v1/checkin", access: admin, tag: "engagement", summary: "Configure daily check-in",
		in: program.CheckinConfig{}, out: program.CheckinConfig{}, status: 200, handler: legacy(s.putCheckin)})
	s.handle(route{method: "GET", path: "/v1/checkin", access: anyRole, tag: "engagement", summary: "Read the check-in configuration",
		out: program.CheckinConfig{}, status: 200, handler: legacy(s.getCheckin)})
	s.handle(route{method: "POST", path: "/v1/members/{member}/checkins", access: operator, tag: "engagement",
		summary: "Check a member in for today", out: checkinBody{}, status: 201, handler: legacy(s.checkIn)})
	s.handle(route{method: "GET", path: "/v1/members/{member}/checkins", access: anyRole, tag: "engagement",
		summary: "A member's recent check-ins", out: listBody[store.Checkin]{}, status: 200, handler: legacy(s.listCheckins)})

	s.handle(route{method: "POST", path: "/v1/tasks", access: operator, tag: "engagement", summary: "Create a task",
		in: engage.TaskInput{}, out: engage.Task{}, status: 201, handler: legacy(s.createTask)})
	s.handle(route{method: "GET", path: "/v1/tasks", access: anyRole, tag: "engagement", summary: "List tasks",
		out: listBody[engage.Task]{}, status: 200, handler: legacy(s.listTasks)})
	s.handle(route{method: "GET", path: "/v1/tasks/{id}", access: anyRole, tag: "engagement", summary: "Read a task",
		out: engage.Task{}, status: 200, handler: getOf(s, engage.GetTask)})
	s.handle(route{method: "PATCH", path: "/v1/tasks/{id}", access: operator, tag: "engagement", summary: "Change a task",
		in: engage.TaskInput{}, out: engage.Task{}, status: 200, handler: legacy(s.patchTask)})
	s.handle(route{method: "DELETE", path: "/v1/tasks/{id}", access: operator, tag: "engagement", summary: "Delete a task",
		status: 204, handler: legacy(s.deleteTask)})
	s.handle(route{method: "GET", path: "/v1/members/{member}/tasks", access: anyRole, tag: "engagement",
		summary: "A member's progress on tasks this period", out: listBody[engage.MemberTask]{}, status: 200,
		handler: legacy(s.memberTasks)})

	s.handle(route{method: "PUT", path: "/v1/referral", access: admin, tag: "engagement", summary: "Configure referral rewards",
		in: program.ReferralConfig{}, out: program.ReferralConfig{}, status: 200, handler: legacy(s.putReferral)})
	s.handle(route{method: "GET", path: "/v1/referral", access: anyRole, tag: "engagement", summary: "Read the referral configuration",
		out: program.ReferralConfig{}, status: 200, handler: legacy(s.getReferral)})
	s.handle(route{method: "GET", path: "/v1/members/{member}/referrals", access: anyRole, tag: "engagement",
		summary: "The members a member referred", out: listBody[store.Referral]{}, status: 200, handler: legacy(s.memberReferrals)})

	s.handle(route{method: "POST", path: "/v1/jobs/birthdays", access: admin, tag: "jobs",
		summary: "Post member.birthday for members born on as_of's local date", in: jobRequest{},
		out: events.BirthdayResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return s.events.Birthdays(ctx, p, at)
		})})
}

func (s *Server) putCheckin(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[program.CheckinConfig](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 200, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		p, err := s.programs.SetCheckin(ctx, tx, pid, in, s.clock.Now())
		return p.Checkin, err
	})
}

func (s *Server) getCheckin(w http.ResponseWriter, r *http.Request) {
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if p.Checkin == nil {
		s.problem(w, r, failure.New(failure.NotFound, "check-in is not configured"))
		return
	}
	encode(w, 200, p.Checkin)
}

// checkIn records today's check-in and posts member.checked_in through the
// rules and tasks, in one transaction.
func (s *Server) checkIn(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 201, m.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		now := s.clock.Now()
		ch, err := engage.CheckIn(ctx, tx, p, m.ID, now)
		if err != nil {
			return nil, err
		}
		ev, err := s.app.Events.Post(ctx, tx, actor(r), events.Input{
			ID: fmt.Sprintf("checkin:%s:%s", m.ID, ch.Date), Type: events.MemberCheckedIn, Member: m.ID,
		})
		return checkinBody{Checkin: ch, Event: ev.Body}, err
	})
}

func (s *Server) listCheckins(w http.ResponseWriter, r *http.Request) {
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	cs, err := s.db.Replica().Checkins(r.Context(), actor(r).ProgramID, m.ID, pg.Limit)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, cs, "")
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[engage.TaskInput](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 201, "tasks:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		tx.After(func() { s.events.ForgetTasks(p.ID) })
		return engage.CreateTask(ctx, tx, p, in, s.clock.Now())
	})
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	ts, err := engage.ListTasks(r.Context(), s.db.Read(), actor(r).ProgramID)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, ts, "")
}

func (s *Server) patchTask(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[engage.TaskInput](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 200, "tasks:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		tx.After(func() { s.events.ForgetTasks(p.ID) })
		return engage.UpdateTask(ctx, tx, p, r.PathValue("id"), in, s.clock.Now())
	})
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 204, "tasks:"+p.ID, func(ctx context.Context, tx *store.Tx) (any, error) {
		tx.After(func() { s.events.ForgetTasks(p.ID) })
		return nil, engage.DeleteTask(ctx, tx, p, r.PathValue("id"), s.clock.Now())
	})
}

func (s *Server) memberTasks(w http.ResponseWriter, r *http.Request) {
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ts, err := engage.MemberTasks(r.Context(), s.db.Read(), p, m.ID, s.clock.Now())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, ts, "")
}

func (s *Server) putReferral(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[program.ReferralConfig](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 200, "program:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		p, err := s.programs.SetReferral(ctx, tx, pid, in, s.clock.Now())
		return p.Referral, err
	})
}

func (s *Server) getReferral(w http.ResponseWriter, r *http.Request) {
	p, err := s.program(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if p.Referral == nil {
		s.problem(w, r, failure.New(failure.NotFound, "referral rewards are not configured"))
		return
	}
	encode(w, 200, p.Referral)
}

func (s *Server) memberReferrals(w http.ResponseWriter, r *http.Request) {
	m, err := s.resolve(r, r.PathValue("member"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rs, err := s.db.Replica().Referrals(r.Context(), actor(r).ProgramID, m.ID, 500)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, rs, "")
}
