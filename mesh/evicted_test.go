package mesh

import (
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// TestEvictedBounded: a node remembers at most maxEvicted evicted copies
// for their acks; past it, expired ones make room, and a new eviction is
// not remembered while none has expired.
func TestEvictedBounded(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	n := tn.add("A", testConfig(), nil).node
	now := tn.clock.Now()
	entry := func(i int, expiry time.Time) *heldEntry {
		var id envelope.ID
		id[0], id[1], id[2] = byte(i), byte(i>>8), 1
		return &heldEntry{meta: HeldMeta{ID: id, Expiry: expiry.Unix()}}
	}
	for i := range maxEvicted {
		exp := now.Add(24 * time.Hour)
		if i < 10 {
			exp = now.Add(time.Hour) // these expire first
		}
		n.rememberEvicted(entry(i, exp), now)
	}
	late := entry(maxEvicted, now.Add(24*time.Hour))
	n.rememberEvicted(late, now)
	if len(n.evicted) != maxEvicted || n.evicted[late.meta.ID] != nil {
		t.Fatalf("full and nothing expired: %d remembered (want %d), the newest among them: %v", len(n.evicted), maxEvicted, n.evicted[late.meta.ID] != nil)
	}
	n.rememberEvicted(late, now.Add(2*time.Hour))
	if len(n.evicted) != maxEvicted-10+1 || n.evicted[late.meta.ID] == nil {
		t.Fatalf("after ten expired: %d remembered, want %d with the newest", len(n.evicted), maxEvicted-9)
	}
}
