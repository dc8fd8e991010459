package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

// nopBackend satisfies DashboardBackend for tests that never call it.
type nopBackend struct{ DashboardBackend }

// The answers to wrong tokens from one address queue up, each delay
// doubling up to 5 s; past 30 s of queue a wrong token is refused at once
// and not counted; the failures are forgotten after a quiet while.
func TestDashboardFailureWait(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	d, err := NewDashboard(DashboardConfig{Token: "0123456789abcdef0123456789abcdef", AuthFailureDelay: time.Second,
		Now: func() time.Time { return now }}, nopBackend{})
	if err != nil {
		t.Fatal(err)
	}
	// All at the same instant: 1, 1+2, 1+2+4, then 5 s each.
	for i, want := range []time.Duration{1, 3, 7, 12, 17, 22, 27} {
		wait, queued := d.failureWait("127.0.0.1")
		if !queued || wait != want*time.Second {
			t.Fatalf("failure %d: wait %v, queued %v; want %v", i+1, wait, queued, want*time.Second)
		}
	}
	if wait, queued := d.failureWait("127.0.0.1"); queued || wait != 27*time.Second {
		t.Fatalf("a wrong token 32 s out: wait %v, queued %v; want refused, retry after 27s", wait, queued)
	}
	if wait, _ := d.failureWait("remote.example"); wait != time.Second {
		t.Errorf("another source waits %v, want 1s", wait)
	}
	// Once the queue has drained, the next one waits its (capped) delay.
	now = now.Add(27 * time.Second)
	if wait, queued := d.failureWait("127.0.0.1"); !queued || wait != 5*time.Second {
		t.Errorf("after the queue drained: wait %v, queued %v; want 5s", wait, queued)
	}
	// After 15 quiet minutes the count starts again.
	now = now.Add(dashFailureMemory + 6*time.Second)
	if wait, _ := d.failureWait("127.0.0.1"); wait != time.Second {
		t.Errorf("after a quiet while: wait %v, want 1s", wait)
	}
}

// TestSplitCamel: stat names become words, and /api/status keys, with an
// acronym kept whole.
func TestSplitCamel(t *testing.T) {
	for in, want := range map[string]string{
		"FramesIn":      "frames in",
		"PeakHeldBytes": "peak held bytes",
		"SeenIDs":       "seen ids",
		"SeenForgotten": "seen forgotten",
		"IDsSeen":       "ids seen",
		"HTTPServer":    "http server",
		"ToxID":         "tox id",
		"A":             "a",
	} {
		if got := splitCamel(in); got != want {
			t.Errorf("splitCamel(%q) = %q, want %q", in, got, want)
		}
	}
	// Every counter has a key of its own, in plain snake case.
	keys := apiStats(mesh.Stats{})
	if _, ok := keys["seen_ids"]; !ok {
		t.Errorf("no seen_ids in %v", keys)
	}
	for k := range keys {
		if strings.Contains(k, "__") || strings.HasPrefix(k, "_") || k != strings.ToLower(k) {
			t.Errorf("stat key %q", k)
		}
	}
}

// Text a stranger wrote (a friend request's message, a mail's label) shows
// as one line: controls and tabs become spaces, bidirectional overrides
// go, so "\u202egpj.exe" cannot show as "exe.jpg"; right-to-left letters
// and marks stay; a long text is cut on a character boundary.
func TestCleanText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"hi\tthere\r\nFrom: boss\u2028x", 500, "hi there  From: boss x"},
		{"invoice \u202egpj.exe\u202c and \u2067isolated\u2069", 500, "invoice gpj.exe and isolated"},
		{"שלום \u200fworld", 500, "שלום \u200fworld"},
		{"éxxx", 3, "éx…"},
		{"éxxx", 1, "…"},
	} {
		if got := cleanText(c.in, c.n); got != c.want {
			t.Errorf("cleanText(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// Wrong tokens from different loopback addresses count as one source: a
// local program may send from any of 127.0.0.0/8, and counted apart each
// address had its own quick first guesses.
func TestFailureWaitLoopbackShared(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &Dashboard{cfg: DashboardConfig{AuthFailureDelay: time.Second, Now: func() time.Time { return now }},
		failures: make(map[string]*dashFailures)}
	var waits []time.Duration
	for _, ip := range []string{"127.0.0.11", "127.0.0.12", "::1", "127.0.0.13"} {
		w, ok := d.failureWait(ip)
		if !ok {
			t.Fatalf("%s: refused", ip)
		}
		waits = append(waits, w)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Fatalf("waits %v: each loopback address's wrong token must wait longer than the last", waits)
		}
	}
	if w, _ := d.failureWait("remote.example"); w != time.Second {
		t.Errorf("another host's first wrong token waits %v, want 1s", w)
	}
}
