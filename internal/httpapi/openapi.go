package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/lottery"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/rules"
)

// buildOpenAPI writes the OpenAPI 3.1 document of the route table. Schemas
// come from the request and response types by reflection, so the document
// cannot drift from the routes or from the JSON the handlers write.
func buildOpenAPI(routes []route, version string) []byte {
	g := &schemaGen{schemas: map[string]any{}, responses: map[string]any{}, names: map[reflect.Type]string{}}
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"tags":        []string{rt.tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{
				"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"},
				"description": pathParamDesc[m[1]],
			})
		}
		for _, q := range rt.query {
			sch := queryParamSchema(q.name)
			if q.array {
				sch = map[string]any{"type": "array", "items": sch}
			}
			p := map[string]any{"name": q.name, "in": "query", "schema": sch}
			if q.desc != "" {
				p["description"] = q.desc
			}
			params = append(params, p)
		}
		if takesIdempotencyKey(rt) {
			params = append(params, map[string]any{
				"name": "Idempotency-Key", "in": "header",
				"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
				"description": "Repeat a request safely: the same key with the same method, path and body replays the first " +
					"response (header Idempotent-Replayed: true) and changes nothing; the same key with another request is " +
					"409 idempotency_conflict. Keys are scoped to the key's program and kept 8 days.",
			})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.in != nil {
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.in))}},
			}
		}
		resp := map[string]any{"description": http.StatusText(rt.status)}
		if rt.out != nil {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.out))}}
		}
		if takesIdempotencyKey(rt) {
			resp["headers"] = map[string]any{"Idempotent-Replayed": map[string]any{
				"description": "true when this is the stored response of an earlier request with the same Idempotency-Key",
				"schema":      map[string]any{"type": "string", "enum": []string{"true"}},
			}}
		}
		responses := map[string]any{strconv.Itoa(rt.status): resp}
		if extra, ok := extraSuccess[rt.method+" "+rt.path]; ok {
			r2 := map[string]any{"description": extra.desc}
			if c, ok := resp["content"]; ok {
				r2["content"] = c
			}
			responses[strconv.Itoa(extra.status)] = r2
		}
		switch rt.path {
		case "/metrics":
			resp["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		case "/v1/join-links/{id}/qr.png":
			resp["content"] = map[string]any{"image/png": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		case "/v1/join-links/{id}/qr.svg":
			resp["content"] = map[string]any{"image/svg+xml": map[string]any{"schema": map[string]any{"type": "string"}}}
		case "/openapi.json":
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		case "/readyz":
			responses["503"] = map[string]any{
				"description": "Not ready: the database cannot be reached or migrations are not current (Retry-After: 1)",
				"content":     resp["content"],
			}
		}
		for status, kinds := range groupByStatus(routeErrors(rt)) {
			responses[strconv.Itoa(status)] = g.errorResponse(kinds)
		}
		op["responses"] = responses
		if rt.access == public {
			op["security"] = []any{}
		} else {
			op["x-jifen-roles"] = rolesOf(rt.access)
		}
		switch rt.member { // what a member token (jmt_…) may do here, for "me"
		case memberRead:
			op["x-jifen-member-token"] = "read"
		case memberAct:
			op["x-jifen-member-token"] = "act"
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Jifen API",
			"version": version,
			"description": "Membership points and loyalty engine. JSON in and out; errors are RFC 9457 " +
				"application/problem+json with a stable code. docs/api.md in the repository is the reference in prose.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":   g.schemas,
			"responses": g.responses,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API key"},
			},
		},
		"security": []any{map[string]any{"bearer": []string{}}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // only if a schema holds something json cannot write
	}
	return b
}

