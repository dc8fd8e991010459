package mesh

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// backlogRetry is how long a friend's backlog waits after the transport
// refused a frame for backpressure.
const backlogRetry = time.Second

// send hands one frame to the transport. A frame refused for now
// (backpressure) waits in the friend's backlog, in order, and goes out
// before anything else once the transport takes frames again. send reports
// false only when the frame is lost: the friend is offline, the backlog is
// full, or the error is permanent.
func (n *Node) send(p *peer, frame []byte) bool {
	if len(p.backlog) > 0 {
		return n.toBacklog(p, frame)
	}
	err := n.deps.Transport.Send(p.key, frame)
	if err == nil {
		n.stats.FramesOut++
		n.stats.BytesOut += uint64(len(frame))
		return true
	}
	if errors.Is(err, ErrOffline) || !Temporary(err) {
		n.stats.SendErrors++
		n.log.Debug("send failed", "to", p.key, "err", err)
		return false
	}
	return n.toBacklog(p, frame)
}

// sendEnvelope sends a held envelope's body with hops left: as a
// SharedEnvelope when the transport can carry one and nothing waits in the
// friend's backlog, else as a frame.
func (n *Node) sendEnvelope(p *peer, id envelope.ID, env []byte, hops uint8) bool {
	if n.carrier != nil && len(p.backlog) == 0 {
		err := n.carrier.SendEnvelope(p.key, SharedEnvelope{ID: id, Bytes: env}, hops)
		if err == nil {
			n.stats.FramesOut++
			n.stats.BytesOut += uint64(2 + len(env))
			return true
		}
		if errors.Is(err, ErrOffline) || !Temporary(err) {
			n.stats.SendErrors++
			n.log.Debug("send failed", "to", p.key, "err", err)
			return false
		}
		// Backpressure: the framed copy waits in the backlog.
	}
	return n.send(p, encodeEnvelope(env, hops))
}

// backlogLimit bounds one friend's backlog: room for two of the largest
// envelopes and plenty of small frames.
func (n *Node) backlogLimit() int { return 2*n.cfg.MaxEnvelopeSize + 1<<20 }

func (n *Node) toBacklog(p *peer, frame []byte) bool {
	if p.backlogBytes+len(frame) > n.backlogLimit() {
		n.stats.SendErrors++
		n.stats.BacklogDropped++
		return false
	}
	if len(p.backlog) == 0 {
		p.backlogDue = n.now.Add(backlogRetry)
		if n.backlogDue.IsZero() || p.backlogDue.Before(n.backlogDue) {
			n.backlogDue = p.backlogDue
		}
	}
	p.backlog = append(p.backlog, frame)
	p.backlogBytes += len(frame)
	n.stats.Backlogged++
	n.markDirty(p)
	return true
}

// flushBacklog retries a friend's backlog when it is due.
func (n *Node) flushBacklog(p *peer, now time.Time) {
	if len(p.backlog) == 0 || now.Before(p.backlogDue) {
		return
	}
	for len(p.backlog) > 0 {
		f := p.backlog[0]
		err := n.deps.Transport.Send(p.key, f)
		if err != nil {
			if errors.Is(err, ErrOffline) || !Temporary(err) {
				n.stats.SendErrors += uint64(len(p.backlog))
				p.backlog, p.backlogBytes = nil, 0
				return
			}
			p.backlogDue = now.Add(backlogRetry)
			return
		}
		n.stats.FramesOut++
		n.stats.BytesOut += uint64(len(f))
		p.backlog[0] = nil
		p.backlog = p.backlog[1:]
		p.backlogBytes -= len(f)
	}
	p.backlog = nil
	// Drained: the requests that waited for room are served now, in
	// order (one that finds the backlog full again waits again).
	pending := p.servePending
	p.servePending = nil
	for _, id := range pending {
		n.serve(p, id, now)
	}
}

func (n *Node) markDirty(p *peer) {
	if !p.dirty {
		p.dirty = true
		n.dirty = append(n.dirty, p)
	}
}

