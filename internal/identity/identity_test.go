package identity

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"13800000000", "+8613800000000", true},
		{" 13800000000 ", "+8613800000000", true},
		{"+8613800000000", "+8613800000000", true},
		{"+14155550100", "+14155550100", true},
		{"12800000000", "", false}, // 12x is not a mobile prefix
		{"1380000000", "", false},
		{"+0123456789", "", false},
		{"phone", "", false},
	}
	for _, tc := range tests {
		got, ok := NormalizePhone(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
