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

// The done marks follow their entries through pushes, pops and the heap's
// swaps, and reopen clears them.
func TestAckHeapMarks(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h ackHeap
		done := map[*ackEntry]bool{}
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				e := &ackEntry{rec: AckRecord{Expiry: rapid.Int64Range(0, 20).Draw(t, "expiry")}}
				e.rec.Ack.ID[0] = rapid.Byte().Draw(t, "id")
				heap.Push(&h, e)
				done[e] = false
			case 2:
				if h.Len() > 0 {
					delete(done, heap.Pop(&h).(*ackEntry))
				}
			case 3:
				if h.Len() > 0 {
					k := rapid.IntRange(0, h.Len()-1).Draw(t, "mark")
					h.mark(k, true)
					done[h.items[k]] = true
				}
			}
			if rapid.IntRange(0, 30).Draw(t, "reopen") == 0 {
				h.reopen()
				for e := range done {
					done[e] = false
				}
			}
			for k, e := range h.items {
				if h.isDone(k) != done[e] {
					t.Fatalf("entry at %d: done %v, want %v", k, h.isDone(k), done[e])
				}
			}
		}
	})
}
