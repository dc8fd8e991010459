package mesh

import (
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// maxEvicted bounds the evicted copies remembered for their acks (each
// about 270 bytes with its friend sets and map slot).
const maxEvicted = 4096

// evictedCopies are relay copies evicted for budget, kept without their
// bodies so that their acks can still be checked and passed on: without
// them, an ack that arrives after the eviction cannot be checked, so it
// goes no further, and the relays behind this one, and the sender, keep
// their copies until expiry (the sender's outbox never shows the mail
// delivered). They live in memory, with the friends to pass the ack to;
// the store keeps each one's ack hash beside its seen entry (Batch.Evict),
// which takes over after a restart, or when memory was full, and then the
// ack goes to every friend.
type evictedCopies struct {
	byID map[envelope.ID]*heldEntry
	// perFriend counts the entries by the friend each copy was accounted
	// to (its index), so that no friend fills more than its share.
	perFriend map[int32]int
	// first is no later than the earliest expiry among them: until then,
	// none can be pruned.
	first int64
}

// rememberEvicted keeps what a relay copy evicted for budget needs for its
// ack: the ack hash to check it against and the friends it may reach (the
// one it came from, those it was offered or sent to). The copies of any
// one friend fill at most Config.FriendShare of maxEvicted, so a friend
// that churns its own share cannot crowd out the others'. When a friend's
// part, or the whole, is full, expired entries are pruned; if that frees
// nothing, the eviction is not remembered here, and its ack is checked
// against the store's copy of the hash.
func (n *Node) rememberEvicted(e *heldEntry, now time.Time) {
	ev := &n.evicted
	if ev.byID == nil {
		ev.byID = make(map[envelope.ID]*heldEntry)
		ev.perFriend = make(map[int32]int)
		ev.first = e.meta.Expiry
	}
	n.forgetEvicted(e.meta.ID) // an earlier eviction of the same ID
	share := max(1, int(float64(maxEvicted)*n.cfg.FriendShare))
	full := func() bool {
		return len(ev.byID) >= maxEvicted || e.from != nil && ev.perFriend[e.from.idx] >= share
	}
	if full() && now.Unix() >= ev.first {
		n.pruneEvicted(now.Unix())
	}
	if full() {
		return
	}
	ev.byID[e.meta.ID] = e
	if e.from != nil {
		ev.perFriend[e.from.idx]++
	}
	ev.first = min(ev.first, e.meta.Expiry)
}

// pruneEvicted forgets the evicted copies expired at unix, and notes the
// earliest expiry of those left.
func (n *Node) pruneEvicted(unix int64) {
	ev := &n.evicted
	ev.first = int64(1<<63 - 1)
	for id, e := range ev.byID {
		if e.meta.Expiry <= unix {
			n.forgetEvicted(id)
		} else {
			ev.first = min(ev.first, e.meta.Expiry)
		}
	}
}

// forgetEvicted drops the evicted copy of id, if remembered.
func (n *Node) forgetEvicted(id envelope.ID) {
	ev := &n.evicted
	e := ev.byID[id]
	if e == nil {
		return
	}
	delete(ev.byID, id)
	if e.from != nil {
		if ev.perFriend[e.from.idx]--; ev.perFriend[e.from.idx] == 0 {
			delete(ev.perFriend, e.from.idx)
		}
	}
}

// takeEvictedAck handles an ack of an envelope the node evicted: if it
// checks out, it is remembered and passed on as if the copy were still
// held. It reports whether the ack was for such an envelope.
func (n *Node) takeEvictedAck(p *peer, a envelope.Ack, now time.Time) bool {
	e := n.evicted.byID[a.ID]
	if e == nil {
		h, exp, ok, err := n.deps.Store.EvictedAckHash(a.ID)
		if err != nil {
			n.stats.StoreErrors++
			if ok, held := n.warnings().evictedHash.Allow(now); ok {
				n.log.Warn("reading an evicted envelope's ack hash failed", "id", a.ID, "err", err, "not_logged_since_the_last", held)
			}
			return false
		}
		if !ok {
			return false
		}
		// Whom it went to was not stored: the ack goes to every friend,
		// as for a copy loaded at start.
		e = &heldEntry{meta: HeldMeta{ID: a.ID, Expiry: exp, AckHash: h}, loaded: true}
	}
	if e.meta.Expiry <= now.Unix() {
		n.forgetEvicted(a.ID)
		return false
	}
	if !a.Verify(e.meta.AckHash) {
		n.forgedAck(p, a.ID, now) // the copy stays remembered for the real one
		return true
	}
	rec := AckRecord{Ack: a, Expiry: e.meta.Expiry}
	n.batch.PutAck(rec)
	if n.apply() != nil {
		return true
	}
	n.forgetEvicted(a.ID)
	n.stats.AcksVerified++
	ae := n.addAck(rec)
	ae.known.add(p.idx)
	ae.target(e)
	n.ackHeap.fit(ae)
	n.floodAck(ae)
	return true
}
