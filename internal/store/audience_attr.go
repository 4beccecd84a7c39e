package store

import (
	"fmt"
	"regexp"
	"unicode/utf8"
)

// AttributeKey is an attribute key a segment may compare in SQL: a CEL
// identifier, so it needs no quoting in a JSON path.
var AttributeKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// attrSQL renders member.attributes.<Field> Cmp Value (an int64, string
// or bool) with CEL's meaning, where an error (a missing key, an ordering
// across types) selects nothing:
//
//   - an int compares (equal or in order) with any JSON number by value,
//     as CEL compares int with double;
//   - a string or bool compares equal only to the same JSON type;
//   - a present value of another type is unequal (heterogeneous
//     equality), and a missing key is neither equal nor unequal.
//
// The caller keeps it out of a negation, where "selects nothing" and
// "false" part ways.
func (c Cond) attrSQL(d *dialect, args *[]any) (string, error) {
	if !AttributeKey.MatchString(c.Field) || !cmpOps[c.Cmp] {
		return "", fmt.Errorf("segment: bad attribute comparison %q %q", c.Field, c.Cmp)
	}
	// typ is the JSON type (NULL when the key is missing); val the value
	// as SQL reads it; num, text, isTrue and isFalse test the type.
	var typ, val, num, text string
	var isTrue, isFalse string
	if d.postgres {
		typ = `json_typeof(m.attributes::json -> ?::text)`
		val = `(m.attributes::json ->> ?::text)`
		num = typ + ` = 'number'`
		text = typ + ` = 'string'`
		isTrue = typ + ` = 'boolean' AND ` + val + ` = 'true'`
		isFalse = typ + ` = 'boolean' AND ` + val + ` = 'false'`
	} else {
		typ = `json_type(m.attributes, ?)`
		val = `json_extract(m.attributes, ?)`
		num = typ + ` IN ('integer', 'real')`
		text = typ + ` = 'text'`
		isTrue = typ + ` = 'true'`
		isFalse = typ + ` = 'false'`
	}
	path := c.Field
	if !d.postgres {
		path = "$." + c.Field
	}
	// The path fills every placeholder but the compared value, which
	// comes last in each form below.
	add := func(sql string, extra ...any) string {
		for range countMarks(sql) - len(extra) {
			*args = append(*args, path)
		}
		*args = append(*args, extra...)
		return sql
	}
	numVal := val
	if d.postgres {
		numVal = `(` + val + `)::numeric`
	}
	switch v := c.Value.(type) {
	case int64:
		switch c.Cmp {
		case "=":
			return add(`CASE WHEN `+num+` THEN `+numVal+` = ? ELSE 1 = 0 END`, v), nil
		case "<>":
			return add(`CASE WHEN `+typ+` IS NULL THEN 1 = 0 WHEN `+num+` THEN `+numVal+` <> ? ELSE 1 = 1 END`, v), nil
		}
		return add(`CASE WHEN `+num+` THEN `+numVal+` `+c.Cmp+` ? ELSE 1 = 0 END`, v), nil
	case string:
		switch c.Cmp {
		case "=":
			return add(`CASE WHEN `+text+` THEN `+val+` = ? ELSE 1 = 0 END`, v), nil
		case "<>":
			return add(`CASE WHEN `+typ+` IS NULL THEN 1 = 0 WHEN `+text+` THEN `+val+` <> ? ELSE 1 = 1 END`, v), nil
		}
	case bool:
		same := isFalse
		if v {
			same = isTrue
		}
		switch c.Cmp {
		case "=":
			return add(`CASE WHEN ` + same + ` THEN 1 = 1 ELSE 1 = 0 END`), nil
		case "<>":
			return add(`CASE WHEN ` + typ + ` IS NULL THEN 1 = 0 WHEN ` + same + ` THEN 1 = 0 ELSE 1 = 1 END`), nil
		}
	}
	return "", fmt.Errorf("segment: attribute %s %s %T does not translate", c.Field, c.Cmp, c.Value)
}

// countMarks counts the placeholders outside string literals.
func countMarks(s string) int {
	n, quoted := 0, false
	for i := range len(s) {
		switch {
		case s[i] == '\'':
			quoted = !quoted
		case s[i] == '?' && !quoted:
			n++
		}
	}
	return n
}

// collate orders text byte by byte, as CEL does (SQLite's default
// already does): for an ordering of text, or of the text field named.
func collate(d *dialect, cmp, field string) string {
	if !d.postgres || cmp == "=" || cmp == "<>" {
		return ""
	}
	if field != "" && !textFields[field] {
		return ""
	}
	return ` COLLATE "C"`
}

// textFields are the audience fields that hold text.
var textFields = map[string]bool{"member.id": true, "member.external_id": true, "member.phone": true, "member.name": true,
	"member.gender": true, "member.birthday": true, "member.region": true, "member.tier": true, "member.status": true,
	"member.referral_code": true, "member.referred_by": true, "member.merchant_id": true, "stats.rfm_cell": true}

// textSQL renders a text field's startsWith, endsWith or contains of a
// non-empty constant, counting in characters as CEL does.
func (c Cond) textSQL(d *dialect, args *[]any) (string, error) {
	col, ok := AudienceFields[c.Field]
	v, isStr := c.Value.(string)
	if !ok || !textFields[c.Field] || !isStr || v == "" {
		return "", fmt.Errorf("segment: bad text test %q %q", c.Field, c.Cmp)
	}
	n := int64(utf8.RuneCountInString(v))
	switch c.Cmp {
	case "startsWith":
		*args = append(*args, n, v)
		return `substr(` + col + `, 1, ?) = ?`, nil
	case "endsWith":
		*args = append(*args, n, v)
		if d.postgres {
			return `right(` + col + `, ?) = ?`, nil
		}
		return `substr(` + col + `, -?) = ?`, nil
	case "contains":
		*args = append(*args, v)
		if d.postgres {
			return `strpos(` + col + `, ?) > 0`, nil
		}
		return `instr(` + col + `, ?) > 0`, nil
	}
	return "", fmt.Errorf("segment: unknown text test %q", c.Cmp)
}
