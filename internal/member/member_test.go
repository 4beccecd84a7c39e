package member

import "testing"

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
