package mesh

import (
	"testing"
	"time"
)

// A warning is logged at most once a minute, and the next one says how
// many were held back.
func TestWarnLimit(t *testing.T) {
	var w warnLimit
	t0 := time.Unix(1_700_000_000, 0)
	if ok, n := w.allow(t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for i := range 1000 {
		if ok, _ := w.allow(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatalf("warning %d within the minute allowed", i)
		}
	}
	if ok, n := w.allow(t0.Add(warnEvery)); !ok || n != 1000 {
		t.Fatalf("after a minute: %v, %d held back; want true, 1000", ok, n)
	}
}
