package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/jifen/jifen/internal/checkin"
	"github.com/jifen/jifen/internal/engage"
	"github.com/jifen/jifen/internal/events"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerEngage() {
	s.handle(route{method: "PUT", path: "/v1/checkin", access: admin, tag: "engagement", summary: "Configure daily check-in",
		in: program.CheckinConfig{}, out: program.CheckinConfig{}, status: 200, handler: s.putCheckin})
	s.handle(route{method: "GET", path: "/v1/checkin", access: anyRole, tag: "engagement", summary: "Read the check-in configuration",
		out: program.CheckinConfig{}, status: 200, handler: s.getCheckin})
	s.handle(route{method: "POST", path: "/v1/members/{member}/checkins", access: operates, tag: "engagement",
		summary: "Check a member in for today", out: checkin.CheckedIn{}, status: 201, handler: s.checkIn})
	s.handle(route{method: "GET", path: "/v1/members/{member}/checkins", access: anyRole, tag: "engagement",
		summary: "A member's recent check-ins", out: listBody[checkin.Checkin]{}, status: 200, handler: s.listCheckins})

	s.handle(route{method: "POST", path: "/v1/tasks", access: admin, tag: "engagement", summary: "Create a task",
		in: engage.TaskInput{}, out: engage.Task{}, status: 201, handler: s.createTask})
	s.handle(route{method: "GET", path: "/v1/tasks", access: anyRole, tag: "engagement", summary: "List tasks",
		out: listBody[engage.Task]{}, status: 200, handler: s.listTasks})
	s.handle(route{method: "GET", path: "/v1/tasks/{id}", access: anyRole, tag: "engagement", summary: "Read a task",
		out: engage.Task{}, status: 200, handler: s.getTask})
	s.handle(route{method: "PATCH", path: "/v1/tasks/{id}", access: admin, tag: "engagement", summary: "Change a task",
		in: engage.TaskInput{}, out: engage.Task{}, status: 200, handler: s.patchTask})
	s.handle(route{method: "DELETE", path: "/v1/tasks/{id}", access: admin, tag: "engagement", summary: "Delete a task",
		status: 204, handler: s.deleteTask})
	s.handle(route{method: "GET", path: "/v1/members/{member}/tasks", access: anyRole, tag: "engagement",
		summary: "A member's progress on tasks this period", out: listBody[engage.MemberTask]{}, status: 200,
		handler: s.memberTasks})

	s.handle(route{method: "PUT", path: "/v1/referral", access: admin, tag: "engagement", summary: "Configure referral rewards",
		in: program.ReferralConfig{}, out: program.ReferralConfig{}, status: 200, handler: s.putReferral})
	s.handle(route{method: "GET", path: "/v1/referral", access: anyRole, tag: "engagement", summary: "Read the referral configuration",
		out: program.ReferralConfig{}, status: 200, handler: s.getReferral})
	s.handle(route{method: "GET", path: "/v1/members/{member}/referrals", access: anyRole, tag: "engagement",
		summary: "The members a member referred", out: listBody[engage.Referral]{}, status: 200, handler: s.memberReferrals})

	s.handle(route{method: "POST", path: "/v1/jobs/birthdays", access: admin, tag: "jobs",
		summary: "Post member.birthday for members born on as_of's local date", in: jobRequest{},
		out: events.BirthdayResult{}, status: 200,
		handler: s.runJob(func(ctx context.Context, p program.Program, at time.Time) (any, error) {
			return s.app.Events.Birthdays(ctx, p, at)
		})})
}

func (s *Server) putCheckin(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[program.CheckinConfig](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.SetCheckin(ctx, tx, actor(r), in)
	})
}

func (s *Server) getCheckin(w http.ResponseWriter, r *http.Request) error {
	c, err := s.app.Programs.Checkin(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, c)
}

func (s *Server) checkIn(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("member")
	return s.write(w, r, 201, ref, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Checkins.CheckIn(ctx, tx, actor(r), ref)
	})
}

func (s *Server) listCheckins(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	cs, err := s.app.Checkins.List(r.Context(), actor(r), r.PathValue("member"), pg.Limit)
	if err != nil {
		return err
	}
	return list(w, cs, "")
}

// tasksLane is the writer lane of changes to a programme's tasks.
func tasksLane(r *http.Request) string { return "tasks:" + actor(r).ProgramID }

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[engage.TaskInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, tasksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Engage.CreateTask(ctx, tx, actor(r), in)
	})
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.app.Engage.Tasks(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return list(w, ts, "")
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.app.Engage.GetTask(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, t)
}

func (s *Server) patchTask(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[engage.TaskInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, tasksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Engage.UpdateTask(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, tasksLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Engage.DeleteTask(ctx, tx, actor(r), id)
	})
}

func (s *Server) memberTasks(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.app.Engage.MemberTasks(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	return list(w, ts, "")
}

func (s *Server) putReferral(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[program.ReferralConfig](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 200, programLane(r), func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Programs.SetReferral(ctx, tx, actor(r), in)
	})
}

func (s *Server) getReferral(w http.ResponseWriter, r *http.Request) error {
	c, err := s.app.Programs.Referral(r.Context(), actor(r))
	if err != nil {
		return err
	}
	return encode(w, 200, c)
}

func (s *Server) memberReferrals(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.app.Engage.Referrals(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	return list(w, rs, "")
}