// queueOffer queues an offer of a held envelope to a friend; it goes out
// within Config.OfferDelay, batched with others.
//
// On the last hop (the copy may travel one more link) only the recipient
// is offered it: a copy arriving with no hops left is of use to nobody else.
func (n *Node) queueOffer(p *peer, e *heldEntry) {
	if !p.ready || e.meta.Hops == 0 || (e.meta.Hops == 1 && p.tagFor(e.meta.Expiry) != e.meta.Tag) {
		return
	}
	bit := p.offerBit()
	if e.queued&bit != 0 || len(p.offers) >= n.queueCap(n.nHeld) {
		return // queued already (the offer reads the hops when it goes), or full
	}
	e.queued |= bit
	if len(p.offers) == 0 {
		p.offerDue = n.now.Add(n.cfg.OfferDelay)
		if n.offersDue.IsZero() || p.offerDue.Before(n.offersDue) {
			n.offersDue = p.offerDue
		}
	}
	p.offers = append(p.offers, e)
	n.markDirty(p)
}

// queueOfferLater queues an offer the friend deferred: it goes out again
// after a quarter of RequestTimeout, when the friend may have room.
func (n *Node) queueOfferLater(p *peer, e *heldEntry) {
	if !p.ready || e.meta.Hops == 0 || (e.meta.Hops == 1 && p.tagFor(e.meta.Expiry) != e.meta.Tag) {
		return
	}
	bit := p.offerBit()
	if e.queued&bit != 0 || len(p.offers) >= n.queueCap(n.nHeld) {
		return
	}
	e.queued |= bit
	due := n.now.Add(n.cfg.RequestTimeout / 4)
	if len(p.offers) == 0 || p.offerDue.Before(due) {
		p.offerDue = due
	}
	if n.offersDue.IsZero() || p.offerDue.Before(n.offersDue) {
		n.offersDue = p.offerDue
	}
	p.offers = append(p.offers, e)
	n.markDirty(p)
}

// queueCap bounds a friend's offer or ack queue, given how many entries
// (held envelopes or acks) the node has: each is queued once per friend
// (for the friends with a queued bit), so an honest queue is shorter but
// for entries that went while it waited. A friend that applies
// backpressure and keeps asking for more would otherwise grow it without
// bound. What the cap turns away is not lost: an offer goes again at the
// friend's next session (handOver offers what it is not known to have),
// an ack pushed to it as well (it is not marked sent), and an ack that
// answers an offer goes when the friend offers again.
func (n *Node) queueCap(entries int) int { return 2*entries + n.cfg.MaxBatch }

// queueAck queues an ack to a friend for the next flush.
func (n *Node) queueAck(p *peer, a *ackEntry) { n.queueAcks(p, []*ackEntry{a}) }

// queueAcks queues acks to a friend for the next flush, in order, each
// once.
func (n *Node) queueAcks(p *peer, acks []*ackEntry) {
	if len(acks) == 0 || !p.ready || n.cfg.NoAcks {
		return
	}
	bit, limit := p.ackBit(), n.queueCap(n.nAcks)
	for _, a := range acks {
		if len(p.acks) >= limit {
			break
		}
		if a.queued&bit == 0 {
			a.queued |= bit
			p.acks = append(p.acks, a)
		}
	}
	n.acksQueued = true
	n.markDirty(p)
}

// flush sends queued acks, and queued offers that are due, as batched
// frames.
func (n *Node) flush(now time.Time) {
	if len(n.dirty) == 0 || (!n.acksQueued && now.Before(n.offersDue) && (n.backlogDue.IsZero() || now.Before(n.backlogDue))) {
		n.apply()
		return
	}
	n.acksQueued = false
	n.offersDue, n.backlogDue = time.Time{}, time.Time{}
	keep := n.dirty[:0]
	for _, p := range n.dirty {
		if !p.online {
			p.disconnect()
			p.dirty = false
			continue
		}
		n.flushBacklog(p, now)
		n.flushAcks(p, now)
		if len(p.offers) > 0 && !now.Before(p.offerDue) && len(p.backlog) == 0 {
			n.flushOffers(p, now)
		}
		if len(p.offers) > 0 && len(p.backlog) > 0 && !p.backlogDue.Before(p.offerDue) {
			p.offerDue = p.backlogDue.Add(time.Millisecond) // after the backlog drains
		}
		if len(p.offers) > 0 || len(p.acks) > 0 || len(p.backlog) > 0 {
			keep = append(keep, p)
			if len(p.offers) > 0 && (n.offersDue.IsZero() || p.offerDue.Before(n.offersDue)) {
				n.offersDue = p.offerDue
			}
			if len(p.backlog) > 0 && (n.backlogDue.IsZero() || p.backlogDue.Before(n.backlogDue)) {
				n.backlogDue = p.backlogDue
			}
			n.acksQueued = n.acksQueued || len(p.acks) > 0
		} else {
			p.dirty = false
		}
	}
	clear(n.dirty[len(keep):])
	n.dirty = keep
	n.apply()
}

