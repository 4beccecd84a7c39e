package ledger_test

import (
	"testing"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/ledger"
)

func TestPolicyExpiresAt(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name   string
		p      ledger.Policy
		loc    *time.Location
		earned string
		want   string // RFC 3339 in UTC, "" for never
	}{
		{"never", ledger.Policy{Kind: ledger.Never}, sh, "2026-05-01T10:00:00Z", ""},
		{"rolling 365 days", ledger.Policy{Kind: ledger.Rolling, Days: 365}, sh, "2026-05-01T10:00:00Z", "2027-05-01T10:00:00Z"},
		{"rolling over a leap day", ledger.Policy{Kind: ledger.Rolling, Days: 365}, sh, "2027-06-01T00:00:00Z", "2028-05-31T00:00:00Z"},
		{"end of this year", ledger.Policy{Kind: ledger.EndOfYear, Years: 0}, sh, "2026-05-01T10:00:00Z", "2026-12-31T15:59:59Z"},
		{"end of next year", ledger.Policy{Kind: ledger.EndOfYear, Years: 1}, sh, "2026-05-01T10:00:00Z", "2027-12-31T15:59:59Z"},
		// 2026-12-31T17:00Z is already 2027-01-01 01:00 in Shanghai: the
		// local year decides, not the UTC one.
		{"local new year in Shanghai", ledger.Policy{Kind: ledger.EndOfYear, Years: 1}, sh, "2026-12-31T17:00:00Z", "2028-12-31T15:59:59Z"},
		{"still the old year in New York", ledger.Policy{Kind: ledger.EndOfYear, Years: 1}, ny, "2027-01-01T03:00:00Z", "2028-01-01T04:59:59Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			earned, _ := time.Parse(time.RFC3339, tc.earned)
			got := tc.p.ExpiresAt(earned, tc.loc)
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("ExpiresAt(%s) = %s, want never", tc.earned, got)
			case tc.want != "" && (got == nil || got.Format(time.RFC3339) != tc.want):
				t.Fatalf("ExpiresAt(%s) = %v, want %s", tc.earned, got, tc.want)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []ledger.Policy{
		{Kind: "soon"}, {Kind: ledger.Rolling}, {Kind: ledger.Rolling, Days: -1},
		{Kind: ledger.Never, Days: 3}, {Kind: ledger.EndOfYear, Years: -1}, {Kind: ledger.EndOfYear, Days: 2},
	}
	for _, p := range bad {
		if err := p.Validate("expiry"); failure.KindOf(err) != failure.Invalid {
			t.Errorf("Validate(%+v) = %v, want validation failure", p, err)
		}
	}
	good := []ledger.Policy{{Kind: ledger.Never}, {Kind: ledger.Rolling, Days: 180}, {Kind: ledger.EndOfYear, Years: 1}}
	for _, p := range good {
		if err := p.Validate("expiry"); err != nil {
			t.Errorf("Validate(%+v) = %v", p, err)
		}
	}
}
