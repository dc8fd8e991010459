package mesh

import (
	"math/bits"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// peer is the node's state for one friend. It is kept small, since a
// simulated network has tens of millions of them: what only a connected
// friend needs lives in its session, which exists while it is online.
type peer struct {
	// *link is the connection's state: non-nil exactly while online. It
	// and the flags come first, in the cache line a flush reads.
	*link

	idx       int32  // index into Node.peers, for friendSet
	session   uint32 // the session in the friend's last hello
	inflight  int32  // our requests to this friend awaiting bodies
	online    bool   // the transport says the friend is connected
	ready     bool   // the friend's hello arrived: it speaks the mesh protocol
	helloSent bool   // our hello went out on this connection
	dirty     bool   // has queued output; listed in Node.dirty
	key       FriendKey

	// Relay envelopes this friend handed us, for its FriendShare; heap is
	// made when the first one comes.
	heap      *heldHeap
	heldBytes int64
}

// link is what the node keeps for a connected friend.
type link struct {
	// backlog holds frames the transport refused for now (backpressure),
	// in order; they go out before anything else.
	backlog      [][]byte
	backlogBytes int
	backlogDue   time.Time

	// served is what bodies went to this friend of late, so that a
	// repeated request is not served again before RequestTimeout/2 (see
	// Node.mayServe); nil until the first.
	served *servedLog
	// servePending are requests whose bodies wait for room in the
	// backlog (Node.serveLater), in order.
	servePending []envelope.ID

	offers   []*heldEntry // queued offers, framed at offerDue
	offerDue time.Time    // when queued offers are sent (Config.OfferDelay)
	acks     []*ackEntry  // queued acks, sent at the next flush
	// pushed are the acks sent on this connection to a friend in their
	// served set, with when: one is confirmed (taken off served) once the
	// connection has stayed up ackConfirm after it, which it would not if
	// the push had been lost with it.
	pushed []ackPush

	tagEpoch uint64 // cache of the friend's recipient tag
	tag      envelope.Tag
	tagValid bool

	// resetPending is set while the friend's session is to start over
	// (peer.session holds the new one) once RequestTimeout has passed
	// since the last hand-over on this link, which began at handedOver
	// (Unix seconds; 32 bits last until 2106 and fit the struct's
	// padding). See Node.onHello and Node.resets.
	resetPending bool
	handedOver   uint32
}

// resetDue returns when a waiting session reset may go, in Unix
// nanoseconds.
func (l *link) resetDue(timeout time.Duration) int64 {
	return int64(l.handedOver)*int64(time.Second) + int64(timeout)
}

// connect marks the friend online and gives it a fresh link.
func (p *peer) connect() {
	p.online = true
	if p.link == nil {
		p.link = &link{}
	}
}

// tagFor returns the friend's recipient tag for an expiry.
func (p *peer) tagFor(expiry int64) envelope.Tag {
	e := envelope.Epoch(expiry)
	if !p.tagValid || p.tagEpoch != e {
		p.tag, p.tagEpoch, p.tagValid = envelope.MakeTag(p.key, e), e, true
	}
	return p.tag
}

const (
	// ackConfirm is how long a connection must stay up after an ack was
	// sent on it for the ack to count as received: longer than frames wait
	// in the transport's queue, and than libtoxcore takes to notice a dead
	// friend connection, after which it drops what it had not delivered.
	ackConfirm = 2 * time.Minute
	// maxPushed is how many pushes a link lists before the confirmed ones
	// are taken off.
	maxPushed = 256
)

// ackPush is an ack sent to a friend at a time (Unix nanoseconds).
type ackPush struct {
	a  *ackEntry
	at int64
}

// confirmPushes takes the acks pushed to p at least after ago off their
// served sets, narrowing their may bits in acks, and keeps the others
// listed.
func (p *peer) confirmPushes(now int64, after time.Duration, acks *ackHeap) {
	keep := p.pushed[:0]
	for _, ap := range p.pushed {
		if now-ap.at >= int64(after) {
			ap.a.served.remove(p.idx)
			acks.narrow(ap.a, p.idx)
		} else {
			keep = append(keep, ap)
		}
	}
	clear(p.pushed[len(keep):])
	p.pushed = keep
}

// disconnect forgets everything that only made sense on this connection.
func (p *peer) disconnect() {
	p.unqueue()
	p.online, p.ready, p.helloSent = false, false, false
	p.link = nil
}

// offerBit is p's bit in heldEntry.queued: zero past the first 32
// friends, whose offers are not marked (their queue is only capped).
func (p *peer) offerBit() uint32 {
	if p.idx < 32 {
		return 1 << p.idx
	}
	return 0
}

// ackBit is p's bit in ackEntry.queued: zero past the first 64 friends.
func (p *peer) ackBit() uint64 {
	if p.idx < 64 {
		return 1 << p.idx
	}
	return 0
}

// unqueue clears the queued marks of what waits in p's queues, which are
// about to be dropped with the link.
func (p *peer) unqueue() {
	if p.link == nil {
		return
	}
	if bit := p.offerBit(); bit != 0 {
		for _, e := range p.offers {
			e.queued &^= bit
		}
	}
	if bit := p.ackBit(); bit != 0 {
		for _, a := range p.acks {
			a.queued &^= bit
		}
	}
}

// resetSession forgets the state of one mesh session with the friend: what
// was queued, offered or refused for now, but not what the friend told us
// it has, nor which acks we sent it. An ack is pushed to a friend once:
// one lost with a dropped connection reaches the friend when it next
// offers us the envelope, since an offer of an acked envelope is answered
// with its ack. The exception is a friend we sent the envelope to, which
// never offers it back: it is sent the ack again on new sessions until a
// push is confirmed (ackEntry.served). Pushing every remembered ack again
// on every reconnection would cost each connection all the acks of the
// past days.
func (p *peer) resetSession() {
	if p.link != nil {
		p.unqueue()
		p.link = &link{}
	}
}

// friendSet is a set of peer indices: a bitmap, inline for the first 64.
// It is 16 bytes, since a simulated network keeps several for every mail
// at every node; the words past the first exist only for nodes of more
// than 64 friends. A copy by value shares those words, including ones
// added to either later: copy a set that may change with union.
type friendSet struct {
	lo uint64
	hi *[]uint64 // indices 64 and up; nil until one is added
}

// bitsAt returns word w of the set: bits 64w to 64w+63.
func (s *friendSet) bitsAt(w int) uint64 {
	if w == 0 {
		return s.lo
	}
	if hi := s.high(); w-1 < len(hi) {
		return hi[w-1]
	}
	return 0
}

// word returns the word holding index i (i >= 64), growing the set to it.
func (s *friendSet) word(i int32) *uint64 {
	if s.hi == nil {
		s.hi = new([]uint64)
	}
	w := int(i/64 - 1)
	for len(*s.hi) <= w {
		*s.hi = append(*s.hi, 0)
	}
	return &(*s.hi)[w]
}

// high returns the words past the first; nil when there are none.
func (s *friendSet) high() []uint64 {
	if s.hi == nil {
		return nil
	}
	return *s.hi
}

func (s *friendSet) add(i int32) {
	if i < 64 {
		s.lo |= 1 << i
		return
	}
	*s.word(i) |= 1 << (i % 64)
}

func (s *friendSet) remove(i int32) {
	if i < 64 {
		s.lo &^= 1 << i
		return
	}
	if hi, w := s.high(), int(i/64-1); w < len(hi) {
		hi[w] &^= 1 << (i % 64)
	}
}

func (s *friendSet) has(i int32) bool {
	if i < 64 {
		return s.lo&(1<<i) != 0
	}
	hi, w := s.high(), int(i/64-1)
	return w < len(hi) && hi[w]&(1<<(i%64)) != 0
}

func (s *friendSet) count() int {
	n := bits.OnesCount64(s.lo)
	for _, w := range s.high() {
		n += bits.OnesCount64(w)
	}
	return n
}

// union adds the members of o. The sets share no memory afterwards.
func (s *friendSet) union(o *friendSet) {
	s.lo |= o.lo
	for w, v := range o.high() {
		if v != 0 {
			*s.word(int32(64 * (w + 1))) |= v
		}
	}
}
