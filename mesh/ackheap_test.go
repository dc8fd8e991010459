package mesh

import (
	"container/heap"
	"testing"

	"pgregory.net/rapid"
)

// drawSet draws a friendSet over indices below 150 (three words).
func drawSet(t *rapid.T, label string) friendSet {
	var s friendSet
	for _, i := range rapid.SliceOfN(rapid.Int32Range(0, 149), 0, 12).Draw(t, label) {
		s.add(i)
	}
	return s
}

// owed(n) holds exactly when some friend below n would be pushed the ack
// on a new session.
func TestAckOwedModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Friend counts at and around word boundaries, and a known set
		// that may cover every friend below one, test the last word's mask.
		n := rapid.OneOf(rapid.IntRange(0, 150), rapid.SampledFrom([]int{1, 63, 64, 65, 127, 128, 129})).Draw(t, "friends")
		a := &ackEntry{
			known:  drawSet(t, "known"),
			sent:   drawSet(t, "sent"),
			to:     drawSet(t, "to"),
			served: drawSet(t, "served"),
			toAll:  rapid.Bool().Draw(t, "toAll"),
		}
		if rapid.Bool().Draw(t, "all known") {
			for i := range int32(n) {
				a.known.add(i)
			}
		}
		want := false
		for i := range int32(n) {
			want = want || a.pushTo(i, true)
		}
		if got := a.owed(n); got != want {
			t.Fatalf("owed(%d) = %v, want %v", n, got, want)
		}
	})
}

// mayPush has bit i set exactly when pushTo(i, true) holds, for i < 32.
func TestAckMayPushModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := &ackEntry{
			known:  drawSet(t, "known"),
			sent:   drawSet(t, "sent"),
			to:     drawSet(t, "to"),
			served: drawSet(t, "served"),
			toAll:  rapid.Bool().Draw(t, "toAll"),
		}
		m := a.mayPush()
		for i := range int32(32) {
			if got, want := m&(1<<i) != 0, a.pushTo(i, true); got != want {
				t.Fatalf("friend %d: may bit %v, pushTo %v", i, got, want)
			}
		}
	})
}

// The done marks and may bits follow their entries through pushes, pops
// and the heap's swaps; reopen clears the marks and sets the bits.
func TestAckHeapMarks(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h ackHeap
		done := map[*ackEntry]bool{}
		may := map[*ackEntry]uint32{}
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				e := &ackEntry{rec: AckRecord{Expiry: rapid.Int64Range(0, 20).Draw(t, "expiry")}}
				e.rec.Ack.ID[0] = rapid.Byte().Draw(t, "id")
				heap.Push(&h, e)
				done[e] = false
				may[e] = ^uint32(0)
			case 2:
				if h.Len() > 0 {
					e := heap.Pop(&h).(*ackEntry)
					if e.pos != -1 {
						t.Fatalf("popped entry records position %d", e.pos)
					}
					delete(done, e)
					delete(may, e)
				}
			case 3:
				if h.Len() > 0 {
					k := rapid.IntRange(0, h.Len()-1).Draw(t, "mark")
					h.mark(k, true)
					done[h.items[k]] = true
					m := rapid.Uint32().Draw(t, "may")
					h.may[k] = m
					may[h.items[k]] = m
				}
			}
			if rapid.IntRange(0, 30).Draw(t, "reopen") == 0 {
				h.reopen()
				for e := range done {
					done[e] = false
					may[e] = ^uint32(0)
				}
			}
			for k, e := range h.items {
				if h.isDone(k) != done[e] {
					t.Fatalf("entry at %d: done %v, want %v", k, h.isDone(k), done[e])
				}
				if e.pos != int32(k) {
					t.Fatalf("entry at %d records position %d", k, e.pos)
				}
				if h.may[k] != may[e] {
					t.Fatalf("entry at %d: may %#x, want %#x", k, h.may[k], may[e])
				}
			}
		}
	})
}

// A node heap's may bits follow their entries through adds, removals and
// the heap's swaps; a peer heap keeps none.
func TestHeldHeapMay(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, peer := newHeldHeap(heapNode), newHeldHeap(heapPeer)
		may := map[*heldEntry]uint32{}
		var seq uint64
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				seq++
				e := &heldEntry{seq: seq, pos: [2]int32{-1, -1}}
				e.meta.Expiry = rapid.Int64Range(0, 20).Draw(t, "expiry")
				h.add(e)
				peer.add(e)
				may[e] = ^uint32(0)
			case 2:
				if h.Len() > 0 {
					e := h.items[rapid.IntRange(0, h.Len()-1).Draw(t, "remove")]
					h.remove(e)
					peer.remove(e)
					delete(may, e)
				}
			case 3:
				if h.Len() > 0 {
					k := rapid.IntRange(0, h.Len()-1).Draw(t, "narrow")
					m := rapid.Uint32().Draw(t, "may")
					h.may[k] = m
					may[h.items[k]] = m
				}
			}
			if len(h.may) != h.Len() || peer.may != nil {
				t.Fatalf("%d may words for %d entries; peer heap has %d", len(h.may), h.Len(), len(peer.may))
			}
			for k, e := range h.items {
				if h.may[k] != may[e] {
					t.Fatalf("entry at %d: may %#x, want %#x", k, h.may[k], may[e])
				}
			}
		}
	})
}
