package mesh

import (
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// maxOutstanding bounds the offer batches awaiting a request per friend; an
// older batch is forgotten (its IDs are simply offered again later).
const maxOutstanding = 64

// peer is the node's state for one friend.
type peer struct {
	key    FriendKey
	idx    int  // index into Node.peers, for friendSet
	online bool // the transport says the friend is connected
	ready  bool // the friend's hello arrived: it speaks the mesh protocol
	dirty  bool // has queued output; listed in Node.dirty

	offers   []*heldEntry // queued offers, framed at offerDue
	offerDue time.Time    // when queued offers are sent (Config.OfferDelay)
	acks     []*ackEntry  // queued acks, sent at the next flush
	// outstanding maps an offer frame's seq to the frame itself (it lists
	// the IDs) until the request answering it arrives.
	outstanding map[uint32][]byte
	outOrder    []uint32 // seqs of outstanding, oldest first

	// Relay envelopes this friend handed us, for its FriendShare.
	heap      heldHeap
	heldBytes int64

	tagEpoch uint64 // cache of the friend's recipient tag
	tag      envelope.Tag
	tagValid bool
}

// tagFor returns the friend's recipient tag for an expiry.
func (p *peer) tagFor(expiry int64) envelope.Tag {
	e := envelope.Epoch(expiry)
	if !p.tagValid || p.tagEpoch != e {
		p.tag, p.tagEpoch, p.tagValid = envelope.MakeTag(p.key, e), e, true
	}
	return p.tag
}

// remember records an offer batch awaiting its request.
func (p *peer) remember(seq uint32, frame []byte) {
	if p.outstanding == nil {
		p.outstanding = make(map[uint32][]byte)
	}
	p.outstanding[seq] = frame
	p.outOrder = append(p.outOrder, seq)
	for len(p.outOrder) > maxOutstanding {
		delete(p.outstanding, p.outOrder[0])
		p.outOrder = p.outOrder[1:]
	}
}

// answered removes and returns the offer frame seq (nil if unknown).
func (p *peer) answered(seq uint32) []byte {
	f, ok := p.outstanding[seq]
	if !ok {
		return nil
	}
	delete(p.outstanding, seq)
	for i, s := range p.outOrder {
		if s == seq {
			p.outOrder = append(p.outOrder[:i], p.outOrder[i+1:]...)
			break
		}
	}
	return f
}

// disconnect forgets everything that only made sense while connected.
func (p *peer) disconnect() {
	p.online, p.ready = false, false
	clear(p.offers)
	p.offers = p.offers[:0]
	p.acks = p.acks[:0]
	p.outstanding, p.outOrder = nil, nil
}

// friendSet is a set of peer indices: a bitmap, inline for the first 64.
type friendSet struct {
	lo uint64
	hi []uint64
}

func (s *friendSet) add(i int) {
	if i < 64 {
		s.lo |= 1 << i
		return
	}
	w := i/64 - 1
	for len(s.hi) <= w {
		s.hi = append(s.hi, 0)
	}
	s.hi[w] |= 1 << (i % 64)
}

func (s *friendSet) has(i int) bool {
	if i < 64 {
		return s.lo&(1<<i) != 0
	}
	w := i/64 - 1
	return w < len(s.hi) && s.hi[w]&(1<<(i%64)) != 0
}

func (s *friendSet) union(o *friendSet) {
	s.lo |= o.lo
	for w, v := range o.hi {
		for len(s.hi) <= w {
			s.hi = append(s.hi, 0)
		}
		s.hi[w] |= v
	}
}
