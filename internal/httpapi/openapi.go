package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/null"
)

// buildOpenAPI writes the OpenAPI 3.1 document of the route table. Schemas
// come from the request and response types by reflection, so the document
// cannot drift from the routes or from the JSON the handlers write.
func buildOpenAPI(routes []route, version string) []byte {
	g := &schemaGen{schemas: map[string]any{}, names: map[reflect.Type]string{}}
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
			sch := map[string]any{"type": "string"}
			if q.array {
				sch = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
			}
			params = append(params, map[string]any{"name": q.name, "in": "query", "schema": sch, "description": q.desc})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.in != nil {
			op["requestBody"] = map[string]any{
				"content": map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.in))}},
			}
		}
		resp := map[string]any{"description": http.StatusText(rt.status)}
		if rt.out != nil {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.out))}}
		}
		responses := map[string]any{strconv.Itoa(rt.status): resp}
		if rt.path == "/metrics" {
			resp["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		if rt.path == "/openapi.json" {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		}
		if strings.HasPrefix(rt.path, "/v1/") {
			responses["default"] = map[string]any{
				"description": "An error: problem+json with a stable code",
				"content":     map[string]any{"application/problem+json": map[string]any{"schema": g.ref(reflect.TypeOf(Problem{}))}},
			}
		}
		op["responses"] = responses
		if rt.access == public {
			op["security"] = []any{}
		} else {
			op["x-jifen-roles"] = rolesOf(rt.access)
		}
		if rt.in != nil && rt.method == "POST" {
			op["parameters"] = append(params, map[string]any{
				"name": "Idempotency-Key", "in": "header", "schema": map[string]any{"type": "string", "maxLength": 255},
				"description": "Repeat a request safely: the same key and body replay the first response",
			})
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Jifen API",
			"version":     version,
			"description": "Membership points and loyalty engine. Errors are RFC 9457 problem+json with a stable code.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.schemas,
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
	case operator:
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
	schemas map[string]any
	names   map[reflect.Type]string
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	rawType       = reflect.TypeOf(json.RawMessage{})
	optStringType = reflect.TypeOf(null.String(""))
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
			g.schemas[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
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
		props[name] = g.ref(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
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