func (n *Node) flushAcks(p *peer, now time.Time) {
	all, bit := p.acks, p.ackBit()
	for len(p.acks) > 0 {
		k := min(len(p.acks), n.cfg.MaxBatch)
		chunk := p.acks[:k]
		acks := n.scratch.acks[:0]
		for _, a := range chunk {
			acks = append(acks, a.rec.Ack)
		}
		n.scratch.acks = acks[:0]
		if !n.send(p, encodeAcks(n.pool, acks)) {
			break // the friend is unreachable; it gets them when it is back
		}
		at := now.UnixNano()
		// A push that waits in the backlog may wait longer than
		// ackConfirm and then be lost with the link: only one the
		// transport took is confirmed by the link staying up. One that
		// waits stays owed, and goes again on the friend's next session.
		direct := len(p.backlog) == 0
		for _, a := range chunk {
			a.queued &^= bit
			a.sent.add(p.idx)
			if a.served.has(p.idx) {
				if direct {
					p.pushed = append(p.pushed, ackPush{a, at})
				}
			} else {
				n.ackHeap.narrow(a, p.idx)
			}
		}
		if len(p.pushed) >= maxPushed {
			p.confirmPushes(at, ackConfirm, &n.ackHeap)
		}
		n.stats.AcksOut += uint64(k)
		p.acks = p.acks[k:]
	}
	if len(p.acks) == 0 {
		clear(all)
		p.acks = all[:0] // keep the capacity for the next batch
	}
}

func (n *Node) flushOffers(p *peer, now time.Time) {
	var own []*heldEntry
	ok := true
	queue, bit := p.offers, p.offerBit()
	for len(queue) > 0 && ok {
		k := min(len(queue), n.cfg.MaxBatch)
		chunk := queue[:k]
		queue = queue[k:]
		live := 0
		for _, e := range chunk {
			e.queued &^= bit
			if !e.gone && e.meta.Hops > 0 {
				chunk[live] = e // still held and may travel
				live++
			}
		}
		if live == 0 {
			continue
		}
		n.seq++
		if n.seq == 0 {
			n.seq = 1 // 0 means "not an answer to an offer"
		}
		frame := offerFrame(n.pool, n.seq, live)
		for _, e := range chunk[:live] {
			frame = appendOfferEntry(frame, &offerItem{id: e.meta.ID, hops: e.meta.Hops - 1, size: uint32(e.meta.Size), expiry: e.meta.Expiry})
			e.offered.add(p.idx)
			if e.meta.Own {
				own = append(own, e)
			}
		}
		if ok = n.send(p, frame); ok {
			n.stats.OffersOut += uint64(live)
		}
	}
	for _, e := range queue {
		e.queued &^= bit // not sent: the friend is unreachable
	}
	clear(p.offers)
	p.offers = p.offers[:0] // keep the capacity for the next batch
	if !ok {
		return // the friend is unreachable: everything is offered again when it is back
	}
	for _, e := range own {
		if o := n.outbox[e.meta.ID]; o != nil && o.Status == StatusQueued {
			c := *o
			c.Status, c.Offered = StatusOffered, now.UnixMilli()
			n.batch.PutOutbox(c)
			n.outbox[c.ID] = &c
		}
	}
}

// arm sets the node's single timer to the next moment it has work: an
// expiry, a request deadline, a delivery retry, a delayed offer or the
// periodic sweep.
func (n *Node) arm(now time.Time) {
	if n.closed {
		return
	}
	// Unix nanoseconds: arm runs after every event, and comparing
	// integers is cheaper than building times.
	next := int64(math.MaxInt64)
	consider := func(ns int64) { next = min(next, ns) }
	considerTime := func(t time.Time) {
		if !t.IsZero() {
			consider(t.UnixNano())
		}
	}
	for _, h := range []*heldHeap{&n.relay, &n.own} {
		if x, ok := h.firstExpiry(); ok {
			consider(unixNanos(x))
		}
	}
	if n.ackHeap.Len() > 0 {
		consider(unixNanos(n.ackFirst))
	}
	// Requests answered in the meantime leave the queue here rather than
	// being stepped over after every event until the next sweep.
	for len(n.inflightQueue) > 0 && n.inflightQueue[0].done {
		n.inflightQueue[0] = nil
		n.inflightQueue = n.inflightQueue[1:]
	}
	if len(n.inflightQueue) > 0 {
		considerTime(n.inflightQueue[0].deadline)
	}
	for _, r := range n.retry {
		considerTime(r.at)
	}
	for _, p := range n.resets {
		if p.link != nil && p.resetPending {
			consider(p.resetDue(n.cfg.RequestTimeout))
		}
	}
	considerTime(n.offersDue)
	considerTime(n.backlogDue)
	if n.cfg.SweepInterval > 0 {
		considerTime(n.lastSweep.Add(n.cfg.SweepInterval))
	}
	if next == math.MaxInt64 {
		return
	}
	if n.timerArmed && n.timerAt <= next {
		return // the armed timer fires first and re-arms
	}
	n.timerArmed, n.timerAt = true, next
	d := time.Duration(next - now.UnixNano())
	if n.timer == nil {
		n.timer = n.clock.AfterFunc(d, n.wake)
	} else {
		n.timer.Reset(d)
	}
}

