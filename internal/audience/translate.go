package audience

import (
	"bytes"
	"encoding/json"
	"time"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/jifen/jifen/internal/store"
)

// translator turns the common part of a segment condition into a
// store.Cond: comparisons of member and stats fields with constants (or
// one another), &&, ||, !, `in` lists, tags, the derived day counts and
// the lifecycle stage, with now, timestamps and durations folded into
// constants. cond returns a superset of the members the condition meets
// and whether it is exact; what does not translate is true there and left
// to CEL.
type translator struct {
	now      time.Time
	loc      *time.Location
	settings Settings
	neg      int // how many negations enclose the condition being translated
	// sealed: personal fields are encrypted at rest, so SQL cannot compare
	// them; conditions on them are left to CEL, which sees them opened.
	sealed bool
}

// sealedFields are the member fields encrypted at rest (with attributes).
var sealedFields = map[string]bool{"member.external_id": true, "member.phone": true, "member.name": true, "member.birthday": true}

// field kinds.
const (
	kInt = iota + 1
	kString
	kTime
	kTags
	kDaysOrder
	kDaysJoin
	kLifecycle
	kAttr     // member.attributes.<key>
	kTagCount // size(member.tags)
)

// term is a translated value: a field, or a constant.
type term struct {
	field string
	kind  int
	val   any // int64, string, bool, time.Time, time.Duration when field == ""
	key   string
}

var timeFields = map[string]bool{"member.created_at": true, "member.updated_at": true, "stats.first_order_at": true,
	"stats.last_order_at": true, "stats.last_activity_at": true}

var intFields = map[string]bool{"stats.orders": true, "stats.spend": true, "stats.refunds": true, "stats.refunded": true,
	"stats.rfm_r": true, "stats.rfm_f": true, "stats.rfm_m": true, "stats.points": true}

var yes = store.Cond{Op: "true"}

func (t *translator) cond(e celast.Expr) (store.Cond, bool) {
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := e.AsLiteral().Value().(bool); ok {
			if b {
				return yes, true
			}
			return store.Cond{Op: "false"}, true
		}
		return yes, false
	case celast.CallKind:
	default:
		return yes, false
	}
	c := e.AsCall()
	args := c.Args()
	switch c.FunctionName() {
	case "_&&_", "_||_":
		a, ea := t.cond(args[0])
		b, eb := t.cond(args[1])
		op := "and"
		if c.FunctionName() == "_||_" {
			op = "or"
			if !ea || !eb {
				return yes, false
			}
		}
		return store.Cond{Op: op, Args: []store.Cond{a, b}}, ea && eb
	case "!_":
		t.neg++
		a, ea := t.cond(args[0])
		t.neg--
		if !ea {
			return yes, false
		}
		return store.Cond{Op: "not", Args: []store.Cond{a}}, true
	case "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_":
		l, ok1 := t.term(args[0])
		r, ok2 := t.term(args[1])
		if !ok1 || !ok2 {
			return yes, false
		}
		op := cmpOf[c.FunctionName()]
		if l.field == "" && r.field != "" {
			l, r, op = r, l, flip[op]
		}
		return t.compare(l, op, r)
	case "startsWith", "endsWith", "contains":
		if !c.IsMemberFunction() || len(args) != 1 {
			return yes, false
		}
		l, ok1 := t.term(c.Target())
		r, ok2 := t.term(args[0])
		v, isStr := r.val.(string)
		if !ok1 || !ok2 || l.kind != kString || r.field != "" || !isStr {
			return yes, false
		}
		if v == "" {
			return yes, true
		}
		return store.Cond{Op: "text", Field: l.field, Cmp: c.FunctionName(), Value: v}, true
	case "@in":
		l, ok := t.term(args[0])
		if !ok {
			return yes, false
		}
		if args[1].Kind() == celast.ListKind && l.field != "" && (l.kind == kInt || l.kind == kString) {
			var vals []any
			for _, el := range args[1].AsList().Elements() {
				v, ok := t.term(el)
				if !ok || v.field != "" || !sameKind(l.kind, v.val) {
					return yes, false
				}
				vals = append(vals, v.val)
			}
			return store.Cond{Op: "in", Field: l.field, Values: vals}, true
		}
		r, ok := t.term(args[1])
		if ok && r.kind == kTags && l.field == "" {
			if s, isStr := l.val.(string); isStr {
				return store.Cond{Op: "tag", Value: s}, true
			}
		}
	}
	return yes, false
}

var cmpOf = map[string]string{"_==_": "=", "_!=_": "<>", "_<_": "<", "_<=_": "<=", "_>_": ">", "_>=_": ">="}
var flip = map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

func sameKind(kind int, v any) bool {
	switch v.(type) {
	case int64:
		return kind == kInt
	case string:
		return kind == kString
	}
	return false
}