// Error responses. Each route lists every status it may answer with and,
// for each, the codes (failure kinds) that status carries. Most follow
// from the route's attributes:
//
//   - a /v1 route that needs a key: 401 unauthenticated; one that needs an
//     admin or merchant key: 403 forbidden (so does any request body with a
//     merchant_id, which a merchant key may not set to another merchant);
//   - a path parameter, or a body that names a member: 404 not_found;
//   - a request body: 400 bad_request (malformed JSON, a duplicate key,
//     invalid UTF-8), 413 payload_too_large and 422 validation_failed;
//     query parameters: 422 validation_failed (a bad limit, say);
//   - a write (any method but GET, except the read-only POSTs below): 400
//     bad_request for a malformed Idempotency-Key, 413, and 409
//     idempotency_conflict;
//   - every /v1 route but /v1/ping reads the database: 503 unavailable.
//
// The rest are domain outcomes that no attribute shows (insufficient
// points, a hold already captured, ...): domainErrors lists them per route.
// Every route may answer 500 internal.

// readOnlyPosts are POST routes that take no Idempotency-Key: those that
// change nothing, and the console's login and logout (a session is not
// replayed).
var readOnlyPosts = map[string]bool{
	"POST /v1/events/simulate":               true,
	"POST /v1/rules/validate":                true,
	"POST /v1/checkout/quote":                true,
	"POST /v1/coupons/{code}/validate":       true,
	"POST /v1/console/login":                 true,
	"POST /v1/console/logout":                true,
	"POST /v1/segments/preview":              true,
	"POST /v1/message-templates/{id}/render": true,
}

// extraSuccess is a second success status of a route.
var extraSuccess = map[string]struct {
	status int
	desc   string
}{
	"POST /v1/events":       {200, "A repeat of an event id: the first result, nothing changed"},
	"POST /v1/join/confirm": {200, "The phone's member already: a token, created false, no gift"},
}

// domainErrors are the refusals of each route's operation beyond those
// derived from its attributes.
var domainErrors = map[string][]failure.Kind{
	"POST /v1/members":                        {failure.MemberExists},
	"PATCH /v1/members/{member}":              {failure.MemberExists, failure.Conflict},
	"POST /v1/members/{member}/freeze":        {failure.Conflict},
	"POST /v1/members/{member}/unfreeze":      {failure.Conflict},
	"POST /v1/members/{member}/points/earn":   {failure.Conflict},
	"POST /v1/members/{member}/points/spend":  {failure.Conflict, failure.InsufficientPoints},
	"POST /v1/members/{member}/points/adjust": {failure.Conflict, failure.InsufficientPoints},
	"POST /v1/members/{member}/holds":         {failure.Conflict, failure.InsufficientPoints},
	"POST /v1/holds/{id}/capture":             {failure.Conflict},
	"POST /v1/holds/{id}/release":             {failure.Conflict},
	"POST /v1/transactions/{id}/reverse":      {failure.Conflict, failure.LimitExceeded, failure.InsufficientPoints},
	"POST /v1/events":                         {failure.Conflict, failure.LimitExceeded},
	"POST /v1/events/simulate":                {failure.Conflict, failure.LimitExceeded},
	"POST /v1/members/{member}/tier/upgrade":  {failure.Conflict, failure.InsufficientPoints},
	"POST /v1/members/{member}/checkins":      {failure.Conflict},
	"GET /v1/checkin":                         {failure.NotFound},
	"GET /v1/referral":                        {failure.NotFound},
	"POST /v1/redemptions":                    {failure.Conflict, failure.InsufficientPoints, failure.LimitExceeded, failure.OutOfStock, failure.NotStarted, failure.Ended, failure.Forbidden},
	"POST /v1/redemptions/{id}/fulfil":        {failure.Conflict},
	"POST /v1/redemptions/{id}/cancel":        {failure.Conflict},
	"POST /v1/checkout/quote":                 {failure.NotFound},
	"POST /v1/coupon-templates/{id}/claim":    {failure.Conflict, failure.InsufficientPoints, failure.LimitExceeded, failure.OutOfStock, failure.NotStarted, failure.Ended},
	"POST /v1/coupons/{code}/redeem":          {failure.Conflict, failure.NotStarted, failure.Ended},
	"POST /v1/coupons/{code}/unredeem":        {failure.Conflict},
	"POST /v1/coupons/{code}/transfer":        {failure.Conflict},
	"POST /v1/lotteries/{id}/draws":           {failure.Conflict, failure.InsufficientPoints, failure.LimitExceeded, failure.NotStarted, failure.Ended},
	"POST /v1/console/login":                  {failure.InvalidCredentials, failure.AccountLocked},
	"POST /v1/operators":                      {failure.Conflict},
	"POST /v1/operators/{id}/disable":         {failure.Conflict},
	"POST /v1/join/otp":                       {failure.NotFound, failure.RateLimited},
	"POST /v1/join/confirm":                   {failure.NotFound, failure.Conflict, failure.OTPInvalid, failure.OTPExpired},
}

