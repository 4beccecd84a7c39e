package rules

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/jifen/jifen/internal/failure"
)

// The variables a rule's condition and expression see:
//
//	event   {id, type, occurred_at (timestamp), merchant_id, data}
//	member  {id, external_id, tier, tags, attributes, gender, birthday, region, status, created_at, referred_by}
//	order   {order_id, amount, currency, items: [{sku, category, quantity, amount}]} — empty for other events
//	now     the event's time (timestamp)
//	local   the event's time in the program's zone: {date "YYYY-MM-DD", year, month, day,
//	        weekday (1 = Monday … 7 = Sunday), hour, minute}
//
// Money is in fen, as integers.
var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("member", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("order", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("local", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
		ext.Math(),
	)
	if err != nil {
		panic(err) // only if the declarations above are wrong
	}
	return e
}()

// costLimit bounds the work one evaluation may do (CEL's cost units, about
// one per operation), so an expression over a huge order cannot stall the
// write path.
const costLimit = 100_000

// maxSource bounds the text of a condition or expression.
const maxSource = 4096

// Program is a compiled and type-checked CEL expression.
type Program struct {
	Source string
	prg    cel.Program
}

// CompileCondition compiles a rule condition; it must return a bool. A bad
// expression is failure.Invalid on field with the compiler's message.
func CompileCondition(field, src string) (*Program, error) {
	return compile(field, src, types.BoolType)
}

// CompileExpression compiles a points expression; it must return an int.
func CompileExpression(field, src string) (*Program, error) {
	return compile(field, src, types.IntType)
}

func compile(field, src string, want *types.Type) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, failure.Field(field, "must not be empty")
	}
	if len(src) > maxSource {
		return nil, failure.Field(field, "must be at most %d characters", maxSource)
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, failure.Field(field, "%s", iss.Err().Error())
	}
	out := ast.OutputType()
	if !out.IsExactType(want) && !out.IsExactType(types.DynType) {
		return nil, failure.Field(field, "must return %s, not %s", typeName(want), out)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, failure.Field(field, "%s", err.Error())
	}
	p := &Program{Source: src, prg: prg}
	if out.IsExactType(types.DynType) {
		// The variables are maps of dyn, so `order.amount` type-checks as
		// dyn: run it on a sample order event, and refuse what returns
		// another type there. An expression that fails on the sample (a key
		// only some events carry) is given the benefit of the doubt.
		if v, err := p.eval(context.Background(), probe); err == nil && v.Type() != want {
			return nil, failure.Field(field, "must return %s; on an order it returns %s", typeName(want), v.Type().TypeName())
		}
	}
	return p, nil
}

// probe is a sample order event that a dyn-typed expression is run on at
// save time (built once, before any goroutine can share it).
var probe = (&Input{
	EventID: "evt_probe", Type: "order.paid", OccurredAt: time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC), Location: time.UTC,
	Data:   map[string]any{"order_id": "o-probe", "amount": int64(10000)},
	Member: Member{ID: "mem_probe", Tier: "gold", Tags: []string{"vip"}, Gender: "unknown", Status: "active"},
	Order: &Order{ID: "o-probe", Amount: 10000, Currency: "CNY",
		Items: []Item{{SKU: "sku", Category: "A", Quantity: 1, Amount: 10000}}},
}).Activation()

func typeName(t *types.Type) string {
	switch {
	case t.IsExactType(types.BoolType):
		return "a bool"
	case t.IsExactType(types.IntType):
		return "an int"
	}
	return t.String()
}

// Activation is the variables of one event, built once and shared by every
// rule evaluated for it.
type Activation struct{ act interpreter.Activation }

func (p *Program) eval(ctx context.Context, a Activation) (ref.Val, error) {
	out, _, err := p.prg.ContextEval(ctx, a.act)
	return out, err
}

// Bool evaluates a condition. An evaluation error (a missing key, a type
// mismatch at run time, the cost limit) is returned; callers treat it as
// "does not match".
func (p *Program) Bool(ctx context.Context, a Activation) (bool, error) {
	out, err := p.eval(ctx, a)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %v, not a bool", out.Type())
	}
	return b, nil
}

// Int evaluates a points expression.
func (p *Program) Int(ctx context.Context, a Activation) (int64, error) {
	out, err := p.eval(ctx, a)
	if err != nil {
		return 0, err
	}
	switch v := out.Value().(type) {
	case int64:
		return v, nil
	case uint64:
		return int64(v), nil
	}
	return 0, fmt.Errorf("expression returned %v, not an int", out.Type())
}