// compare translates field op (constant or field).
func (t *translator) compare(l term, op string, r term) (store.Cond, bool) {
	if l.field == "" {
		return yes, false // two constants: CEL folds or evaluates them
	}
	switch l.kind {
	case kAttr:
		return t.attr(l, op, r)
	case kTagCount:
		if n, ok := r.val.(int64); ok && r.field == "" {
			return store.Cond{Op: "tags", Cmp: op, Value: n}, true
		}
		return yes, false
	}
	if r.field != "" {
		if l.kind == r.kind && (l.kind == kInt || l.kind == kString || l.kind == kTime) {
			return store.Cond{Op: "cmp", Field: l.field, Cmp: op, Other: r.field}, true
		}
		return yes, false
	}
	switch l.kind {
	case kInt, kString:
		if !sameKind(l.kind, r.val) {
			return yes, false
		}
		return store.Cond{Op: "cmp", Field: l.field, Cmp: op, Value: r.val}, true
	case kTime:
		ts, ok := r.val.(time.Time)
		if !ok || ts.Truncate(time.Millisecond) != ts {
			return yes, false
		}
		return store.Cond{Op: "cmp", Field: l.field, Cmp: op, Value: ts.UnixMilli()}, true
	case kDaysOrder, kDaysJoin:
		n, ok := r.val.(int64)
		if !ok || n > 100000 || n < -100000 {
			return yes, false
		}
		field := "member.created_at"
		if l.kind == kDaysOrder {
			field = "stats.last_order_at"
		}
		rng := t.days(field, op, n)
		if l.kind == kDaysJoin {
			return rng, true
		}
		// No order: days_since_order is −1.
		none := store.Cond{Op: "false"}
		if cmpInt(-1, op, n) {
			none = yes
		}
		return store.Cond{Op: "or", Args: []store.Cond{
			{Op: "and", Args: []store.Cond{{Op: "cmp", Field: field, Cmp: "<>", Value: int64(0)}, rng}},
			{Op: "and", Args: []store.Cond{{Op: "cmp", Field: field, Cmp: "=", Value: int64(0)}, none}},
		}}, true
	case kLifecycle:
		s, ok := r.val.(string)
		if !ok || (op != "=" && op != "<>") {
			return yes, false
		}
		c := t.lifecycle(s)
		if op == "<>" {
			c = store.Cond{Op: "not", Args: []store.Cond{c}}
		}
		return c, true
	}
	return yes, false
}

// attr translates member.attributes.<key> op constant. Where CEL errs (a
// missing key, an ordering across types) the SQL selects nothing, which
// is what an error means at the top of a condition and under && and ||,
// but not under a negation: there it is left to CEL.
func (t *translator) attr(l term, op string, r term) (store.Cond, bool) {
	if r.field != "" || t.neg > 0 {
		return yes, false
	}
	switch r.val.(type) {
	case int64:
	case string, bool:
		if op != "=" && op != "<>" {
			return yes, false
		}
	default:
		return yes, false
	}
	return store.Cond{Op: "attr", Field: l.key, Cmp: op, Value: r.val}, true
}

func cmpInt(a int64, op string, b int64) bool {
	switch op {
	case "=":
		return a == b
	case "<>":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	}
	return a >= b
}

// days translates "whole local days since field" op n into times: the
// days are n exactly when field is in [B(n), B(n−1)), B(k) the start of
// the local day k days before today.
func (t *translator) days(field, op string, n int64) store.Cond {
	b := func(k int64) int64 { return dayStart(t.now, t.loc, k).UnixMilli() }
	c := func(cmp string, v int64) store.Cond { return store.Cond{Op: "cmp", Field: field, Cmp: cmp, Value: v} }
	switch op {
	case ">=":
		return c("<", b(n-1))
	case ">":
		return c("<", b(n))
	case "<=":
		return c(">=", b(n))
	case "<":
		return c(">=", b(n-1))
	}
	eq := store.Cond{Op: "and", Args: []store.Cond{c(">=", b(n)), c("<", b(n-1))}}
	if op == "<>" {
		return store.Cond{Op: "not", Args: []store.Cond{eq}}
	}
	return eq
}

