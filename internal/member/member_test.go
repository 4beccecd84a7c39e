package member

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

func TestNormalizeTags(t *testing.T) {
	got, err := normalizeTags([]string{" vip ", "vip", "新客"})
	if err != nil || len(got) != 2 || got[0] != "vip" || got[1] != "新客" {
		t.Fatalf("normalizeTags = %v, %v", got, err)
	}
	for _, bad := range [][]string{{""}, {"a,b"}, {"x\ny"}, {"123456789012345678901234567890123"}} {
		if _, err := normalizeTags(bad); err == nil {
			t.Errorf("normalizeTags(%q) accepted", bad)
		}
	}
}

func TestReferralCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c := newReferralCode()
		if len(c) != 8 {
			t.Fatalf("code %q", c)
		}
		for _, r := range c {
			if r == '0' || r == 'O' || r == '1' || r == 'I' || r == 'L' {
				t.Fatalf("code %q has a look-alike character", c)
			}
		}
		seen[c] = true
	}
	if len(seen) < 990 {
		t.Fatalf("only %d distinct codes in 1000", len(seen))
	}
}