// unixNanos converts Unix seconds to nanoseconds, saturating past the
// year 2262 (an expiry that far off is never due).
func unixNanos(sec int64) int64 {
	if sec > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64 - 1
	}
	return sec * int64(time.Second)
}

// wake is the node's timer. A wake-up that comes early or twice (a Reset
// racing with a real timer that already fired) only finds less to do.
func (n *Node) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.timerArmed = false
	now := n.clock.Now()
	n.now = now
	n.sweep(now)
	n.flush(now)
	n.arm(now)
}

// sweep drops what has expired, retries overdue requests and deliveries,
// and periodically sweeps the store.
func (n *Node) sweep(now time.Time) {
	unix := now.Unix()
	expired := 0
	for {
		e := n.relay.min()
		if o := n.own.min(); o != nil && (e == nil || o.meta.Expiry < e.meta.Expiry) {
			e = o
		}
		if e == nil || e.meta.Expiry > unix {
			break
		}
		n.unindex(e)
		n.batch.DeleteHeld(e.meta.ID)
		if o := n.outbox[e.meta.ID]; o != nil && o.Status != StatusDelivered {
			c := *o
			c.Status = StatusExpired
			n.batch.PutOutbox(c)
			n.outbox[c.ID] = &c
			n.stats.OwnExpired++
			n.log.Info("mail expired undelivered", "id", c.ID, "to", c.To)
		}
		n.stats.Expired++
		expired++
	}
	for n.ackHeap.Len() > 0 && n.ackFirst <= unix {
		n.popAck()
		expired++
	}
	for len(n.inflightQueue) > 0 {
		in := n.inflightQueue[0]
		if !in.done && in.deadline.After(now) {
			break
		}
		n.inflightQueue[0] = nil
		n.inflightQueue = n.inflightQueue[1:]
		if !in.done {
			n.retryRequest(in, now)
		}
	}
	var due []envelope.ID
	for id, r := range n.retry {
		if !r.at.After(now) {
			due = append(due, id)
		}
	}
	slices.SortFunc(due, compareIDs) // map order must not leak
	for _, id := range due {
		n.retryDue(id, now)
	}
	if len(n.resets) > 0 {
		n.resetsDue(now)
	}
	n.apply()
	if expired > 0 || (n.cfg.SweepInterval > 0 && !now.Before(n.lastSweep.Add(n.cfg.SweepInterval))) {
		retention := int64(n.cfg.OutboxRetention / time.Second)
		if _, err := n.deps.Store.Expire(unix, retention); err != nil {
			n.stats.StoreErrors++
			n.log.Warn("store sweep failed", "err", err)
		}
		n.expireOutbox(unix, retention)
		n.lastSweep = now
	}
}

