package store

import (
	"strconv"
	"strings"
	"sync"
)

// dialect holds what differs between SQLite and PostgreSQL. Queries are
// written once with ? placeholders and /*lock*/ markers and rendered for
// the dialect the first time they are used.
type dialect struct {
	postgres bool
	cache    sync.Map // query text → rendered text
}

func (d *dialect) name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// render turns a portable query into this dialect's text: ? becomes $n on
// PostgreSQL, /*lock*/ becomes FOR UPDATE there (SQLite's one writer
// already serializes) and /*share*/ becomes FOR SHARE.
func (d *dialect) render(q string) string {
	if !d.postgres {
		return q
	}
	if r, ok := d.cache.Load(q); ok {
		return r.(string)
	}
	r := strings.Replace(q, "/*lock*/", "FOR UPDATE", 1)
	r = strings.Replace(r, "/*lock b*/", "FOR UPDATE OF b", 1)
	r = strings.Replace(r, "/*share*/", "FOR SHARE", 1)
	r = numberPlaceholders(r)
	d.cache.Store(q, r)
	return r
}

// numberPlaceholders rewrites ? to $1, $2, … outside string literals.
func numberPlaceholders(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	inString := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inString = !inString
			b.WriteByte(c)
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// placeholders returns "(?, ?, …), (…)" for rows rows of cols values, for
// multi-row inserts.
func placeholders(rows, cols int) string {
	var b strings.Builder
	one := "(" + strings.Repeat("?, ", cols-1) + "?)"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}