// routeErrors lists the error kinds a route may answer with.
func routeErrors(rt route) []failure.Kind {
	if !strings.HasPrefix(rt.path, "/v1/") {
		return nil // health, metrics and this document: no problem+json
	}
	key := rt.method + " " + rt.path
	var ks []failure.Kind
	add := func(k ...failure.Kind) { ks = append(ks, k...) }
	if rt.access != public {
		add(failure.Unauthenticated)
		if rt.access != anyRole {
			add(failure.Forbidden)
		}
		if rt.method != "GET" {
			add(failure.CSRFFailed) // a console session's write without its token
		}
	}
	var body map[string]bool
	if rt.in != nil {
		body = jsonFields(reflect.TypeOf(rt.in))
		add(failure.BadRequest, failure.PayloadTooLarge, failure.Invalid)
		if body["merchant_id"] {
			add(failure.Forbidden)
		}
	}
	if pathParam.MatchString(rt.path) || body["member"] {
		add(failure.NotFound)
	}
	if len(rt.query) > 0 {
		add(failure.Invalid)
	}
	if takesIdempotencyKey(rt) {
		add(failure.BadRequest, failure.PayloadTooLarge, failure.IdempotencyConflict)
	}
	add(domainErrors[key]...)
	if rt.path != "/v1/ping" {
		add(failure.Unavailable)
	}
	add(failure.Internal)
	slices.Sort(ks)
	return slices.Compact(ks)
}

// takesIdempotencyKey: every /v1 write honours an Idempotency-Key.
func takesIdempotencyKey(rt route) bool {
	return strings.HasPrefix(rt.path, "/v1/") && rt.method != "GET" && !readOnlyPosts[rt.method+" "+rt.path]
}

// jsonFields names the JSON fields of a request type (of its elements,
// for an array).
func jsonFields(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for n := range jsonFields(f.Type) {
				out[n] = true
			}
			continue
		}
		if f.IsExported() && name != "-" {
			if name == "" {
				name = f.Name
			}
			out[name] = true
		}
	}
	return out
}

func groupByStatus(ks []failure.Kind) map[int][]failure.Kind {
	out := map[int][]failure.Kind{}
	for _, k := range ks {
		out[k.Status()] = append(out[k.Status()], k)
	}
	return out
}

