package rules

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/jifen/jifen/internal/failure"
)

// SegmentMember is `member` in a segment's condition: the member's fields.
type SegmentMember struct {
	ID           string         `cel:"id"`
	ExternalID   string         `cel:"external_id"`
	Phone        string         `cel:"phone"`
	Name         string         `cel:"name"`
	Gender       string         `cel:"gender"`
	Birthday     string         `cel:"birthday"`
	Region       string         `cel:"region"`
	Tier         string         `cel:"tier"`
	Tags         []string       `cel:"tags"`
	Attributes   map[string]any `cel:"attributes"`
	Status       string         `cel:"status"`
	ReferralCode string         `cel:"referral_code"`
	ReferredBy   string         `cel:"referred_by"`
	MerchantID   string         `cel:"merchant_id"`
	CreatedAt    time.Time      `cel:"created_at"`
	UpdatedAt    time.Time      `cel:"updated_at"`
}

// SegmentStats is `stats` in a segment's condition: the member's
// statistics, flattened (times are the epoch when there are none).
type SegmentStats struct {
	Orders         int64     `cel:"orders"`
	Spend          int64     `cel:"spend"`
	Refunds        int64     `cel:"refunds"`
	Refunded       int64     `cel:"refunded"`
	FirstOrderAt   time.Time `cel:"first_order_at"`
	LastOrderAt    time.Time `cel:"last_order_at"`
	LastActivityAt time.Time `cel:"last_activity_at"`
	TopCategories  []string  `cel:"top_categories"`
	RFMR           int64     `cel:"rfm_r"`
	RFMF           int64     `cel:"rfm_f"`
	RFMM           int64     `cel:"rfm_m"`
	RFMCell        string    `cel:"rfm_cell"`
	Lifecycle      string    `cel:"lifecycle"`
	Points         int64     `cel:"points"`
	DaysSinceOrder int64     `cel:"days_since_order"`
	DaysSinceJoin  int64     `cel:"days_since_join"`
}

// Segment type names as CEL knows them.
const (
	SegmentMemberType = "rules.SegmentMember"
	SegmentStatsType  = "rules.SegmentStats"
)

var segmentEnv = func() *cel.Env {
	e, err := cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[SegmentMember](), reflect.TypeFor[SegmentStats](), ext.ParseStructTags(true)),
		cel.Variable("member", cel.ObjectType(SegmentMemberType)),
		cel.Variable("stats", cel.ObjectType(SegmentStatsType)),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
		ext.Math(),
	)
	if err != nil {
		panic(err)
	}
	return e
}()

// SegmentCondition is a compiled, type-checked segment condition.
type SegmentCondition struct {
	Source string
	ast    *cel.Ast
	prg    cel.Program
}

// CompileSegment compiles a segment condition over member, stats and now;
// it must return a bool. A bad one is failure.Invalid on field with the
// compiler's message.
func CompileSegment(field, src string) (*SegmentCondition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, failure.Field(field, "must not be empty")
	}
	if len(src) > maxSource {
		return nil, failure.Field(field, "must be at most %d characters", maxSource)
	}
	ast, iss := segmentEnv.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, failure.Field(field, "%s", iss.Err().Error())
	}
	if out := ast.OutputType(); !out.IsExactType(types.BoolType) && !out.IsExactType(types.DynType) {
		return nil, failure.Field(field, "must return a bool, not %s", out)
	}
	prg, err := segmentEnv.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(costLimit))
	if err != nil {
		return nil, failure.Field(field, "%s", err.Error())
	}
	return &SegmentCondition{Source: src, ast: ast, prg: prg}, nil
}

// Expr is the condition's checked syntax tree, with the type of each node
// in Types (for translating it).
func (s *SegmentCondition) Expr() celast.Expr { return s.ast.NativeRep().Expr() }

// TypeOf is the checked type of the node with the given ID.
func (s *SegmentCondition) TypeOf(id int64) *types.Type { return s.ast.NativeRep().GetType(id) }

// Match evaluates the condition for one member. An evaluation error (an
// attribute the member lacks, say) is returned; callers count it as no
// match.
func (s *SegmentCondition) Match(ctx context.Context, m *SegmentMember, st *SegmentStats, now time.Time) (bool, error) {
	act, err := interpreter.NewActivation(map[string]any{"member": m, "stats": st, "now": now})
	if err != nil {
		return false, err
	}
	out, _, err := s.prg.ContextEval(ctx, act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %v, not a bool", out.Type())
	}
	return b, nil
}
