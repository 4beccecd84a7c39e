package lookup

import "testing"

func TestHash(t *testing.T) {
	// sha256("phone\x00+8613800000000"), computed independently.
	if got, want := Hash("phone", "+8613800000000"), "46c0158522c8e45622c14705a71c8c11c367bb6d57a06a13611e4d9638a70b43"; got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
	if Hash("phone", "x") == Hash("email", "x") {
		t.Fatal("the kind is not part of the lookup")
	}
	// The separator keeps kind and value apart: ("ab","c") ≠ ("a","bc").
	if Hash("ab", "c") == Hash("a", "bc") {
		t.Fatal("kind and value run together")
	}
}
