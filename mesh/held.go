package mesh

import (
	"container/heap"
)

// heldEntry is the in-memory index of one held envelope.
type heldEntry struct {
	meta    HeldMeta
	known   friendSet // friends that told us they have it (they offered or sent it)
	served  friendSet // friends we sent the body to
	offered friendSet // friends we offered it to (they have it, or asked for it, or soon will)
	from    *peer     // friend it is accounted to; nil for own mail
	seq     uint64    // index order: breaks expiry ties, deterministically
	since   int64     // Unix seconds this node took it (or loaded it at start)
	// Positions in two heaps, -1 when absent: slot 0 is Node.relay (relay
	// copies, for sweeping and global eviction) or Node.own (own mail, for
	// sweeping); slot 1 is the from-peer's heap (FriendShare eviction).
	pos    [2]int32
	loaded bool // loaded from the store at Start: known, served and offered are lost
	gone   bool // no longer held (evicted, acked or expired)
}

const (
	heapNode = iota // Node.relay or Node.own
	heapPeer        // peer.heap
)

// heldHeap is a min-heap of entries by expiry (then ID, for determinism)
// that keeps each entry's position in slot which.
type heldHeap struct {
	items []*heldEntry
	which int
	// first is the expiry of items[0], kept here so that the node's
	// after-every-event look at its next deadline reads no entry.
	first int64
}

func newHeldHeap(which int) heldHeap { return heldHeap{which: which} }

func (h *heldHeap) Len() int { return len(h.items) }
func (h *heldHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.meta.Expiry != b.meta.Expiry {
		return a.meta.Expiry < b.meta.Expiry
	}
	return a.seq < b.seq
}
func (h *heldHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos[h.which] = int32(i)
	h.items[j].pos[h.which] = int32(j)
}
func (h *heldHeap) Push(x any) {
	e := x.(*heldEntry)
	e.pos[h.which] = int32(len(h.items))
	h.items = append(h.items, e)
}
func (h *heldHeap) Pop() any {
	n := len(h.items) - 1
	e := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	e.pos[h.which] = -1
	return e
}

func (h *heldHeap) add(e *heldEntry) {
	heap.Push(h, e)
	h.first = h.items[0].meta.Expiry
}

// remove takes e out of h; h may be nil.
func (h *heldHeap) remove(e *heldEntry) {
	if h == nil {
		return
	}
	if i := int(e.pos[h.which]); i >= 0 && i < len(h.items) && h.items[i] == e {
		heap.Remove(h, i)
		if len(h.items) > 0 {
			h.first = h.items[0].meta.Expiry
		}
	}
}

// firstExpiry returns the expiry of the entry expiring first, if any.
func (h *heldHeap) firstExpiry() (int64, bool) { return h.first, len(h.items) > 0 }

// min returns the entry expiring first; h may be nil.
func (h *heldHeap) min() *heldEntry {
	if h == nil || len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// ackEntry is a remembered ack.
type ackEntry struct {
	rec   AckRecord
	known friendSet // friends that sent us the ack
	sent  friendSet // friends we pushed it to (once; see peer.resetSession)
	// to is whom the ack is pushed to: the friends that may hold the
	// envelope, as far as this node knows (they offered it, were offered
	// it, or were sent it), unless toAll. A holder it misses gets the ack
	// from the friend that sent it the envelope, or in answer to an offer.
	to    friendSet
	toAll bool
	// served are the friends this node sent the envelope to whose copy of
	// the ack is not known to have arrived: they held the envelope for
	// sure, and never offer it back to us, so a push lost with a dropped
	// connection would leave them holding a delivered mail until it
	// expires. They are sent the ack again on each new session, until a
	// push is confirmed (see link.pushed) or they send the ack back.
	served friendSet
}

// pushTo reports whether the ack goes to friend i now; newSession is true
// when the friend has just (re)connected.
func (a *ackEntry) pushTo(i int32, newSession bool) bool {
	if a.known.has(i) {
		return false
	}
	if newSession && a.served.has(i) {
		return true
	}
	return (a.toAll || a.to.has(i)) && !a.sent.has(i)
}

// target sets whom the ack of held entry e goes to.
func (a *ackEntry) target(e *heldEntry) {
	if e.loaded {
		a.toAll = true // what this node knew of its friends was not stored
		return
	}
	a.toAll = false
	a.to.union(&e.known)
	a.to.union(&e.served)
	a.to.union(&e.offered)
	if e.from != nil {
		a.to.add(e.from.idx)
	}
	a.served.union(&e.served)
}

// ackHeap orders acks by expiry for sweeping.
type ackHeap []*ackEntry

func (h ackHeap) Len() int { return len(h) }
func (h ackHeap) Less(i, j int) bool {
	if h[i].rec.Expiry != h[j].rec.Expiry {
		return h[i].rec.Expiry < h[j].rec.Expiry
	}
	return string(h[i].rec.Ack.ID[:]) < string(h[j].rec.Ack.ID[:])
}
func (h ackHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
}
func (h *ackHeap) Push(x any) {
	*h = append(*h, x.(*ackEntry))
}
func (h *ackHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