// kindDesc says when each code is answered.
var kindDesc = map[failure.Kind]string{
	failure.Internal:            "internal: an unexpected error, logged with the request ID; nothing is shown of its cause",
	failure.Invalid:             "validation_failed: errors[] names each bad field (a value of the wrong JSON type too; nothing is coerced)",
	failure.NotFound:            "not_found: no such object in the key's program (or one another merchant owns)",
	failure.Conflict:            "conflict: the object's state does not allow it",
	failure.InsufficientPoints:  "insufficient_points: fewer points are available than asked",
	failure.LimitExceeded:       "limit_exceeded: a per-member or reversal limit would be passed",
	failure.OutOfStock:          "out_of_stock: nothing left to take",
	failure.NotStarted:          "not_started: before the time window opens",
	failure.Ended:               "ended: after the time window closed",
	failure.MemberExists:        "member_exists: external_id or phone already belongs to a member",
	failure.IdempotencyConflict: "idempotency_conflict: the Idempotency-Key was used for a different request",
	failure.Forbidden:           "forbidden: the key's role may not do this (or a merchant key named another merchant)",
	failure.Unavailable:         "unavailable: the database cannot be reached; retry after Retry-After seconds with the same Idempotency-Key",
	failure.BadRequest:          "bad_request: the body is not one well-formed JSON value (a duplicate key, invalid UTF-8) or the Idempotency-Key header is malformed",
	failure.PayloadTooLarge:     "payload_too_large: the body is larger than the server's limit (JIFEN_MAX_BODY, default 1 MiB)",
	failure.Unauthenticated:     "unauthenticated: no Authorization header, or not a valid API key",
	failure.MethodNotAllowed:    "method_not_allowed: the path exists with other methods (Allow header)",
	failure.RateLimited:         "rate_limited: too many requests; retry after Retry-After seconds",
	failure.OTPInvalid:          "otp_invalid: the code is wrong",
	failure.OTPExpired:          "otp_expired: the code expired, was used or was tried 5 times: ask for a new one",
}

// errorResponse is the response of one error status: a Problem whose code
// is one of kinds. Each set of codes is one component of
// #/components/responses, named by its status and codes.
func (g *schemaGen) errorResponse(kinds []failure.Kind) map[string]any {
	name := strconv.Itoa(kinds[0].Status())
	for _, k := range kinds {
		name += "_" + k.Code()
	}
	if _, done := g.responses[name]; !done {
		g.responses[name] = g.newErrorResponse(kinds)
	}
	return map[string]any{"$ref": "#/components/responses/" + name}
}

func (g *schemaGen) newErrorResponse(kinds []failure.Kind) map[string]any {
	codes := make([]string, len(kinds))
	descs := make([]string, len(kinds))
	for i, k := range kinds {
		codes[i] = k.Code()
		descs[i] = kindDesc[k]
	}
	resp := map[string]any{
		"description": strings.Join(descs, "; "),
		"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{
			"allOf": []any{
				g.ref(reflect.TypeOf(Problem{})),
				map[string]any{"properties": map[string]any{"code": map[string]any{"enum": codes}}},
			},
		}}},
	}
	if st := kinds[0].Status(); st == http.StatusServiceUnavailable || st == http.StatusTooManyRequests {
		resp["headers"] = map[string]any{"Retry-After": map[string]any{
			"description": "seconds to wait before retrying", "schema": map[string]any{"type": "integer", "minimum": 1},
		}}
	}
	return resp
}

// queryParamSchema is the schema of a query parameter.
func queryParamSchema(name string) map[string]any {
	switch name {
	case "limit":
		return map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
	case "cursor":
		return map[string]any{"type": "string", "maxLength": 64}
	}
	return map[string]any{"type": "string"}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

var pathParamDesc = map[string]string{
	"member": "a member ID (mem_…) or ext:<external_id>",
	"id":     "the object's ID",
	"code":   "a coupon code",
}

func rolesOf(a access) []string {
	switch a {
	case admin:
		return []string{"admin"}
	case operates:
		return []string{"admin", "merchant"}
	}
	return []string{"admin", "merchant", "readonly"}
}

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.method)}
	for _, seg := range strings.Split(strings.Trim(rt.path, "/"), "/") {
		seg = strings.Trim(seg, "{}")
		seg = strings.NewReplacer("-", "_", ".", "_").Replace(seg)
		if seg != "v1" && seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "_")
}

type schemaGen struct {
	schemas   map[string]any
	responses map[string]any
	names     map[reflect.Type]string
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	rawType       = reflect.TypeOf(json.RawMessage{})
	optStringType = reflect.TypeOf(null.String(""))
	rateType      = reflect.TypeOf(rules.Rate{})
)

