package mesh

import (
	"fmt"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// heldMay returns the may bits of the entry name holds for id, and whether
// it holds one.
func (tn *testNet) heldMay(name string, id envelope.ID) (uint32, bool) {
	n := tn.nodes[name].node
	r := n.ids.get(id)
	if r == nil || r.held == nil {
		return 0, false
	}
	h := n.heldHeapOf(r.held)
	return h.may[r.held.pos[heapNode]], true
}

// ackMay returns the may bits and done mark of the ack name keeps for id.
func (tn *testNet) ackMay(name string, id envelope.ID) (may uint32, done, ok bool) {
	n := tn.nodes[name].node
	for k, a := range n.ackHeap.items {
		if a.rec.Ack.ID == id {
			return n.ackHeap.may[k], n.ackHeap.isDone(k), true
		}
	}
	return 0, false, false
}

// ackMayExact fails the test unless every ack each node keeps sits at
// its recorded heap position with may bits equal to what a new session
// would be sent (ackEntry.mayPush); with sloppy, bits set in excess (as
// reopen leaves them) are allowed and only a clear bit that should be set
// fails it, since a hand-over would then miss that ack.
func (tn *testNet) ackMayExact(sloppy bool) {
	tn.t.Helper()
	for name, x := range tn.nodes {
		h := &x.node.ackHeap
		for k, a := range h.items {
			if a.pos != int32(k) {
				tn.t.Fatalf("%s: ack at %d records position %d", name, k, a.pos)
			}
			want, got := a.mayPush(), h.may[k]
			if want&^got != 0 || !sloppy && got != want {
				tn.t.Fatalf("%s: ack %x has may bits %#x, want %#x", name, a.rec.Ack.ID[:4], got, want)
			}
		}
	}
}

// peerIndex returns the index b has at a.
func (tn *testNet) peerIndex(a, b string) int32 {
	p := tn.nodes[a].node.lookup(tn.nodes[b].kp.Public)
	if p == nil {
		tn.t.Fatalf("%s has never seen %s", a, b)
	}
	return p.idx
}

// A hand-over steps over the entries whose may bit for the friend is
// clear. Friends past the first 32 have no bit: every entry is read for
// them, though the first 32 may all know of it. Here H's first 32 friends
// (S and F1…F31) all offered H the mail, so its may bits are all clear;
// friends X and Y come later, as H's 33rd and 34th. H must still offer
// the mail to X, the only way to R, and push the ack to Y, which it served
// the mail to before Y went offline.
//
//	S — F1…F31 — H, S — H, H — Y, H — X — R
func TestHandOverPastFirst32Friends(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	cfg := testConfig()
	var fs []string
	for i := 1; i <= 31; i++ {
		fs = append(fs, fmt.Sprintf("F%d", i))
	}
	for _, s := range append([]string{"S", "H", "X", "Y", "R"}, fs...) {
		tn.add(s, cfg, nil)
	}
	for _, f := range fs {
		tn.friends("S", f)
		tn.friends("H", f)
	}
	tn.friends("S", "H")
	tn.friends("H", "Y")
	tn.friends("H", "X")
	tn.friends("X", "R")
	tn.online(append([]string{"S"}, fs...)...)
	tn.run(20 * time.Second)
	id := tn.send("S", "R", "hello R", withLifetime(24*time.Hour))
	tn.run(time.Minute)
	tn.online("H")
	tn.run(time.Minute)
	tn.online("Y")
	tn.run(time.Minute)
	if !tn.nodes["Y"].node.Holds(id) {
		t.Fatal("setup: Y does not hold the mail")
	}
	tn.offline("Y")
	// A hand-over to one of the first 32 reads the entry: its may bits
	// are narrowed to none.
	tn.offline("F31")
	tn.run(time.Minute)
	tn.online("F31")
	tn.run(time.Minute)
	if may, ok := tn.heldMay("H", id); !ok || may != 0 {
		t.Fatalf("setup: H holds the mail %v with may bits %#x, want 0", ok, may)
	}

	tn.online("X", "R")
	tn.run(time.Minute)
	if x, y := tn.peerIndex("H", "X"), tn.peerIndex("H", "Y"); x < 32 || y < 32 {
		t.Fatalf("setup: X and Y are H's friends %d and %d, want both past 31", x, y)
	}
	tn.wantDelivered("R", "S", "hello R", id)
	if !tn.nodes["H"].node.HasAck(id) {
		t.Fatal("H has no ack")
	}

	tn.offline("F31")
	tn.run(time.Minute)
	tn.online("F31")
	tn.run(time.Minute)
	if may, done, ok := tn.ackMay("H", id); !ok || may != 0 || done {
		t.Fatalf("setup: H's ack (kept %v) has may bits %#x and done mark %v, want 0 and false (owed to Y)", ok, may, done)
	}
	tn.online("Y")
	tn.run(time.Minute)
	if !tn.nodes["Y"].node.HasAck(id) {
		t.Error("Y, H's 34th friend, was never pushed the ack")
	}
	if tn.nodes["Y"].node.Holds(id) {
		t.Error("Y still holds the delivered mail")
	}
	tn.ackMayExact(true)
}

// An ack's may bits are exact from the moment it is remembered, and stay
// exact as it is pushed, received and confirmed, with no hand-over to
// narrow them: once every node has pushed the ack on, no bit is set for a
// friend that a new session would not send it to, so a hand-over reads
// only the acks it will push (here, to a friend that was sent the body
// and whose push is not yet confirmed). The friends (S, A, B, C, R, T,
// in a diamond with a tail) all meet before the mail is sent, so no
// reopen sets bits afresh. Each node's first friend (index 0) offered or
// was sent the mail directly and had the ack pushed, so none is owed it.
//
//	S — A — R — T, S — B — R, A — C — B
func TestAckMayExactWithoutHandOver(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	cfg := testConfig()
	for _, s := range []string{"S", "A", "B", "C", "R", "T"} {
		tn.add(s, cfg, nil)
	}
	for _, e := range [][2]string{{"S", "A"}, {"A", "R"}, {"R", "T"}, {"S", "B"}, {"B", "R"}, {"A", "C"}, {"C", "B"}} {
		tn.friends(e[0], e[1])
	}
	tn.online("S", "A", "B", "C", "R", "T")
	tn.run(time.Minute)
	id := tn.send("S", "R", "hello R", withLifetime(24*time.Hour))
	tn.run(time.Hour) // past ackConfirm, so served pushes are confirmed
	tn.wantDelivered("R", "S", "hello R", id)
	for _, s := range []string{"S", "A", "B", "C", "R"} {
		if !tn.nodes[s].node.HasAck(id) {
			t.Fatalf("%s has no ack", s)
		}
	}
	tn.ackMayExact(false)
	owed := 0
	for name, x := range tn.nodes {
		for k := range x.node.ackHeap.items {
			if m := x.node.ackHeap.may[k]; m&1 != 0 {
				owed++
				t.Logf("%s still owes its first friend the ack (may %#x)", name, m)
			}
		}
	}
	if owed != 0 {
		t.Errorf("%d acks still owed to a node's first friend after the flood", owed)
	}
}
