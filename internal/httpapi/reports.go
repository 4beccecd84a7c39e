package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/report"
)

var reportParams = []param{
	{name: "from", desc: "first day, program-local YYYY-MM-DD (default: 29 days before to)"},
	{name: "to", desc: "last day, inclusive (default: today)"},
	{name: "merchant_id", desc: "one merchant's figures (a merchant key: always its own)"},
	{name: "currency", desc: "default points"},
	{name: "format", desc: "csv for a CSV file (or send Accept: text/csv)"},
}

func (s *Server) registerReports() {
	s.handle(route{method: "GET", path: "/v1/reports/summary", access: anyRole, tag: "reports",
		summary: "A period's points issued, spent, expired, outstanding, liability, rates and members", out: report.Summary{},
		status: 200, query: reportParams, handler: s.reportSummary})
	s.handle(route{method: "GET", path: "/v1/reports/daily", access: anyRole, tag: "reports",
		summary: "Each program-local day of a period, quiet days included", out: listBody[report.Day]{},
		status: 200, query: reportParams, handler: s.reportDaily})
	s.handle(route{method: "GET", path: "/v1/reports/rules", access: anyRole, tag: "reports",
		summary: "A period's awards by rule", out: listBody[report.RuleRow]{}, status: 200, query: reportParams,
		handler: reportList(s, "rules", s.app.Reports.Rules)})
	s.handle(route{method: "GET", path: "/v1/reports/tiers", access: anyRole, tag: "reports",
		summary: "Members by tier and what they earned and spent", out: listBody[report.TierRow]{}, status: 200, query: reportParams,
		handler: reportList(s, "tiers", s.app.Reports.Tiers)})
	s.handle(route{method: "GET", path: "/v1/reports/rewards", access: anyRole, tag: "reports",
		summary: "A period's redemptions by reward", out: listBody[report.RewardRow]{}, status: 200, query: reportParams,
		handler: reportList(s, "rewards", s.app.Reports.Rewards)})
	s.handle(route{method: "GET", path: "/v1/reports/coupons", access: anyRole, tag: "reports",
		summary: "A period's coupons by template", out: listBody[report.CouponRow]{}, status: 200, query: reportParams,
		handler: reportList(s, "coupons", s.app.Reports.Coupons)})
	s.handle(route{method: "GET", path: "/v1/reports/campaigns", access: anyRole, tag: "reports",
		summary: "Campaigns with occurrences in a period: treated against control", out: listBody[report.CampaignRow]{}, status: 200,
		query: reportParams, handler: reportList(s, "campaigns", s.app.Reports.Campaigns)})
}

// reportList answers a list report, as JSON or CSV.
func reportList[T any](s *Server, name string, run func(context.Context, auth.Actor, report.Query) ([]T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := reportQuery(r)
		rows, err := run(r.Context(), actor(r), q)
		if err != nil {
			return err
		}
		if wantsCSV(r) {
			from, to, err := s.app.Reports.Period(r.Context(), actor(r), q)
			if err != nil {
				return err
			}
			return writeCSV(w, name+"_"+from+"_"+to, rows)
		}
		return list(w, rows, "")
	}
}

func reportQuery(r *http.Request) report.Query {
	q := r.URL.Query()
	return report.Query{From: q.Get("from"), To: q.Get("to"), MerchantID: q.Get("merchant_id"), Currency: q.Get("currency")}
}

func (s *Server) reportSummary(w http.ResponseWriter, r *http.Request) error {
	sum, err := s.app.Reports.Summary(r.Context(), actor(r), reportQuery(r))
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "summary_"+sum.From+"_"+sum.To, []report.Summary{sum})
	}
	return encode(w, 200, sum)
}

func (s *Server) reportDaily(w http.ResponseWriter, r *http.Request) error {
	days, err := s.app.Reports.Daily(r.Context(), actor(r), reportQuery(r))
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		name := "daily"
		if len(days) > 0 {
			name += "_" + days[0].Date + "_" + days[len(days)-1].Date
		}
		return writeCSV(w, name, days)
	}
	return list(w, days, "")
}

// wantsCSV: ?format=csv (for links) or Accept: text/csv.
func wantsCSV(r *http.Request) bool {
	if r.URL.Query().Get("format") == "csv" {
		return true
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

// writeCSV writes rows (a slice of structs) as a CSV file: a UTF-8 BOM (so
// a spreadsheet reads Chinese names right), a header of the JSON field
// names in order, CRLF line ends and RFC 4180 quoting; null is empty.
func writeCSV[T any](w http.ResponseWriter, name string, rows []T) error {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	t := reflect.TypeFor[T]()
	var header []string
	var fields []int
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		header = append(header, tag)
		fields = append(fields, i)
	}
	cw.Write(header)
	for _, row := range rows {
		v := reflect.ValueOf(row)
		rec := make([]string, len(fields))
		for j, i := range fields {
			rec[j] = csvValue(v.Field(i))
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(200)
	_, err := w.Write(b.Bytes())
	return err
}

func csvValue(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	}
	return fmt.Sprint(v.Interface())
}
