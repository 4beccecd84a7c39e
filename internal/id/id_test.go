package id

import (
	"sort"
	"testing"
)

func TestNewSortsByCreation(t *testing.T) {
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = New("txn")
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs made later do not sort later")
	}
	seen := map[string]bool{}
	for _, v := range ids {
		if seen[v] {
			t.Fatalf("duplicate ID %s", v)
		}
		seen[v] = true
		if !HasPrefix(v, "txn") || len(v) != 30 {
			t.Fatalf("ID %q is not txn_ + 26 characters", v)
		}
	}
}
