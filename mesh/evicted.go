package mesh

import (
	"maps"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// maxEvicted bounds the evicted copies remembered for their acks (each
// about 200 bytes with its friend sets); past it, those expired are
// forgotten, and if none has, the newest eviction is not remembered.
const maxEvicted = 4096

// rememberEvicted keeps what a relay copy evicted for budget needs for
// its ack: the ack hash to check it against and the friends it may reach
// (the one it came from, those it was offered or sent to). Without it, an
// ack that arrives after the eviction cannot be checked, so it goes no
// further, and the relays behind this one, and the sender, keep their
// copies until expiry: the sender's outbox never shows the mail
// delivered.
func (n *Node) rememberEvicted(e *heldEntry, now time.Time) {
	if n.evicted == nil {
		n.evicted = make(map[envelope.ID]*heldEntry)
	}
	if len(n.evicted) >= maxEvicted {
		t := now.Unix()
		maps.DeleteFunc(n.evicted, func(_ envelope.ID, v *heldEntry) bool { return v.meta.Expiry <= t })
		if len(n.evicted) >= maxEvicted {
			return
		}
	}
	n.evicted[e.meta.ID] = e
}

// takeEvictedAck handles an ack of an envelope the node evicted: if it
// checks out, it is remembered and passed on as if the copy were still
// held. It reports whether the ack was for such an envelope.
func (n *Node) takeEvictedAck(p *peer, a envelope.Ack, now time.Time) bool {
	e := n.evicted[a.ID]
	if e == nil {
		return false
	}
	if e.meta.Expiry <= now.Unix() {
		delete(n.evicted, a.ID)
		return false
	}
	if !a.Verify(e.meta.AckHash) {
		n.forgedAck(p, a.ID, now)
		return true
	}
	rec := AckRecord{Ack: a, Expiry: e.meta.Expiry}
	n.batch.PutAck(rec)
	if n.apply() != nil {
		return true
	}
	delete(n.evicted, a.ID)
	n.stats.AcksVerified++
	ae := n.addAck(rec)
	ae.known.add(p.idx)
	ae.target(e)
	n.ackHeap.fit(ae)
	n.floodAck(ae)
	return true
}