// expireOutbox marks as expired the own mail whose expiry passed while it
// was not held (a store may drop it while the node is down), and forgets
// entries past the retention.
func (n *Node) expireOutbox(unix, retention int64) {
	var ids []envelope.ID
	for id := range n.outbox {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	for _, id := range ids {
		o := n.outbox[id]
		switch {
		case o.Expiry <= unix-retention:
			if o.Status == StatusQueued || o.Status == StatusOffered {
				n.log.Info("mail expired undelivered longer ago than the outbox retention; forgotten", "id", id, "to", o.To)
			}
			delete(n.outbox, id)
		case o.Expiry <= unix && (o.Status == StatusQueued || o.Status == StatusOffered):
			if r := n.ids.get(id); r != nil && r.held != nil {
				continue // swept with the held copy
			}
			c := *o
			c.Status = StatusExpired
			n.batch.PutOutbox(c)
			n.outbox[id] = &c
			n.stats.OwnExpired++
			n.log.Info("mail expired undelivered", "id", id, "to", c.To)
		}
	}
	n.apply()
}

func compareIDs(a, b envelope.ID) int { return bytes.Compare(a[:], b[:]) }

// endInflight closes a request: the body came, or the friend is gone.
func (n *Node) endInflight(in *inflight) {
	if in.done {
		return
	}
	in.done = true
	if in.waiting {
		n.endWaiting(in.from)
	} else {
		in.from.inflight--
	}
	if r := n.ids.get(in.id); r != nil && r.in == in {
		n.setInflight(in.id, nil)
	}
}

// retryRequest asks again for an envelope whose request went unanswered,
// or was answered with the ack instead of the body: another friend that
// offered it first, else the same friend, up to maxTries requests, never a
// friend that sent the ack; after that the node waits for the next offer.
// A friend with room under the request limits is asked first; if every
// friend left to ask is at a limit, the record waits (inflight.waiting)
// for one of them and is retried after RequestTimeout, rather than
// dropped: the friends that offered it do not offer it again while their
// links stay up. At most MaxInflightPerFriend records wait for any one
// friend; past that the record is dropped, and the envelope is fetched at
// its next offer.
func (n *Node) retryRequest(in *inflight, now time.Time) {
	n.endInflight(in)
	if in.tries < maxTries {
		// busy is a friend to wait for: one with room for another
		// waiting record (see inflight.waiting).
		var q, busy *peer
		mayWait := func(c *peer) bool { return busy == nil && int(n.waitingFor[c.idx]) < n.cfg.MaxInflightPerFriend }
		for k, c := range n.peers {
			if i := int32(k); in.offerers.has(i) && !in.tried.has(i) && !in.ackers.has(i) && c.ready {
				if n.roomFor(c) {
					q = c
					break
				}
				if mayWait(c) {
					busy = c
				}
			}
		}
		if q == nil && in.from.ready && !in.ackers.has(in.from.idx) {
			if n.roomFor(in.from) {
				q = in.from
			} else if mayWait(in.from) {
				busy = in.from
			}
		}
		switch {
		case q != nil:
			next := in.next(q, in.tries+1, now.Add(n.cfg.RequestTimeout))
			next.tried.add(q.idx)
			if n.send(q, encodeRequest(n.pool, 0, []envelope.ID{in.id}, nil)) {
				n.setInflight(in.id, next)
				q.inflight++
				n.inflightQueue = append(n.inflightQueue, next)
				n.stats.RequestRetries++
				n.stats.RequestsOut++
				return
			}
		case busy != nil && now.Unix() < in.expiry:
			// Deadlines stay in queue order: every one is RequestTimeout
			// after the event that set it. An envelope that has expired
			// meanwhile is not waited for.
			next := in.next(busy, in.tries, now.Add(n.cfg.RequestTimeout))
			next.waiting = true
			n.beginWaiting(busy)
			n.setInflight(in.id, next)
			n.inflightQueue = append(n.inflightQueue, next)
			return
		}
	}
	if in.ackers.count() == 0 {
		n.stats.RequestTimeouts++
	}
}

// beginWaiting counts a record that waits for p; endWaiting uncounts it.
func (n *Node) beginWaiting(p *peer) {
	if n.waitingFor == nil {
		n.waitingFor = make(map[int32]int32)
	}
	n.waitingFor[p.idx]++
}

func (n *Node) endWaiting(p *peer) {
	if n.waitingFor[p.idx]--; n.waitingFor[p.idx] <= 0 {
		delete(n.waitingFor, p.idx)
	}
}

// roomFor reports whether the node may ask one more envelope of p.
func (n *Node) roomFor(p *peer) bool {
	return int(p.inflight) < n.cfg.MaxInflightPerFriend && n.nInflight < n.cfg.MaxInflight
}

// next returns the record that follows in: the same ID and what is known
// of its offerers, asked of (or waiting for) from.
func (in *inflight) next(from *peer, tries int, deadline time.Time) *inflight {
	next := &inflight{id: in.id, from: from, tries: tries, expiry: in.expiry, maxHops: in.maxHops, minHops: in.minHops, acks: in.acks, deadline: deadline}
	next.offerers.union(&in.offerers)
	next.tried.union(&in.tried)
	next.ackers.union(&in.ackers)
	return next
}