// lifecycle translates stats.lifecycle == s.
func (t *translator) lifecycle(s string) store.Cond {
	bd := bounds(t.settings, t.now, t.loc)
	c := func(f, cmp string, v any) store.Cond { return store.Cond{Op: "cmp", Field: f, Cmp: cmp, Value: v} }
	and := func(cs ...store.Cond) store.Cond { return store.Cond{Op: "and", Args: cs} }
	notNew := c("member.created_at", "<", bd.NewSince.UnixMilli())
	ordered := c("stats.last_order_at", "<>", int64(0))
	last := "stats.last_order_at"
	switch s {
	case New:
		return c("member.created_at", ">=", bd.NewSince.UnixMilli())
	case Zombie:
		return and(notNew, c(last, "=", int64(0)))
	case Active:
		return and(notNew, ordered, c(last, ">=", bd.ActiveSince.UnixMilli()))
	case AtRisk:
		return and(notNew, ordered, c(last, "<", bd.ActiveSince.UnixMilli()), c(last, ">=", bd.AtRiskSince.UnixMilli()))
	case Dormant:
		return and(notNew, ordered, c(last, "<", bd.AtRiskSince.UnixMilli()))
	}
	return store.Cond{Op: "false"}
}

// term translates a value: a field of member or stats, now, a literal,
// duration("…") or timestamp("…"), and + or − of constants.
func (t *translator) term(e celast.Expr) (term, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		if e.AsIdent() == "now" {
			return term{val: t.now}, true
		}
	case celast.LiteralKind:
		switch v := e.AsLiteral().Value().(type) {
		case int64, string, bool:
			return term{val: v}, true
		}
	case celast.SelectKind:
		s := e.AsSelect()
		if !s.IsTestOnly() && isAttributes(s.Operand()) && store.AttributeKey.MatchString(s.FieldName()) && !t.sealed {
			return term{field: "member.attributes", kind: kAttr, key: s.FieldName()}, true
		}
		if s.IsTestOnly() || s.Operand().Kind() != celast.IdentKind {
			return term{}, false
		}
		name := s.Operand().AsIdent() + "." + s.FieldName()
		switch {
		case name == "member.tags":
			return term{field: name, kind: kTags}, true
		case name == "stats.days_since_order":
			return term{field: name, kind: kDaysOrder}, true
		case name == "stats.days_since_join":
			return term{field: name, kind: kDaysJoin}, true
		case name == "stats.lifecycle":
			return term{field: name, kind: kLifecycle}, true
		case timeFields[name]:
			return term{field: name, kind: kTime}, true
		case intFields[name]:
			return term{field: name, kind: kInt}, true
		}
		if _, ok := store.AudienceFields[name]; ok && !(t.sealed && sealedFields[name]) {
			return term{field: name, kind: kString}, true
		}
	case celast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch c.FunctionName() {
		case "size":
			x := c.Target()
			if !c.IsMemberFunction() && len(args) == 1 {
				x = args[0]
			} else if !c.IsMemberFunction() || len(args) != 0 {
				return term{}, false
			}
			if f, ok := t.term(x); ok && f.kind == kTags {
				return term{field: "size(member.tags)", kind: kTagCount}, true
			}
			return term{}, false
		case "duration", "timestamp":
			if len(args) != 1 || args[0].Kind() != celast.LiteralKind || c.IsMemberFunction() {
				return term{}, false
			}
			s, ok := args[0].AsLiteral().Value().(string)
			if !ok {
				return term{}, false
			}
			if c.FunctionName() == "duration" {
				v := types.String(s).ConvertToType(types.DurationType)
				if d, ok := v.Value().(time.Duration); ok {
					return term{val: d}, true
				}
				return term{}, false
			}
			ts, err := time.Parse(time.RFC3339Nano, s)
			return term{val: ts.UTC()}, err == nil
		case "_+_", "_-_":
			a, ok1 := t.term(args[0])
			b, ok2 := t.term(args[1])
			if !ok1 || !ok2 || a.field != "" || b.field != "" {
				return term{}, false
			}
			sign := time.Duration(1)
			if c.FunctionName() == "_-_" {
				sign = -1
			}
			switch x := a.val.(type) {
			case time.Time:
				if d, ok := b.val.(time.Duration); ok {
					return term{val: x.Add(sign * d)}, true
				}
			case time.Duration:
				if d, ok := b.val.(time.Duration); ok {
					return term{val: x + sign*d}, true
				}
				if ts, ok := b.val.(time.Time); ok && sign == 1 {
					return term{val: ts.Add(x)}, true
				}
			}
		}
	}
	return term{}, false
}

// isAttributes says whether e is member.attributes.
func isAttributes(e celast.Expr) bool {
	if e.Kind() != celast.SelectKind {
		return false
	}
	s := e.AsSelect()
	return !s.IsTestOnly() && s.FieldName() == "attributes" && s.Operand().Kind() == celast.IdentKind && s.Operand().AsIdent() == "member"
}

// decodeAttrs reads a member's attributes for CEL: whole numbers as int,
// others as double.
func decodeAttrs(raw []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || m == nil {
		return map[string]any{}
	}
	for k, v := range m {
		m[k] = numbers(v)
	}
	return m
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
