package loglimit

import (
	"testing"
	"time"
)

// A warning is logged at most once a minute, and the next one says how
// many were held back.
func TestLimit(t *testing.T) {
	var l Limit
	t0 := time.Unix(1_700_000_000, 0)
	if ok, n := l.Allow(t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for i := range 1000 {
		if ok, _ := l.Allow(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatalf("warning %d within the minute allowed", i)
		}
	}
	if ok, n := l.Allow(t0.Add(Every)); !ok || n != 1000 {
		t.Fatalf("after a minute: %v, %d held back; want true, 1000", ok, n)
	}
}
