package httpapi

import (
	"context"
	"encoding/json"
	"github.com/jifen/jifen/internal/input"
	"net/http"
	"slices"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/rulebook"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
)

// ruleRequest creates a rule or, in a PATCH, changes the fields it names.
type ruleRequest struct {
	Name       *string           `json:"name,omitempty"`
	EventType  *string           `json:"event_type,omitempty"`
	Condition  *string           `json:"condition,omitempty"`
	Reward     *rules.Reward     `json:"reward,omitempty"`
	Limits     json.RawMessage   `json:"limits,omitempty"`
	StartsAt   *string           `json:"starts_at,omitempty"`
	EndsAt     *string           `json:"ends_at,omitempty"`
	Priority   *int              `json:"priority,omitempty"`
	Exclusive  *bool             `json:"exclusive,omitempty"`
	Status     *string           `json:"status,omitempty"`
	Recurrence *rules.Recurrence `json:"recurrence,omitempty"`
	MerchantID *string           `json:"merchant_id,omitempty"`
}

// apply writes the request's fields into d; "" and null clear the optional
// ones.
func (in ruleRequest) apply(d *rules.Def) error {
	var fs failure.Fields
	if in.Name != nil {
		d.Name = *in.Name
	}
	if in.EventType != nil {
		d.EventType = *in.EventType
	}
	if in.Condition != nil {
		d.Condition = *in.Condition
	}
	if in.Reward != nil {
		d.Reward = *in.Reward
	}
	if len(in.Limits) > 0 {
		if string(in.Limits) == "null" {
			d.Limits = nil
		} else {
			var l rules.Limits
			if err := input.Decode(in.Limits, &l); err != nil {
				if fe := failure.As(err); fe != nil {
					for _, f := range fe.Fields {
						fs.Add("limits."+f.Field, "%s", f.Message)
					}
				} else {
					fs.Add("limits", "must be {per_member:{day,week,month,total}, budget}")
				}
			}
			d.Limits = &l
		}
	}
	var err error
	if in.StartsAt != nil {
		if d.StartsAt, err = parseTime("starts_at", in.StartsAt); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
	}
	if in.EndsAt != nil {
		if d.EndsAt, err = parseTime("ends_at", in.EndsAt); err != nil {
			fs = append(fs, failure.As(err).Fields...)
		}
	}
	if in.Priority != nil {
		d.Priority = *in.Priority
	}
	if in.Exclusive != nil {
		d.Exclusive = *in.Exclusive
	}
	if in.Status != nil {
		d.Status = *in.Status
	}
	if in.Recurrence != nil {
		d.Recurrence = in.Recurrence
		if in.Recurrence.Kind == "" {
			d.Recurrence = nil
		}
	}
	if in.MerchantID != nil {
		d.MerchantID = *in.MerchantID
	}
	return fs.Err()
}

func (s *Server) registerRules() {
	s.handle(route{method: "POST", path: "/v1/rules", access: operator, tag: "rules", summary: "Create an earning rule",
		in: ruleRequest{}, out: rulebook.Rule{}, status: 201, handler: legacy(s.createRule)})
	s.handle(route{method: "GET", path: "/v1/rules", access: anyRole, tag: "rules", summary: "List earning rules",
		out: listBody[rulebook.Rule]{}, status: 200, handler: legacy(s.listRules),
		query: append([]param{{name: "status"}, {name: "event_type"}}, pageParams...)})
	s.handle(route{method: "GET", path: "/v1/rules/{id}", access: anyRole, tag: "rules", summary: "Read an earning rule",
		out: rulebook.Rule{}, status: 200, handler: legacy(s.getRule)})
	s.handle(route{method: "PATCH", path: "/v1/rules/{id}", access: operator, tag: "rules",
		summary: "Change an earning rule (a new version)", in: ruleRequest{}, out: rulebook.Rule{}, status: 200, handler: legacy(s.patchRule)})
	s.handle(route{method: "DELETE", path: "/v1/rules/{id}", access: operator, tag: "rules", summary: "Delete an earning rule",
		status: 204, handler: legacy(s.deleteRule)})
	s.handle(route{method: "GET", path: "/v1/rules/{id}/versions", access: anyRole, tag: "rules",
		summary: "List a rule's versions", out: listBody[rulebook.Version]{}, status: 200, handler: legacy(s.ruleVersions)})
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[ruleRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var d rules.Def
	if err := in.apply(&d); err != nil {
		s.problem(w, r, err)
		return
	}
	if d.MerchantID, err = actingMerchant(r, d.MerchantID); err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	s.writeLegacy(w, r, body, 201, "rules:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.rules.Create(ctx, tx, pid, d, s.clock.Now())
	})
}

// ownRule checks that a merchant key edits only its merchant's rules.
func ownRule(r *http.Request, ru rulebook.Rule) error {
	p := actor(r)
	if p.Role == auth.Merchant && ru.MerchantID != p.MerchantID {
		return errForbidden("a merchant key edits only its own merchant's rules")
	}
	return nil
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) {
	ru, err := s.rules.Get(r.Context(), s.db.Read(), actor(r).ProgramID, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	encode(w, 200, ru)
}

func (s *Server) patchRule(w http.ResponseWriter, r *http.Request) {
	in, body, err := decodeBody[ruleRequest](s, w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	cur, err := s.rules.Get(r.Context(), s.db.Read(), pid, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := ownRule(r, cur); err != nil {
		s.problem(w, r, err)
		return
	}
	if in.MerchantID != nil {
		if _, err := actingMerchant(r, *in.MerchantID); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	var applyErr error
	s.writeLegacy(w, r, body, 200, "rules:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		ru, err := s.rules.Update(ctx, tx, pid, cur.ID, func(d *rules.Def) { applyErr = in.apply(d) }, s.clock.Now())
		if applyErr != nil {
			return nil, applyErr
		}
		return ru, err
	})
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pid := actor(r).ProgramID
	cur, err := s.rules.Get(r.Context(), s.db.Read(), pid, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := ownRule(r, cur); err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeLegacy(w, r, body, 204, "rules:"+pid, func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.rules.Delete(ctx, tx, pid, cur.ID, s.clock.Now())
	})
}

var ruleStatuses = []string{rules.Draft, rules.Active, rules.Paused}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(ruleStatuses, status) {
		s.problem(w, r, failure.Field("status", "must be one of %v", ruleStatuses))
		return
	}
	rs, next, err := s.rules.List(r.Context(), actor(r).ProgramID, status, r.URL.Query().Get("event_type"), pg)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, rs, next)
}

func (s *Server) ruleVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.rules.Versions(r.Context(), actor(r).ProgramID, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list(w, vs, "")
}
