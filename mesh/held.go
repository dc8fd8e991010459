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
	// queued has bit f set while the entry waits in friend f's offer
	// queue (link.offers), for the friends below 32 (see peer.offerBit),
	// so that it is queued there once. It fills the struct's padding.
	queued uint32
}

const (
	heapNode = iota // Node.relay or Node.own
	heapPeer        // peer.heap
)

// heldHeap is a min-heap of entries by expiry (then ID, for determinism)
// that keeps each entry's position in slot which.
type heldHeap struct {
	items []*heldEntry
	// may is kept beside items in the node heaps (which == heapNode), nil
	// in the peer heaps: may[i] has bit f clear only if friend f < 32 has
	// told us it knows of items[i], so a hand-over to f steps over the
	// entry without reading it. The bits start set and are narrowed when a
	// hand-over reads the entry (see mayOffer); since a friend that knows
	// stays known, a clear bit stays right.
	may   []uint32
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
	if h.which == heapNode {
		h.may[i], h.may[j] = h.may[j], h.may[i]
	}
}
func (h *heldHeap) Push(x any) {
	e := x.(*heldEntry)
	e.pos[h.which] = int32(len(h.items))
	h.items = append(h.items, e)
	if h.which == heapNode {
		h.may = append(h.may, ^uint32(0))
	}
}
func (h *heldHeap) Pop() any {
	n := len(h.items) - 1
	e := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	if h.which == heapNode {
		h.may = h.may[:n]
	}
	e.pos[h.which] = -1
	return e
}

// mayOffer returns the friends below 32 that have not told us they know
// of e: the may bits of e as far as e tells.
func (e *heldEntry) mayOffer() uint32 { return ^uint32(e.known.lo) }

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
	to friendSet
	// served are the friends this node sent the envelope to whose copy of
	// the ack is not known to have arrived: they held the envelope for
	// sure, and never offer it back to us, so a push lost with a dropped
	// connection would leave them holding a delivered mail until it
	// expires. They are sent the ack again on each new session, until a
	// push is confirmed (see link.pushed) or they send the ack back.
	served friendSet
	// queued has bit f set while the ack waits in friend f's ack queue
	// (link.acks), for the friends below 64 (see peer.ackBit), so that it
	// is queued there once. With toAll after pos it costs no memory.
	queued uint64
	// pos is the entry's position in the node's ackHeap, or -1 once it
	// has left the heap.
	pos   int32
	toAll bool // the ack goes to every friend, not only to those in to
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

// mayPush returns the friends below 32 that a new session would send a
// now: those i for which pushTo(i, true) holds.
func (a *ackEntry) mayPush() uint32 {
	to := a.to.lo
	if a.toAll {
		to = ^uint64(0)
	}
	return uint32(^a.known.lo & (a.served.lo | to&^a.sent.lo))
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

// owed reports whether a new session with one of the first n friends
// would be sent a: whether pushTo(i, true) holds for some i < n. Once it
// is false it stays false while the node has n friends, since after the
// call that makes an entry (addAck, then target or the early-ack path in
// relayEnvelope, which set toAll, to and served) its sets only move
// towards it: known and sent grow, served shrinks. A change that widens
// them later must clear the ack heap's done marks (ackHeap.reopen).
func (a *ackEntry) owed(n int) bool {
	for w := 0; 64*w < n; w++ {
		mask := ^uint64(0)
		if r := n - 64*w; r < 64 {
			mask = 1<<r - 1
		}
		to := mask
		if !a.toAll {
			to = a.to.bitsAt(w)
		}
		if mask&^a.known.bitsAt(w)&(a.served.bitsAt(w)|to&^a.sent.bitsAt(w)) != 0 {
			return true
		}
	}
	return false
}

// ackHeap orders acks by expiry for sweeping. It also marks, by position,
// the acks owed to no friend (see ackEntry.owed), so that a hand-over
// steps over them without reading them: after a few days nearly every ack
// a node remembers is one. For the friends below 32 it keeps finer marks:
// may[i] has bit f set while items[i] may be owed to friend f (see
// ackEntry.mayPush), so a hand-over to f steps over acks owed only to
// others. May bits start set and are made exact once the ack's sets are
// set up (fit); they are narrowed when a push, an ack from the friend or
// a confirmed push makes the ack owed no more (narrow) and when a
// hand-over reads the ack, and are all set again by reopen.
type ackHeap struct {
	items []*ackEntry
	done  []uint64 // bit i: items[i] is owed to no friend
	may   []uint32
}

func (h *ackHeap) Len() int { return len(h.items) }
func (h *ackHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.rec.Expiry != b.rec.Expiry {
		return a.rec.Expiry < b.rec.Expiry
	}
	return string(a.rec.Ack.ID[:]) < string(b.rec.Ack.ID[:])
}
func (h *ackHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos, h.items[j].pos = int32(i), int32(j)
	h.may[i], h.may[j] = h.may[j], h.may[i]
	di, dj := h.isDone(i), h.isDone(j)
	h.mark(i, dj)
	h.mark(j, di)
}
func (h *ackHeap) Push(x any) {
	a := x.(*ackEntry)
	a.pos = int32(len(h.items))
	h.items = append(h.items, a)
	h.may = append(h.may, ^uint32(0))
	if w := (len(h.items) - 1) / 64; w >= len(h.done) {
		h.done = append(h.done, 0)
	}
	h.mark(len(h.items)-1, false)
}
func (h *ackHeap) Pop() any {
	n := len(h.items) - 1
	e := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	h.may = h.may[:n]
	e.pos = -1
	h.mark(n, false)
	return e
}

// isDone reports whether the ack at position i is owed to no friend.
func (h *ackHeap) isDone(i int) bool { return h.done[i/64]&(1<<(i%64)) != 0 }

// mark sets or clears the done mark of position i.
func (h *ackHeap) mark(i int, done bool) {
	if done {
		h.done[i/64] |= 1 << (i % 64)
	} else {
		h.done[i/64] &^= 1 << (i % 64)
	}
}

// fit makes a's may bits exact: the caller has just set up its sets.
func (h *ackHeap) fit(a *ackEntry) {
	if a.pos >= 0 {
		h.may[a.pos] = a.mayPush()
	}
}

// narrow clears a's may bit for friend i if a new session with i would no
// longer be sent a: the caller has just grown a's known or sent set, or
// shrunk its served set, for i. Without it the bit would stay set until a
// hand-over to i read the entry again.
func (h *ackHeap) narrow(a *ackEntry, i int32) {
	if a.pos >= 0 && i < 32 && a.mayPush()&(1<<i) == 0 {
		h.may[a.pos] &^= 1 << i
	}
}

// reopen clears every done mark and sets every may bit: the node has a
// new friend, which acks sent to all friends are owed to.
func (h *ackHeap) reopen() {
	clear(h.done)
	for i := range h.may {
		h.may[i] = ^uint32(0)
	}
}
