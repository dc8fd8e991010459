package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLoginFailures: the wait before answering a failed login doubles with
// a name's recent failures, and failures of one name are answered one
// after another, so more connections buy no more guesses.
func TestLoginFailures(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	const base = time.Second
	var f LoginFailures
	steps := []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{"first", t0, base},
		{"second, at once (another connection)", t0, base + 2*base},
		{"third, once the second is answered", t0.Add(3 * base), 4 * base},
		{"other name", t0, base},
	}
	for _, s := range steps {
		user := "alice"
		if s.name == "other name" {
			user = "bob"
		}
		if got := f.Failed(user, base, s.at); got != s.want {
			t.Fatalf("%s: wait %v, want %v", s.name, got, s.want)
		}
	}
	f.Succeeded("alice")
	if got := f.Failed("alice", base, t0.Add(10*base)); got != base {
		t.Errorf("after a success: wait %v, want %v", got, base)
	}
	if got := f.Failed("bob", base, t0.Add(loginFailureMemory+time.Minute)); got != base {
		t.Errorf("after %v without failures: wait %v, want %v", loginFailureMemory, got, base)
	}
	if got := f.Failed("carol", 0, t0); got != 0 {
		t.Errorf("base 0: wait %v", got)
	}

	var g LoginFailures
	for i := range 20 {
		if got := g.Failed("mallory", base, t0); got > loginMaxWait {
			t.Fatalf("failure %d waits %v, over %v", i+1, got, loginMaxWait)
		}
	}
	long := strings.Repeat("x", 100)
	g.Failed(long, base, t0)
	if got := g.Failed(long[:64], base, t0); got != base+2*base {
		t.Errorf("a name and its first 64 bytes: wait %v, want them counted together", got)
	}

	var h LoginFailures
	for i := range loginMaxFailUsers {
		h.Failed(fmt.Sprint("user", i), base, t0)
	}
	h.Failed("user0", base, t0)
	if got := h.Failed("newcomer", base, t0); got != base || len(h.users) != loginMaxFailUsers {
		t.Errorf("past %d names: wait %v and %d names tracked, want %v and no more", loginMaxFailUsers, got, len(h.users), base)
	}
}
