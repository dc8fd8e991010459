package mesh

import (
	"maps"
	"slices"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// HandleOnline implements Handler.
func (n *Node) HandleOnline(friend FriendKey, online bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started || n.closed {
		return
	}
	now := n.clock.Now()
	n.now = now
	if online {
		if p := n.peer(friend); !p.online {
			n.connected(p)
		}
	} else if p := n.lookup(friend); p != nil && p.online {
		n.disconnected(p, now)
	}
	n.flush(now)
	n.arm(now)
}

// connected greets a friend whose connection is up. Offers wait for its
// hello.
func (n *Node) connected(p *peer) {
	p.connect()
	n.sayHello(p)
}

func (n *Node) sayHello(p *peer) {
	if n.send(p, encodeHello(n.pool, n.session)) {
		p.helloSent = true
	}
}

func (n *Node) disconnected(p *peer, now time.Time) {
	p.confirmPushes(now.UnixNano(), ackConfirm, &n.ackHeap)
	p.disconnect()
	n.requestsGone(p, now)
}

// requestsGone asks other friends (or the same one later) for what we were
// waiting on from p.
func (n *Node) requestsGone(p *peer, now time.Time) {
	for _, in := range n.inflightQueue {
		if !in.done && in.from == p {
			n.retryRequest(in, now)
		}
	}
}

// receive starts handling size bytes from a friend, with n.mu held: it
// returns the friend's state and the time, or false if the node is not
// running. The caller ends with flush and arm.
func (n *Node) receive(from FriendKey, size int) (*peer, time.Time, bool) {
	if !n.started || n.closed {
		return nil, time.Time{}, false
	}
	now := n.clock.Now()
	n.now = now
	p := n.peer(from)
	if !p.online {
		n.connected(p) // a frame proves the connection; greet it
	}
	n.stats.FramesIn++
	n.stats.BytesIn += uint64(size)
	return p, now, true
}

// BorrowsFrame implements FrameBorrower: the node keeps the bytes of an
// envelope frame and nothing of any other frame (decoding copies what it
// needs), so its transport may reuse those frames' buffers.
func (n *Node) BorrowsFrame(frame []byte) bool {
	return len(frame) < 2 || frame[1] != frameEnvelope
}

// HandleFrame implements Handler: one frame from a friend.
func (n *Node) HandleFrame(from FriendKey, frame []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, now, ok := n.receive(from, len(frame))
	if !ok {
		return
	}
	typ, payload, err := frameType(frame)
	if err == nil {
		switch typ {
		case frameHello:
			err = n.onHello(p, payload, now)
		case frameOffer:
			err = n.onOffer(p, payload, now)
		case frameRequest:
			err = n.onRequest(p, payload, now)
		case frameEnvelope:
			n.onEnvelope(p, payload, now)
		case frameAck:
			err = n.onAcks(p, payload, now)
		}
	}
	if err != nil {
		n.stats.BadFrames++
		n.log.Debug("bad frame", "from", from, "err", err)
	}
	n.flush(now)
	n.arm(now)
}

func (n *Node) onHello(p *peer, payload []byte, now time.Time) error {
	session, err := decodeHello(payload)
	if err != nil {
		return err
	}
	if p.ready {
		if session == p.session {
			return nil
		}
		// The friend restarted without the link going down: start over,
		// at most once per RequestTimeout, since each time costs a full
		// hand-over and a hello costs the friend six bytes. A restart
		// sooner than that waits, with the latest session (resetsDue).
		if p.resetPending || now.UnixNano() < p.resetDue(n.cfg.RequestTimeout) {
			if !p.resetPending {
				n.resets = append(n.resets, p)
			}
			p.resetPending, p.session = true, session
			return nil
		}
		n.endSession(p, now)
	}
	n.beginSession(p, session, now)
	return nil
}

// endSession forgets a mesh session with a friend whose link stays up.
func (n *Node) endSession(p *peer, now time.Time) {
	p.confirmPushes(now.UnixNano(), ackConfirm, &n.ackHeap)
	p.resetSession()
	n.requestsGone(p, now)
	p.helloSent = false
}

// beginSession starts a mesh session with a friend whose hello came.
func (n *Node) beginSession(p *peer, session uint32, now time.Time) {
	if !p.helloSent {
		n.sayHello(p)
	}
	p.ready, p.session = true, session
	n.handOver(p)
	p.handedOver = uint32(now.Unix())
}

// resetsDue starts over the sessions of the friends whose restart waited
// (see onHello) and may go now, and forgets those that went offline
// meanwhile (their next connection starts afresh).
func (n *Node) resetsDue(now time.Time) {
	keep := n.resets[:0]
	for _, p := range n.resets {
		switch {
		case p.link == nil || !p.ready || !p.resetPending:
		case now.UnixNano() < p.resetDue(n.cfg.RequestTimeout):
			keep = append(keep, p)
		default:
			n.endSession(p, now) // a new link: resetPending is clear
			n.beginSession(p, p.session, now)
		}
	}
	clear(n.resets[len(keep):])
	n.resets = keep
}

// handOver offers a friend that just became reachable everything it may
// lack: first the envelopes addressed to it, then the rest with hops left,
// and sends it the acks meant for it that it has not had from us (and
// again those of envelopes we sent it).
func (n *Node) handOver(p *peer) {
	// bit is p's may bit (see heldHeap.may and ackHeap.may); a friend
	// past the first 32 has none, and every entry is read for it.
	bit := uint32(0)
	if p.idx < 32 {
		bit = 1 << p.idx
	}
	first, rest := n.scratch.first[:0], n.scratch.rest[:0]
	for _, h := range []*heldHeap{&n.own, &n.relay} {
		for k, e := range h.items {
			if bit != 0 && h.may[k]&bit == 0 {
				continue
			}
			h.may[k] = e.mayOffer()
			if e.meta.Hops == 0 || e.known.has(p.idx) || e.from == p {
				continue
			}
			if p.tagFor(e.meta.Expiry) == e.meta.Tag {
				first = append(first, e)
			} else {
				rest = append(rest, e)
			}
		}
	}
	sortEntries(first)
	sortEntries(rest)
	// One allocation for the whole hand-over rather than a doubling per
	// append; the link keeps the capacity while it is up.
	p.offers = slices.Grow(p.offers, len(first)+len(rest))
	for _, e := range first {
		n.queueOffer(p, e)
	}
	for _, e := range rest {
		n.queueOffer(p, e)
	}
	clear(first)
	clear(rest)
	n.scratch.first, n.scratch.rest = first[:0], rest[:0]
	pushes := n.scratch.pushes[:0]
	acks := &n.ackHeap
	for k, a := range acks.items {
		if acks.isDone(k) || bit != 0 && acks.may[k]&bit == 0 {
			continue
		}
		acks.may[k] = a.mayPush()
		switch {
		case a.pushTo(p.idx, true):
			pushes = append(pushes, a)
		case !a.owed(len(n.peers)):
			acks.mark(k, true)
		}
	}
	n.queueAcks(p, pushes)
	clear(pushes)
	n.scratch.pushes = pushes[:0]
}

func (n *Node) onOffer(p *peer, payload []byte, now time.Time) error {
	seq, items, err := decodeOffer(payload, n.scratch.offers[:0])
	n.scratch.offers = items[:0]
	if err != nil {
		return err
	}
	n.stats.OffersIn += uint64(len(items))
	want := n.scratch.ids[:0]
	var deferred []envelope.ID
	for i := range items {
		it := &items[i]
		if r := n.ids.get(it.id); r != nil {
			if a := r.ack; a != nil {
				n.queueAck(p, a) // whatever we sent before: the offerer still holds a copy
				continue
			}
			if e := r.held; e != nil {
				n.friendHas(p, e, it.hops)
				continue
			}
			if in := r.in; in != nil {
				in.offerers.add(p.idx)
				in.maxHops = max(in.maxHops, it.hops)
				in.minHops = min(in.minHops, it.hops)
				if in.waiting && n.roomFor(p) && !in.ackers.has(p.idx) {
					// No request is out (see retryRequest) and this
					// friend has room: ask it now.
					n.endInflight(in)
					next := in.next(p, in.tries+1, now.Add(n.cfg.RequestTimeout))
					next.tried.add(p.idx)
					n.setInflight(it.id, next)
					p.inflight++
					n.inflightQueue = append(n.inflightQueue, next)
					n.stats.RequestRetries++
					want = append(want, it.id)
				}
				continue
			}
		}
		seen, err := n.seenErr(it.id)
		if err != nil {
			deferred = append(deferred, it.id) // cannot tell now; ask again later
			continue
		}
		if seen || n.turnedAway(it.id, now) {
			continue
		}
		if !n.acceptable(int(it.size), it.expiry, now) {
			n.stats.Refused++
			n.noteTooLarge(int(it.size), now)
			continue
		}
		if n.nInflight >= n.cfg.MaxInflight || int(p.inflight) >= n.cfg.MaxInflightPerFriend {
			deferred = append(deferred, it.id)
			continue
		}
		in := &inflight{id: it.id, from: p, expiry: it.expiry, maxHops: it.hops, minHops: it.hops, tries: 1, deadline: now.Add(n.cfg.RequestTimeout)}
		in.offerers.add(p.idx)
		in.tried.add(p.idx)
		n.setInflight(it.id, in)
		p.inflight++
		n.inflightQueue = append(n.inflightQueue, in)
		want = append(want, it.id)
	}
	n.scratch.ids = want[:0]
	n.stats.RequestsOut += uint64(len(want))
	n.stats.Deferred += uint64(len(deferred))
	if len(want) > 0 || len(deferred) > 0 {
		// An offer of nothing new is not answered: duplicates, most of a
		// flood's offers, cost the receiver no frame.
		n.send(p, encodeRequest(n.pool, seq, want, deferred))
	}
	return nil
}

// acceptable checks an envelope's size and expiry against the budgets.
func (n *Node) acceptable(size int, expiry int64, now time.Time) bool {
	if size < envelope.SealedSize(0) || size > n.cfg.MaxEnvelopeSize {
		return false
	}
	if float64(size) > float64(n.cfg.MaxHeldBytes)*n.cfg.FriendShare {
		return false // no friend could hand it over within its share
	}
	if expiry <= now.Unix() {
		return false
	}
	return expiry <= now.Add(n.cfg.MaxLifetime+n.cfg.ClockSkew).Unix()
}

// tooLargeEvery is how often, at most, the node says that friends offer
// envelopes larger than it takes.
const tooLargeEvery = 10 * time.Minute

// noteTooLarge logs, at most once every tooLargeEvery, that friends offer
// envelopes larger than MaxEnvelopeSize: an offer does not say whose mail
// it is, so mail for this node may be among them, and it cannot arrive
// (its sender's outbox keeps it "offered" until it expires).
func (n *Node) noteTooLarge(size int, now time.Time) {
	if size <= n.cfg.MaxEnvelopeSize {
		return
	}
	n.tooLarge.offers++
	n.tooLarge.largest = max(n.tooLarge.largest, size)
	if !n.tooLarge.said.IsZero() && now.Sub(n.tooLarge.said) < tooLargeEvery {
		return
	}
	n.log.Info("friends offer envelopes larger than this node takes; mail for it among them cannot arrive "+
		"(raise max_envelope_size to take them)", "offers", n.tooLarge.offers, "largest", n.tooLarge.largest,
		"max_envelope_size", n.cfg.MaxEnvelopeSize)
	n.tooLarge.offers, n.tooLarge.largest, n.tooLarge.said = 0, 0, now
}

// friendHas notes that friend p has a copy of held entry e, offered (or
// sent) with hops: ours is upgraded if p's copy goes further, and p is
// offered ours if ours goes further than p's (canRaise).
func (n *Node) friendHas(p *peer, e *heldEntry, hops uint8) {
	e.known.add(p.idx)
	switch {
	case hops > e.meta.Hops && !e.meta.Own:
		n.upgrade(e, hops, p)
	case canRaise(hops, e.meta.Hops):
		n.queueOffer(p, e) // its copy can go further with ours
	}
}

// canRaise reports whether a friend that offered a copy with offered hops
// left (its own count less one) gains from an offer of ours, held with
// held hops: the friend would then hold held-1, more than offered+1. A
// copy that came the long way round (a friend was offline on the short
// one) is raised so; without it, a recipient within the sender's TTL but
// only beyond that friend is never reached.
func canRaise(offered, held uint8) bool { return int(offered)+2 < int(held) }

// upgrade raises a held copy's hop counter when a friend offers it with
// more hops left, and offers it onward with the new count.
func (n *Node) upgrade(e *heldEntry, hops uint8, from *peer) {
	hops = min(hops, n.cfg.MaxHops)
	if hops <= e.meta.Hops {
		return
	}
	e.meta.Hops = hops
	n.batch.SetHops(e.meta.ID, hops)
	if n.apply() != nil {
		return
	}
	n.stats.Upgrades++
	for _, q := range n.peers {
		if q != from && q.ready {
			n.queueOffer(q, e)
		}
	}
}

// servedAgainAfter is how soon the same body may be sent to the same friend
// again: a friend asks again only after its request timed out.
func (n *Node) servedAgainAfter() time.Duration { return n.cfg.RequestTimeout / 2 }

func (n *Node) onRequest(p *peer, payload []byte, now time.Time) error {
	_, ids, nWant, err := decodeRequest(payload, n.scratch.ids[:0])
	n.scratch.ids = ids[:0]
	if err != nil {
		return err
	}
	want, deferred := ids[:nWant], ids[nWant:]
	n.stats.RequestsIn += uint64(nWant)
	for _, id := range deferred {
		// The friend has no room for it now. Only what we offered it can
		// be deferred: anything else is not queued.
		if r := n.ids.get(id); r != nil && r.held != nil && r.held.offered.has(p.idx) {
			n.queueOfferLater(p, r.held)
		}
	}
	for i, id := range want {
		if slices.Contains(want[:i], id) {
			continue // asked twice in one frame: served once
		}
		n.serve(p, id, now)
	}
	return nil
}

// serve answers p's request for id: the body of the copy held, unless it
// may travel no further or was just sent; the ack, if the mail was
// delivered. A body whose frame the backlog has no room for waits (see
// serveLater).
func (n *Node) serve(p *peer, id envelope.ID, now time.Time) {
	r := n.ids.get(id)
	if r == nil {
		return
	}
	if r.ack != nil {
		n.queueAck(p, r.ack)
		return
	}
	e := r.held
	if e == nil || e.meta.Hops == 0 {
		return // gone, or it may travel no further
	}
	if !n.mayServe(p, id, now) {
		return
	}
	if len(p.backlog) > 0 && p.backlogBytes+2+e.meta.Size > n.backlogLimit() {
		n.serveLater(p, id)
		return
	}
	env, err := n.deps.Store.Envelope(id)
	if err != nil {
		n.stats.StoreErrors++
		n.log.Warn("held envelope unreadable", "id", id, "err", err)
		return
	}
	if n.sendEnvelope(p, id, env, e.meta.Hops-1) {
		n.stats.EnvelopesOut++
		e.served.add(p.idx)
		n.noteServed(p, id, now)
	}
}

// servedCap is how many bodies per MaxInflightPerFriend the record of
// what went to a friend lists (see mayServe).
const servedCap = 8

// servedLog is what bodies went to a friend of late: when each was last
// sent (Unix nanoseconds; 8 bytes, where a time.Time takes 24, for there
// may be millions across a simulated network).
type servedLog struct {
	at map[envelope.ID]int64
	// pruneAt is when the record, full, may next lose an entry to age:
	// until then a full record refuses without walking itself, so a
	// friend's requests cannot make each refusal cost a walk over
	// thousands of entries under the node's lock.
	pruneAt int64
}

// mayServe reports whether id's body may go to p now: not if it went to p
// less than servedAgainAfter ago, nor while the record of what went to p
// in that time is full (8 × MaxInflightPerFriend bodies: more than an
// honest friend asks for, which asks again after RequestTimeout). Before,
// a full record was wiped, and a friend that asked for 4,097 bodies could
// have every one of them again at once, as often as it liked.
func (n *Node) mayServe(p *peer, id envelope.ID, now time.Time) bool {
	l := p.served
	if l == nil {
		return true
	}
	t, again := now.UnixNano(), int64(n.servedAgainAfter())
	if at, ok := l.at[id]; ok && t-at < again {
		return false
	}
	limit := servedCap * n.cfg.MaxInflightPerFriend
	if len(l.at) >= limit && t >= l.pruneAt {
		oldest := t
		maps.DeleteFunc(l.at, func(_ envelope.ID, at int64) bool {
			if t-at >= again {
				return true
			}
			oldest = min(oldest, at)
			return false
		})
		l.pruneAt = oldest + again
	}
	if len(l.at) >= limit {
		n.stats.ServesRefused++
		return false
	}
	return true
}

// noteServed records that id's body went to p now.
func (n *Node) noteServed(p *peer, id envelope.ID, now time.Time) {
	if p.served == nil {
		p.served = &servedLog{at: make(map[envelope.ID]int64)}
	}
	p.served.at[id] = now.UnixNano()
}

// serveLater keeps p's request for id, whose frame would wait behind a
// backlog with no room for it (see toBacklog), until the backlog drains
// (flushBacklog): the body is not read now, so a friend applying
// backpressure cannot make the node read it again with every request,
// and the friend gets it as soon as it can take it instead of asking again
// after RequestTimeout. Past MaxInflightPerFriend waiting requests (as
// many as the friend may have out), it is dropped.
func (n *Node) serveLater(p *peer, id envelope.ID) {
	if slices.Contains(p.servePending, id) {
		return
	}
	if len(p.servePending) >= n.cfg.MaxInflightPerFriend {
		n.stats.SendErrors++
		n.stats.BacklogDropped++
		return
	}
	p.servePending = append(p.servePending, id)
	n.stats.ServedLater++
}

func (n *Node) onAcks(p *peer, payload []byte, now time.Time) error {
	acks, err := decodeAcks(payload, n.scratch.acks[:0])
	n.scratch.acks = acks[:0]
	if err != nil {
		return err
	}
	n.stats.AcksIn += uint64(len(acks))
	for _, a := range acks {
		n.takeAck(p, a, now)
	}
	return nil
}

// takeAck checks an ack against the held envelope it names and, if it
// verifies, drops the copy, remembers the ack and floods it on. An ack for
// an envelope still being fetched waits for the body.
func (n *Node) takeAck(p *peer, a envelope.Ack, now time.Time) {
	r := n.ids.get(a.ID)
	if r != nil && r.ack != nil {
		r.ack.known.add(p.idx)
		n.ackHeap.narrow(r.ack, p.idx)
		return
	}
	if r != nil && r.in != nil && r.held == nil {
		in := r.in
		if !in.ackers.has(p.idx) && len(in.acks) < maxEarlyAcks {
			in.acks = append(in.acks, a) // checked when the body comes
		}
		in.ackers.add(p.idx)
		if in.from == p && !in.done {
			// The friend answered our request with the ack (or, if we
			// were waiting to ask it, sent it): it dropped its copy when
			// the mail was delivered. Ask another that offered it now
			// rather than after the request times out.
			if !in.waiting {
				n.stats.RequestsAcked++
			}
			n.retryRequest(in, now)
		}
		return
	}
	if r == nil || r.held == nil {
		if !n.takeEvictedAck(p, a, now) {
			n.stats.AcksUnknown++
		}
		return
	}
	e := r.held
	if !a.Verify(e.meta.AckHash) {
		n.forgedAck(p, a.ID, now)
		return
	}
	rec := AckRecord{Ack: a, Expiry: e.meta.Expiry}
	n.batch.DeleteHeld(a.ID)
	n.batch.PutAck(rec)
	var o *OutboxEntry
	if e.meta.Own {
		if cur := n.outbox[a.ID]; cur != nil {
			c := *cur
			c.Status = StatusDelivered
			c.Delivered = now.UnixMilli()
			n.batch.PutOutbox(c)
			o = &c
		}
	}
	if n.apply() != nil {
		return
	}
	n.stats.AcksVerified++
	n.unindex(e)
	if o != nil {
		n.outbox[a.ID] = o
		n.log.Info("mail delivered", "id", a.ID, "to", o.To)
	}
	ae := n.addAck(rec)
	ae.known.add(p.idx)
	ae.target(e)
	n.ackHeap.fit(ae)
	n.floodAck(ae)
}

// forgedAck counts an ack that does not match its envelope's ack hash,
// and logs it, spaced out: any friend can send them at will.
func (n *Node) forgedAck(p *peer, id envelope.ID, now time.Time) {
	n.stats.AcksForged++
	if ok, held := n.warnings().forgedAck.Allow(now); ok {
		n.log.Warn("forged ack", "from", p.key, "id", id, "not_logged_since_the_last", held)
	}
}

// floodAck sends an ack to every mesh friend it is for that has not had it.
// It asks the ack's sets first (a friend's index is its position in
// n.peers), so friends it is not for cost no read of their state.
func (n *Node) floodAck(ae *ackEntry) {
	for k, q := range n.peers {
		if ae.pushTo(int32(k), false) && q.ready {
			n.queueAck(q, ae)
		}
	}
}

// seenErr reports whether the node has seen id (the LRU, then the store's
// seen set), and store failures as errors rather than guesses.
func (n *Node) seenErr(id envelope.ID) (bool, error) {
	if n.seen != nil {
		if _, ok := n.seen.Get(id); ok {
			return true, nil
		}
	}
	ok, err := n.deps.Store.Seen(id)
	if err != nil {
		n.stats.StoreErrors++
		n.log.Warn("seen-set lookup failed", "id", id, "err", err)
		return false, err
	}
	if ok {
		n.cacheSeen(id)
	}
	return ok, nil
}
