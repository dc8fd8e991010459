package mesh

import (
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// A friend gets a body again only once it may be served again, whatever
// it asked for meanwhile: a full record of what went to it is pruned of
// what is old enough, and refuses the rest until then. Before, the record
// was wiped when full, and every body could be had again at once.
func TestMayServeBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxInflightPerFriend = 4
	n := &Node{cfg: cfg}
	p := &peer{link: &link{}}
	t0 := time.Unix(1_700_000_000, 0)
	id := func(i int) envelope.ID { var x envelope.ID; x[0], x[1] = byte(i), byte(i>>8); return x }
	full := servedCap * cfg.MaxInflightPerFriend
	for i := range full {
		if !n.mayServe(p, id(i), t0) {
			t.Fatalf("body %d of the first %d refused", i, full)
		}
		n.noteServed(p, id(i), t0)
	}
	if n.mayServe(p, id(0), t0) {
		t.Fatal("a body served a moment ago may be served again")
	}
	if n.mayServe(p, id(full), t0) {
		t.Fatal("a new body served with the record full of recent ones")
	}
	// Full, the record is walked once, and then not again until its
	// oldest entry may be served again: more refusals walk nothing.
	if want := t0.Add(n.servedAgainAfter()).UnixNano(); p.served.pruneAt != want {
		t.Errorf("pruneAt = %d, want the oldest entry's time plus the window, %d", p.served.pruneAt, want)
	}
	for i := range 100 {
		if n.mayServe(p, id(full+1+i), t0.Add(time.Second)) {
			t.Fatal("a new body served with the record still full")
		}
	}
	later := t0.Add(n.servedAgainAfter())
	if !n.mayServe(p, id(full), later) || !n.mayServe(p, id(0), later) {
		t.Fatal("bodies refused once the record's entries are old enough to be served again")
	}
	if n.stats.ServesRefused != 101 {
		t.Errorf("ServesRefused = %d, want 101", n.stats.ServesRefused)
	}
	if len(p.served.at) != 0 {
		t.Errorf("after the window: %d entries left, want none", len(p.served.at))
	}
}
