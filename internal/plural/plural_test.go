package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "0 messages"}, {1, "1 message"}, {2, "2 messages"}, {-1, "-1 messages"}, {11, "11 messages"}} {
		if got := Count(tt.n, "message"); got != tt.want {
			t.Errorf("Count(%d): %q, want %q", tt.n, got, tt.want)
		}
	}
	if Noun(1, "hop") != "hop" || Noun(4, "hop") != "hops" {
		t.Errorf("Noun: %q, %q", Noun(1, "hop"), Noun(4, "hop"))
	}
}