// ref returns a schema for t, registering named structs as components.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawType:
		return map[string]any{"description": "any JSON value"}
	case optStringType:
		return map[string]any{"type": []string{"string", "null"}}
	case rateType:
		return map[string]any{"type": "string", "pattern": `^[0-9]{1,9}(\.[0-9]{1,6})?$`,
			"description": "a decimal string such as \"1.5\" (at most 6 decimals); rates and multipliers never cross the API as floats"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.ref(t.Elem())
		if _, isRef := s["$ref"]; isRef {
			return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
		}
		out := map[string]any{}
		for k, v := range s {
			out[k] = v
		}
		if typ, ok := out["type"].(string); ok {
			out["type"] = []string{typ, "null"}
		}
		return out
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := g.name(t)
		if _, done := g.schemas[name]; !done {
			g.schemas[name] = map[string]any{} // placeholder against recursion
			obj := g.object(t)
			if patch := schemaPatches[t]; patch != nil {
				patch(obj)
			}
			g.schemas[name] = obj
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// schemaPatches describe what a type's own MarshalJSON or UnmarshalJSON
// does beyond its fields' tags.
var schemaPatches = map[reflect.Type]func(obj map[string]any){
	reflect.TypeOf(rules.Reward{}): func(obj map[string]any) {
		obj["properties"].(map[string]any)["points"] = map[string]any{
			"anyOf":       []any{map[string]any{"type": "integer", "format": "int64"}, map[string]any{"type": "string"}},
			"description": "fixed and per_amount: the points (an integer); expression: a CEL expression returning an int",
		}
	},
	reflect.TypeOf(lottery.Fallback{}): func(obj map[string]any) {
		props := obj["properties"].(map[string]any)
		delete(props, "weight")
		delete(props, "stock")
		obj["required"] = []string{"name"}
		obj["description"] = "the prize of a draw when no prize is in stock: a prize without weight or stock, or its name alone as a string"
	},
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		if _, seen := props[name]; seen {
			continue // a shallower field of the same name wins, as in encoding/json
		}
		sch, c := g.ref(f.Type), parseAPITag(t, f)
		props[name] = c.apply(sch, f.Tag.Get("doc"))
		req := !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero")
		if c.required || req && !c.optional {
			*required = append(*required, name)
		}
	}
}

// The api struct tag documents the checks a request type's Validate
// method makes, as JSON Schema keywords in the OpenAPI document. It is a
// comma-separated list of these, in any order (pattern last):
//
//	min=N, max=N          minimum, maximum of a number (N an integer, or
//	                      MaxPoints / MaxAmount / -MaxPoints for the
//	                      bounds of package input)
//	minlen=N, maxlen=N    minLength, maxLength of a string, in characters
//	minitems=N, maxitems=N  minItems, maxItems of an array
//	enum=a|b|c            the allowed values of a string
//	format=F              format of a string: date-time (RFC 3339 with
//	                      an offset), date (YYYY-MM-DD), …
//	nonzero               a number other than 0
//	default=V             the value an absent field means (JSON if V
//	                      parses as JSON, else a string)
//	required              required even though the field has omitempty
//	optional              not required in a request even though the
//	                      field has no omitempty (it is always written in
//	                      responses)
//	pattern=RE            a regular expression the string matches; it
//	                      takes the rest of the tag, commas included
//
// For example:
//
//	Points int64   `json:"points" api:"min=1,max=MaxPoints"`
//	Gender *string `json:"gender,omitempty" api:"enum=male|female|unknown"`
//
// A field may also carry doc:"…", its description. The Validate methods
// stay the truth; TestOpenAPIConstraints checks that every numeric bound
// documented on a request type is the one its Validate enforces. A tag
// that does not parse panics when the server builds its document, so
// every test that starts a server catches it.
type apiTag struct {
	keywords           map[string]any
	required, optional bool
}

var namedBounds = map[string]int64{
	"MaxPoints": input.MaxPoints, "-MaxPoints": -input.MaxPoints, "MaxAmount": input.MaxAmount,
}

func parseAPITag(owner reflect.Type, f reflect.StructField) apiTag {
	c := apiTag{keywords: map[string]any{}}
	tag, ok := f.Tag.Lookup("api")
	if !ok {
		return c
	}
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("openapi: %s.%s: api tag %q: %s", owner, f.Name, tag, fmt.Sprintf(format, args...)))
	}
	num := func(v string) int64 {
		if n, ok := namedBounds[v]; ok {
			return n
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad("%q is not an integer", v)
		}
		return n
	}
	rest := tag
	for rest != "" {
		var item string
		if strings.HasPrefix(rest, "pattern=") {
			item, rest = rest, ""
		} else {
			item, rest, _ = strings.Cut(rest, ",")
		}
		k, v, hasValue := strings.Cut(item, "=")
		switch k {
		case "min":
			c.keywords["minimum"] = num(v)
		case "max":
			c.keywords["maximum"] = num(v)
		case "minlen":
			c.keywords["minLength"] = num(v)
		case "maxlen":
			c.keywords["maxLength"] = num(v)
		case "minitems":
			c.keywords["minItems"] = num(v)
		case "maxitems":
			c.keywords["maxItems"] = num(v)
		case "enum":
			c.keywords["enum"] = strings.Split(v, "|")
		case "format":
			c.keywords["format"] = v
		case "pattern":
			if _, err := regexp.Compile(v); err != nil {
				bad("pattern: %v", err)
			}
			c.keywords["pattern"] = v
		case "default":
			var d any
			if json.Unmarshal([]byte(v), &d) != nil {
				d = v
			}
			c.keywords["default"] = d
		case "nonzero":
			c.keywords["not"] = map[string]any{"const": 0}
		case "required":
			c.required = true
		case "optional":
			c.optional = true
		default:
			bad("unknown key %q", k)
		}
		if hasValue != (k != "nonzero" && k != "required" && k != "optional") {
			bad("%q takes %s value", k, map[bool]string{true: "a", false: "no"}[!hasValue])
		}
	}
	return c
}

