package tox

import (
	"testing"
	"time"
)

func TestLogLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := logLimiter{now: func() time.Time { return now }}
	logged, left := 0, 0
	for range 1000 { // a burst from one source within a second
		ok, n := l.allow("net_crypto.c:1234")
		left += n
		if ok {
			logged++
		}
		now = now.Add(time.Millisecond)
	}
	if logged != logBurst || left != 0 {
		t.Fatalf("a burst of 1000: %d logged, %d reported left out; want %d and 0 (not yet)", logged, left, logBurst)
	}
	// Another source is not held back by the first.
	if ok, _ := l.allow("DHT.c:99"); !ok {
		t.Error("a quiet source was held back")
	}
	// The next window reports what the last one left out, once.
	now = now.Add(logWindow)
	ok, n := l.allow("net_crypto.c:1234")
	if !ok || n != 1000-logBurst {
		t.Errorf("the next window: allowed %v, %d reported left out; want true, %d", ok, n, 1000-logBurst)
	}
	if _, n := l.allow("net_crypto.c:1234"); n != 0 {
		t.Errorf("left-out lines reported twice: %d", n)
	}
	// Many sources: the table stays bounded.
	for i := range 3 * logSources {
		l.allow(string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(l.sources) > logSources {
		t.Errorf("%d sources tracked, want at most %d", len(l.sources), logSources)
	}
}