// apply adds the tag's keywords (and a description) to a field's schema.
// A reference gets them beside it, under allOf.
func (c apiTag) apply(sch map[string]any, doc string) map[string]any {
	if len(c.keywords) == 0 && doc == "" {
		return sch
	}
	out := map[string]any{}
	if _, isRef := sch["$ref"]; isRef {
		out["allOf"] = []any{sch}
	} else {
		for k, v := range sch {
			out[k] = v
		}
	}
	for k, v := range c.keywords {
		out[k] = v
	}
	if doc != "" {
		out["description"] = doc
	}
	if e, ok := out["enum"].([]string); ok {
		if ts, nullable := out["type"].([]string); nullable && slices.Contains(ts, "null") {
			vals := make([]any, 0, len(e)+1)
			for _, v := range e {
				vals = append(vals, v)
			}
			out["enum"] = append(vals, nil)
		}
	}
	return out
}

var genericArgs = regexp.MustCompile(`\[(.*)\]`)

// name gives a struct a component name: its Go name, with the package
// when two packages use the same one, and generics spelled out.
func (g *schemaGen) name(t reflect.Type) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	n := t.Name()
	if m := genericArgs.FindStringSubmatch(n); m != nil {
		arg := m[1]
		arg = arg[strings.LastIndex(arg, "/")+1:]
		arg = strings.ReplaceAll(arg, ".", "_")
		n = n[:strings.Index(n, "[")] + "_" + arg
	}
	if n == "" {
		n = "Anonymous"
	}
	n = strings.ToUpper(n[:1]) + n[1:]
	for _, other := range g.names {
		if other == n {
			pkg := t.PkgPath()
			n = pkg[strings.LastIndex(pkg, "/")+1:] + "_" + n
			break
		}
	}
	g.names[t] = n
	return n
}
